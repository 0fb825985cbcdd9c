package eth

import (
	"context"
	"fmt"
	"math/big"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
)

// builtBlock is the result of executing a block once on the leader.
type builtBlock struct {
	config   *params.ChainConfig
	block    *types.Block
	receipts types.Receipts
	writes   *WriteSet
	// rejected holds transactions that could not be included, with why.
	rejected []rejectedTx
	// deferred holds transactions left out because the block was full.
	deferred []*types.Transaction
}

type rejectedTx struct {
	tx  *types.Transaction
	err error
}

// nextBaseFee is the base fee of the block after parent: pinned when the
// genesis says so, EIP-1559 otherwise.
func (c *Chain) nextBaseFee(parent *types.Header) *big.Int {
	if fixed := c.spec.Coco.FixedBaseFee; fixed != nil {
		return new(big.Int).Set((*big.Int)(fixed))
	}
	if parent.Number.Sign() == 0 {
		return new(big.Int).Set(parent.BaseFee)
	}
	return eip1559.CalcBaseFee(c.config, parent)
}

// nextHeader prepares the header of a block on top of parent with the given
// timestamp. Block timestamps are seconds and strictly increasing.
func (c *Chain) nextHeader(parent *types.Header, now uint64) *types.Header {
	ts := now
	if ts <= parent.Time {
		ts = parent.Time + 1
	}
	num := new(big.Int).Add(parent.Number, common.Big1)
	h := &types.Header{
		ParentHash: parent.Hash(),
		UncleHash:  types.EmptyUncleHash,
		Coinbase:   c.spec.Coco.Coinbase,
		Number:     num,
		GasLimit:   parent.GasLimit,
		Time:       ts,
		Difficulty: new(big.Int),
		BaseFee:    c.nextBaseFee(parent),
		// prevrandao: without a beacon chain, a value no one chooses.
		MixDigest: crypto.Keccak256Hash(parent.MixDigest[:], parent.Hash().Bytes()),
	}
	if c.config.IsShanghai(num, ts) {
		h.WithdrawalsHash = &types.EmptyWithdrawalsHash
	}
	if c.config.IsCancun(num, ts) {
		excess := eip4844.CalcExcessBlobGas(c.config, parent, ts)
		h.ExcessBlobGas = &excess
		h.BlobGasUsed = new(uint64)
		h.ParentBeaconRoot = new(common.Hash)
	}
	if c.config.IsPrague(num, ts) {
		h.RequestsHash = &types.EmptyRequestsHash
	}
	return h
}

// executeBlock runs txs on top of parent with go-ethereum's EVM and seals
// the block. Transactions that fail their pre-checks are returned in
// rejected; the rest are included (a reverted transaction is included with
// status 0, as on every Ethereum chain).
func (c *Chain) executeBlock(parent *types.Header, now uint64, txs []*types.Transaction) (*builtBlock, error) {
	header := c.nextHeader(parent, now)
	capture := &captureDB{Database: c.statedb, overlay: c.overlay, flat: c.flat}
	statedb, err := state.New(parent.Root, capture)
	if err != nil {
		return nil, fmt.Errorf("open parent state %d: %w", parent.Number, err)
	}
	coinbase := header.Coinbase
	evm := c.newEVM(core.NewEVMBlockContext(header, c, &coinbase), statedb, vm.Config{})
	if header.ParentBeaconRoot != nil {
		core.ProcessBeaconBlockRoot(*header.ParentBeaconRoot, evm, nil)
	}
	if c.config.IsPrague(header.Number, header.Time) {
		core.ProcessParentBlockHash(header.ParentHash, evm, nil)
	}
	var (
		out      = &builtBlock{}
		gp       = core.NewGasPool(header.GasLimit)
		signer   = types.MakeSigner(c.config, header.Number, header.Time)
		included = make([]*types.Transaction, 0, len(txs))
		receipts = make(types.Receipts, 0, len(txs))
		skip     map[common.Address]struct{}
		governed = c.spec.Coco.Governed()
		ctx      = context.Background()
	)
	for i, tx := range txs {
		from, _ := types.Sender(signer, tx) // cached by admission
		if _, ok := skip[from]; ok {
			out.rejected = append(out.rejected, rejectedTx{tx, core.ErrNonceTooHigh})
			continue
		}
		if gp.Available(false) < tx.Gas() {
			if gp.Available(false) < params.TxGas {
				out.deferred = append(out.deferred, txs[i:]...)
				break
			}
			out.deferred = append(out.deferred, tx)
			continue
		}
		if governed && !governance.MaySend(statedb, from) {
			out.rejected = append(out.rejected, rejectedTx{tx, ErrNotActor})
			continue
		}
		msg, err := core.TransactionToMessage(tx, signer, header.BaseFee)
		if err != nil {
			out.rejected = append(out.rejected, rejectedTx{tx, err})
			continue
		}
		snap, gsnap := statedb.Snapshot(), gp.Snapshot()
		statedb.SetTxContext(tx.Hash(), len(included), uint32(len(included)+1))
		receipt, _, err := core.ApplyTransactionWithEVM(ctx, msg, gp, statedb, header.Number, common.Hash{}, header.Time, tx, evm)
		if err != nil {
			statedb.RevertToSnapshot(snap)
			gp.Set(gsnap)
			out.rejected = append(out.rejected, rejectedTx{tx, err})
			// Later transactions of this sender cannot apply in this block.
			if skip == nil {
				skip = make(map[common.Address]struct{})
			}
			skip[from] = struct{}{}
			continue
		}
		included = append(included, tx)
		receipts = append(receipts, receipt)
	}
	header.GasUsed = gp.Used()
	root, err := statedb.Commit(c.config.Rules(header.Number, true, header.Time), header.Number.Uint64())
	if err != nil {
		return nil, fmt.Errorf("commit state of block %d: %w", header.Number, err)
	}
	ws := capture.writes
	if ws == nil {
		ws = &WriteSet{Root: root} // nothing was committed: the parent's root
	}
	header.Root = root
	body := &types.Body{Transactions: included}
	if header.WithdrawalsHash != nil {
		body.Withdrawals = []*types.Withdrawal{}
	}
	block := types.NewBlock(header, body, receipts, trie.NewStackTrie(nil))
	// Fill the fields clients read from receipts (block hash, effective gas
	// price, log positions) exactly as a node reading them from disk would.
	blobGasPrice := eip4844.CalcBlobFee(c.config, header)
	if err := receipts.DeriveFields(c.config, block.Hash(), block.NumberU64(), block.Time(), block.BaseFee(), blobGasPrice, block.Transactions()); err != nil {
		return nil, fmt.Errorf("derive receipt fields of block %d: %w", header.Number, err)
	}
	out.config, out.block, out.receipts, out.writes = c.config, block, receipts, ws
	return out, nil
}
