package ethapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
)

// view is what one request's reader may see of transactions, receipts
// and logs: everything on a node without confidentiality; otherwise what
// the gate admits, each at the state of its own block.
type view struct {
	ctx    context.Context
	b      Backend
	gate   Gate
	open   bool
	reader *common.Address // nil: anonymous
	states map[common.Hash]*state.StateDB
	heads  map[common.Hash]*types.Header
}

// newView returns the view of the request ctx belongs to; a session that
// does not hold is an error.
func newView(ctx context.Context, b Backend, gate Gate) (*view, error) {
	if gate == nil {
		gate = openGate{}
	}
	v := &view{ctx: ctx, b: b, gate: gate}
	if _, v.open = gate.(openGate); v.open {
		return v, nil
	}
	reader, err := readerOf(ctx, gate)
	if err != nil {
		return nil, err
	}
	v.reader = reader
	v.states, v.heads = make(map[common.Hash]*state.StateDB), make(map[common.Hash]*types.Header)
	return v, nil
}

// stateAt opens the state after block hash, once per request.
func (v *view) stateAt(hash common.Hash) (*state.StateDB, *types.Header) {
	if st, ok := v.states[hash]; ok {
		return st, v.heads[hash]
	}
	st, h := VisibilityState(v.ctx, v.b, hash)
	v.states[hash], v.heads[hash] = st, h
	return st, h
}

// stateOpener opens states after blocks.
type stateOpener interface {
	StateAndHeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error)
}

// VisibilityState opens the state in which the confidentiality of what
// block hash holds is judged: the block's own, or the latest when the node
// pruned the block's (a full node keeps the recent ones). A contract's code
// does not change once deployed, so whether it is confidential does not
// either; its hooks then answer as of now. Nil when neither opens (what
// the block holds is then not shown).
func VisibilityState(ctx context.Context, b stateOpener, hash common.Hash) (*state.StateDB, *types.Header) {
	st, h, err := b.StateAndHeaderByNumberOrHash(ctx, rpc.BlockNumberOrHashWithHash(hash, false))
	if missing := new(trie.MissingNodeError); errors.As(err, &missing) {
		st, h, err = b.StateAndHeaderByNumberOrHash(ctx, rpc.BlockNumberOrHashWithNumber(rpc.LatestBlockNumber))
	}
	if err != nil {
		return nil, nil
	}
	return st, h
}

// tx reports whether the reader may see tx, committed in block blockHash
// (the head's hash for a pooled one).
func (v *view) tx(tx *types.Transaction, blockHash common.Hash) bool {
	if v.open || tx.To() == nil {
		return true
	}
	st, h := v.stateAt(blockHash)
	if st == nil {
		return false
	}
	sender, err := types.Sender(types.LatestSigner(v.b.ChainConfig()), tx)
	if err != nil {
		return false
	}
	return v.gate.CanReadTx(v.ctx, st, h, v.reader, tx, sender)
}

// logs keeps the logs the reader may see.
func (v *view) logs(logs []*types.Log) []*types.Log {
	if v.open || len(logs) == 0 {
		return logs
	}
	return v.gate.FilterLogs(v.ctx, v.reader, logs)
}

// receipt is r as the reader may see it: only its visible logs, and a
// bloom of those.
func (v *view) receipt(r *types.Receipt) *types.Receipt {
	if v.open || len(r.Logs) == 0 {
		return r
	}
	logs := v.logs(append([]*types.Log(nil), r.Logs...))
	if len(logs) == len(r.Logs) {
		return r
	}
	cp := *r
	cp.Logs = logs
	cp.Bloom = types.CreateBloom(&cp)
	return &cp
}

// receipts is receipts (of one block) as the reader may see them, their
// logs filtered in one pass (one state per block, not per receipt).
func (v *view) receipts(receipts []*types.Receipt) []*types.Receipt {
	if v.open {
		return receipts
	}
	var all []*types.Log
	for _, r := range receipts {
		all = append(all, r.Logs...)
	}
	if len(all) == 0 {
		return receipts
	}
	keep := make(map[*types.Log]bool, len(all))
	for _, l := range v.logs(append([]*types.Log(nil), all...)) {
		keep[l] = true
	}
	if len(keep) == len(all) {
		return receipts
	}
	out := make([]*types.Receipt, len(receipts))
	for i, r := range receipts {
		out[i] = r
		var logs []*types.Log
		for _, l := range r.Logs {
			if keep[l] {
				logs = append(logs, l)
			}
		}
		if len(logs) != len(r.Logs) {
			cp := *r
			cp.Logs = logs
			cp.Bloom = types.CreateBloom(&cp)
			out[i] = &cp
		}
	}
	return out
}

// block returns the transactions of block the reader may see, with their
// positions in the block.
func (v *view) blockTxs(block *types.Block) (types.Transactions, []int) {
	txs := block.Transactions()
	idx := make([]int, 0, len(txs))
	out := make(types.Transactions, 0, len(txs))
	for i, tx := range txs {
		if v.tx(tx, block.Hash()) {
			out, idx = append(out, tx), append(idx, i)
		}
	}
	return out, idx
}

// pendingChanges keeps, of a pending-transaction filter's changes (hashes,
// or transactions in JSON with fullTx), those the reader may see.
func (v *view) pendingChanges(changes any) (any, error) {
	if v.open {
		return changes, nil
	}
	visible := func(hash common.Hash) bool {
		if tx := v.b.PoolTransaction(hash); tx != nil {
			return v.tx(tx, v.b.CurrentHeader().Hash())
		}
		if tx, blockHash, _, _ := v.b.GetTransaction(v.ctx, hash); tx != nil {
			return v.tx(tx, blockHash)
		}
		return false
	}
	if hashes, ok := changes.([]common.Hash); ok {
		out := make([]common.Hash, 0, len(hashes))
		for _, h := range hashes {
			if visible(h) {
				out = append(out, h)
			}
		}
		return out, nil
	}
	// Full transactions: geth's own JSON type; keep those whose hash is
	// visible.
	raw, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	var txs []json.RawMessage
	if err := json.Unmarshal(raw, &txs); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, 0, len(txs))
	for _, t := range txs {
		var h struct {
			Hash common.Hash `json:"hash"`
		}
		if json.Unmarshal(t, &h) == nil && visible(h.Hash) {
			out = append(out, t)
		}
	}
	return out, nil
}
