package confidential

import (
	"context"
	"encoding/json"
	"math/big"

	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// Gate is where the JSON-RPC layer asks who a request is and what it may
// see: it implements ethapi.Gate over a Verifier and the chain of an
// ethapi.Backend.
type Gate struct {
	v      *Verifier
	b      ethapi.Backend
	p      *policy
	actors *lru.Cache[actorKey, bool] // actor status by head and account
}

// actorKey is an account at a head: whether it is an actor changes only
// with the head.
type actorKey struct {
	head common.Hash
	addr common.Address
}

var _ ethapi.Gate = (*Gate)(nil)

// NewGate returns the gate of a node: v checks proofs, b is its chain.
func NewGate(v *Verifier, b ethapi.Backend) *Gate {
	return &Gate{v: v, b: b, p: newPolicy(b), actors: lru.NewCache[actorKey, bool](4096)}
}

// Confidential implements ethapi.Gate: the contract answers
// supportsInterface(ICocoConfidential).
func (g *Gate) Confidential(ctx context.Context, st *state.StateDB, header *types.Header, addr common.Address) bool {
	return g.p.confidential(st, header, addr)
}

// FilterLogs implements ethapi.Gate: logs of public contracts, and those
// of confidential ones their canReadLog admits for reader.
func (g *Gate) FilterLogs(ctx context.Context, reader *common.Address, logs []*types.Log) []*types.Log {
	return g.p.filterLogs(ctx, reader, logs)
}

// CanReadTx implements ethapi.Gate: transactions to public contracts and
// accounts; to a confidential one, for its sender and the readers its
// canReadTx admits.
func (g *Gate) CanReadTx(ctx context.Context, st *state.StateDB, header *types.Header, reader *common.Address, tx *types.Transaction, sender common.Address) bool {
	return g.p.canReadTx(st, header, reader, tx, sender)
}

// Caller implements ethapi.Gate: a signed call proves its "from";
// otherwise the request's session, if any, proves its address.
func (g *Gate) Caller(ctx context.Context, call *ethapi.CallProof) (common.Address, bool, error) {
	if call != nil && len(call.Auth) > 0 && string(call.Auth) != "null" {
		var auth CallAuth
		if err := json.Unmarshal(call.Auth, &auth); err != nil {
			return common.Address{}, false, proofErr("malformed call signature: %v", err)
		}
		if call.From == nil {
			return common.Address{}, false, proofErr("malformed call signature: a signed call needs from")
		}
		c := Call{From: *call.From, Value: call.Value, Data: call.Data}
		if call.To != nil {
			c.To = *call.To
		}
		addr, err := g.v.VerifyCall(backendChain{ctx, g.b}, c, &auth)
		return addr, err == nil, err
	}
	s, ok, err := g.v.SessionOf(ctx)
	if err != nil || !ok {
		return common.Address{}, false, err
	}
	return s.Address, true, nil
}

// backendChain is the chain of a backend as VerifyCall reads it.
type backendChain struct {
	ctx context.Context
	b   ethapi.Backend
}

func (c backendChain) HeadNumber() uint64 { return c.b.CurrentHeader().Number.Uint64() }

func (c backendChain) CanonicalHash(n uint64) (common.Hash, bool) {
	h, err := c.b.HeaderByNumber(c.ctx, rpc.BlockNumber(new(big.Int).SetUint64(n).Int64()))
	if err != nil || h == nil {
		return common.Hash{}, false
	}
	return h.Hash(), true
}
