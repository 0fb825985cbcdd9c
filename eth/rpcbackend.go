package eth

import (
	"context"
	"errors"
	"fmt"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/filtermaps"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// RPCBackend is what the JSON-RPC layer (package ethapi) reads of a
// service and asks of it: the committed chain, state and EVM, the pool,
// the node's role. It implements ethapi.Backend (checked where the two
// are wired, cmd/cocogeth), and go-ethereum's filters.Backend within it.
type RPCBackend struct{ s *Service }

// RPCBackend returns the service's backend for the JSON-RPC layer.
func (s *Service) RPCBackend() *RPCBackend { return &RPCBackend{s} }

// headerByNumber resolves a block number or tag on the committed chain.
// Raft commits are final: safe and finalized are the head, and so is
// pending (there is no pending block outside the leader's builder).
func (s *Service) headerByNumber(n rpc.BlockNumber) *types.Header {
	switch n {
	case rpc.LatestBlockNumber, rpc.PendingBlockNumber, rpc.SafeBlockNumber, rpc.FinalizedBlockNumber:
		return s.chain.CurrentHeader()
	case rpc.EarliestBlockNumber:
		return s.chain.Genesis().Header()
	}
	if n < 0 {
		return nil
	}
	return s.chain.GetHeaderByNumber(uint64(n))
}

var errHeaderNotFound = errors.New("header not found")

// HeaderByNumberOrHash resolves a block argument on the committed chain.
func (b *RPCBackend) HeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*types.Header, error) {
	s := b.s
	if n, ok := bnh.Number(); ok {
		h := s.headerByNumber(n)
		if h == nil {
			return nil, errHeaderNotFound
		}
		return h, nil
	}
	if hash, ok := bnh.Hash(); ok {
		h := s.chain.VisibleHeaderByHash(hash)
		if h == nil {
			return nil, errHeaderNotFound
		}
		if bnh.RequireCanonical && s.chain.GetCanonicalHash(h.Number.Uint64()) != hash {
			return nil, errors.New("hash is not currently canonical")
		}
		return h, nil
	}
	return nil, errors.New("invalid arguments; neither block nor hash specified")
}

// StateAndHeaderByNumberOrHash opens the state after a committed block.
func (b *RPCBackend) StateAndHeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error) {
	h, err := b.HeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, nil, err
	}
	if p := b.s.chain.pruner; p != nil {
		if err := p.prunedError(h); err != nil {
			return nil, nil, err
		}
	}
	st, err := b.s.chain.StateAt(h.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: state of block %d is not available", err, h.Number)
	}
	return st, h, nil
}

// Spec is the chain's genesis spec.
func (b *RPCBackend) Spec() *genesis.Spec { return b.s.chain.Spec() }

// BlockByHash returns a committed block, or nil.
func (b *RPCBackend) BlockByHash(ctx context.Context, hash common.Hash) (*types.Block, error) {
	return b.s.chain.GetBlockByHash(hash), nil
}

// GetTransaction finds a committed transaction.
func (b *RPCBackend) GetTransaction(ctx context.Context, hash common.Hash) (*types.Transaction, common.Hash, uint64, uint64) {
	return b.s.chain.GetTransaction(hash)
}

// NextHeader is the header of the next block on parent at time now.
func (b *RPCBackend) NextHeader(parent *types.Header, now uint64) *types.Header {
	return b.s.chain.nextHeader(parent, now)
}

// AppliedIndex is the ledger index of the last applied entry.
func (b *RPCBackend) AppliedIndex() uint64 { return b.s.chain.AppliedIndex() }

// SubscribeChainHeadEvent reports each new head.
func (b *RPCBackend) SubscribeChainHeadEvent(ch chan<- core.ChainHeadEvent) event.Subscription {
	return b.s.chain.SubscribeChainHeadEvent(ch)
}

// ChainContext gives the EVM the hashes of earlier blocks.
func (b *RPCBackend) ChainContext() core.ChainContext { return b.s.chain }

// NewEVM is the node's EVM with its stateful precompiles bound.
func (b *RPCBackend) NewEVM(blockCtx vm.BlockContext, st *state.StateDB, cfg vm.Config) *vm.EVM {
	return b.s.chain.newEVM(blockCtx, st, cfg)
}

// StatefulPrecompiles are the addresses of the chain's stateful
// precompiles.
func (b *RPCBackend) StatefulPrecompiles() []common.Address {
	out := make([]common.Address, len(b.s.chain.precompiles))
	for i, p := range b.s.chain.precompiles {
		out[i] = p.Address()
	}
	return out
}

// SendTx admits a transaction (Service.SendTx).
func (b *RPCBackend) SendTx(ctx context.Context, tx *types.Transaction) error {
	return b.s.SendTx(tx)
}

// PoolNonce is the account's pending nonce.
func (b *RPCBackend) PoolNonce(addr common.Address) uint64 { return b.s.pool.Nonce(addr) }

// PoolTransaction returns a waiting transaction, or nil.
func (b *RPCBackend) PoolTransaction(hash common.Hash) *types.Transaction { return b.s.pool.Get(hash) }

// PoolStats counts the executable and the queued transactions.
func (b *RPCBackend) PoolStats() (int, int) { return b.s.pool.Stats() }

// PoolContent lists the waiting transactions.
func (b *RPCBackend) PoolContent() (map[common.Address][]*types.Transaction, map[common.Address][]*types.Transaction) {
	return b.s.pool.Content()
}

// IsLeader reports whether this node orders blocks.
func (b *RPCBackend) IsLeader() bool { return b.s.ledger.IsLeader() }

// NodeChannel says how node-to-node traffic is secured.
func (b *RPCBackend) NodeChannel() string {
	if nc, ok := b.s.ledger.(cocobackend.NodeChannel); ok {
		return nc.NodeChannel()
	}
	return "none"
}

// AccountManager holds the node's own accounts; nil without a node stack.
func (b *RPCBackend) AccountManager() *accounts.Manager {
	if b.s.stack == nil {
		return nil
	}
	return b.s.stack.AccountManager()
}

// go-ethereum's filters.Backend.

func (b *RPCBackend) ChainDb() ethdb.Database { return b.s.db }
func (b *RPCBackend) HeaderByNumber(ctx context.Context, n rpc.BlockNumber) (*types.Header, error) {
	return b.s.headerByNumber(n), nil
}
func (b *RPCBackend) HeaderByHash(ctx context.Context, hash common.Hash) (*types.Header, error) {
	return b.s.chain.VisibleHeaderByHash(hash), nil
}
func (b *RPCBackend) GetBody(ctx context.Context, hash common.Hash, number rpc.BlockNumber) (*types.Body, error) {
	if number < 0 {
		return nil, errors.New("invalid block number")
	}
	body := rawdb.ReadBody(b.s.db, hash, uint64(number))
	if body == nil {
		return nil, errors.New("block body not found")
	}
	return body, nil
}
func (b *RPCBackend) GetReceipts(ctx context.Context, hash common.Hash) (types.Receipts, error) {
	return b.s.chain.GetReceiptsByHash(hash), nil
}
func (b *RPCBackend) GetLogs(ctx context.Context, hash common.Hash, number uint64) ([][]*types.Log, error) {
	// Copies: the filter system writes the block's position into them, and
	// the originals are the cached receipts' and the logs feed's (a race).
	receipts := b.s.chain.GetReceiptsByHash(hash)
	logs := make([][]*types.Log, len(receipts))
	for i, r := range receipts {
		logs[i] = make([]*types.Log, len(r.Logs))
		for j, l := range r.Logs {
			cp := *l
			logs[i][j] = &cp
		}
	}
	return logs, nil
}
func (b *RPCBackend) CurrentHeader() *types.Header     { return b.s.chain.CurrentHeader() }
func (b *RPCBackend) ChainConfig() *params.ChainConfig { return b.s.chain.Config() }
func (b *RPCBackend) HistoryPruningCutoff() uint64     { return 0 }
func (b *RPCBackend) CurrentView() *filtermaps.ChainView {
	return b.s.chain.view(b.s.chain.CurrentHeader())
}
func (b *RPCBackend) NewMatcherBackend() filtermaps.MatcherBackend {
	return b.s.fmaps.Load().fm.NewMatcherBackend()
}
func (b *RPCBackend) SubscribeNewTxsEvent(ch chan<- core.NewTxsEvent) event.Subscription {
	return b.s.pool.SubscribeNewTxsEvent(ch)
}
func (b *RPCBackend) SubscribeChainEvent(ch chan<- core.ChainEvent) event.Subscription {
	return b.s.chain.SubscribeChainEvent(ch)
}
func (b *RPCBackend) SubscribeRemovedLogsEvent(ch chan<- core.RemovedLogsEvent) event.Subscription {
	return b.s.removedLogsFeed.Subscribe(ch)
}
func (b *RPCBackend) SubscribeLogsEvent(ch chan<- []*types.Log) event.Subscription {
	return b.s.chain.SubscribeLogsEvent(ch)
}
