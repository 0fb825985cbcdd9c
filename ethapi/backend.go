package ethapi

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// Backend is everything the JSON-RPC methods read and do, and the one
// place where a node's data reaches a client. A confidentiality gate wraps
// it once; nothing here reaches around it.
//
// Every read is of the committed chain: a header, block, transaction or
// receipt the head has not reached is absent. Methods that take a context
// receive the request's, which carries whatever the RPC layer learnt of
// the caller.
type Backend interface {
	// filters.Backend serves go-ethereum's filter system: headers by
	// number (tags resolved, "pending" is the head) and by hash, bodies,
	// receipts, logs, the log index and the chain's event feeds.
	filters.Backend

	// Spec is the chain's genesis spec (chain config and config.coco).
	Spec() *genesis.Spec
	// HeaderByNumberOrHash resolves a block argument; RequireCanonical is
	// honoured. It errors "header not found" for a block not committed.
	HeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*types.Header, error)
	// BlockByHash returns a committed block, or nil.
	BlockByHash(ctx context.Context, hash common.Hash) (*types.Block, error)
	// GetTransaction finds a committed transaction: nil when it is not.
	GetTransaction(ctx context.Context, hash common.Hash) (tx *types.Transaction, blockHash common.Hash, number, index uint64)
	// NextHeader is the header the next block on parent would have at
	// unix time now (number, time, base fee, gas limit; no state root).
	NextHeader(parent *types.Header, now uint64) *types.Header
	// AppliedIndex is the ledger index of the last applied entry.
	AppliedIndex() uint64
	// SubscribeChainHeadEvent reports each new head.
	SubscribeChainHeadEvent(ch chan<- core.ChainHeadEvent) event.Subscription

	// StateAndHeaderByNumberOrHash opens the state after a block, for
	// reading and for calls; writes to it are discarded.
	StateAndHeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error)
	// ChainContext gives the EVM the hashes of earlier blocks.
	ChainContext() core.ChainContext
	// NewEVM is the node's EVM, with its stateful precompiles
	// (governance, randomness) bound, for calls and estimates.
	NewEVM(blockCtx vm.BlockContext, st *state.StateDB, cfg vm.Config) *vm.EVM
	// StatefulPrecompiles are the addresses NewEVM binds precompiles to.
	StatefulPrecompiles() []common.Address

	// SendTx admits a signed transaction (and forwards it to the leader).
	SendTx(ctx context.Context, tx *types.Transaction) error
	// PoolNonce is the account's next nonce counting the executable
	// transactions waiting in the pool.
	PoolNonce(addr common.Address) uint64
	// PoolTransaction returns a waiting transaction, or nil.
	PoolTransaction(hash common.Hash) *types.Transaction
	// PoolStats counts the executable and the queued transactions.
	PoolStats() (pending, queued int)
	// PoolContent lists the waiting transactions by account, nonce order.
	PoolContent() (pending, queued map[common.Address][]*types.Transaction)

	// IsLeader reports whether this node orders blocks.
	IsLeader() bool
	// NodeChannel says how node-to-node traffic is secured: "mutual TLS",
	// "INSECURE plain TCP", or "none" on a single node.
	NodeChannel() string
	// AccountManager holds the node's own accounts; nil for none.
	AccountManager() *accounts.Manager
}

// Gate decides who a request is and what it may see of confidential
// contracts (package confidential implements it). The methods that reveal
// data ask it at exactly the points where they do.
type Gate interface {
	// Caller returns the address the request proved (a session, or a
	// signed call when call is not nil); ok is false for an anonymous
	// request. A proof that does not hold (malformed, expired, for another
	// chain, wrongly signed) is an error saying which, never anonymity.
	Caller(ctx context.Context, call *CallProof) (addr common.Address, ok bool, err error)
	// Confidential reports whether the contract at addr declares itself
	// confidential in st, the state after header.
	Confidential(ctx context.Context, st *state.StateDB, header *types.Header, addr common.Address) bool
	// FilterLogs returns, in order, the logs reader (nil: anonymous) may
	// see; it may reuse the slice.
	FilterLogs(ctx context.Context, reader *common.Address, logs []*types.Log) []*types.Log
	// CanReadTx reports whether reader (nil: anonymous) may see tx, sent
	// by sender, in st, the state after header (its block).
	CanReadTx(ctx context.Context, st *state.StateDB, header *types.Header, reader *common.Address, tx *types.Transaction, sender common.Address) bool
}

// CallProof is a call object as eth_call received it, with its "auth".
type CallProof struct {
	From  *common.Address
	To    *common.Address
	Value *big.Int
	Data  []byte
	Auth  json.RawMessage
}

// openGate is the gate of a node without confidentiality: every request
// is anonymous and everything is public.
type openGate struct{}

func (openGate) Caller(ctx context.Context, call *CallProof) (common.Address, bool, error) {
	if call != nil && len(call.Auth) > 0 {
		return common.Address{}, false, errors.New("this node does not check signed calls")
	}
	return common.Address{}, false, nil
}
func (openGate) Confidential(context.Context, *state.StateDB, *types.Header, common.Address) bool {
	return false
}
func (openGate) FilterLogs(_ context.Context, _ *common.Address, logs []*types.Log) []*types.Log {
	return logs
}
func (openGate) CanReadTx(context.Context, *state.StateDB, *types.Header, *common.Address, *types.Transaction, common.Address) bool {
	return true
}

// Config holds the limits of the JSON-RPC methods.
type Config struct {
	NetworkID  uint64        // net_version; 0 means the chain id
	GasCap     uint64        // gas cap of eth_call and eth_estimateGas (0 = none)
	EVMTimeout time.Duration // time limit of eth_call (0 = none)
	TxFeeCap   float64       // ether; larger transaction fees are refused (0 = no cap)
	// Log queries (eth_getLogs, eth_getFilterLogs, eth_newFilter).
	FilterTimeout  time.Duration // idle lifetime of eth_newFilter filters
	LogQueryLimit  int           // most addresses, or topics per position (0 = no cap)
	RangeLimit     uint64        // widest block range, end - begin (0 = no cap)
	LogResultLimit int           // most logs one eth_getLogs or eth_getFilterLogs returns (0 = no cap)
	// TEE labels the node's trusted execution environment in
	// coco_nodeInfo ("none" when empty).
	TEE string
}

// Service is the JSON-RPC service of a node over a Backend: it makes the
// APIs and owns what they run (the filter system, the expiry of log
// filters). It is a node.Lifecycle, to be registered after the node's
// chain so it stops first.
type Service struct {
	b       Backend
	cfg     Config
	gate    Gate
	filters *filters.FilterSystem
	logs    *logsAPI // nil without a log result limit
	quit    chan struct{}
}

// New makes the JSON-RPC service over b; gate decides who callers are and
// what they see (nil: every request is anonymous, everything public).
func New(b Backend, cfg Config, gate Gate) *Service {
	if gate == nil {
		gate = openGate{}
	}
	s := &Service{b: b, cfg: cfg, gate: gate, quit: make(chan struct{})}
	s.filters = filters.NewFilterSystem(b, filters.Config{
		Timeout: cfg.FilterTimeout, LogQueryLimit: cfg.LogQueryLimit, RangeLimit: cfg.RangeLimit,
	})
	return s
}

// APIs lists the JSON-RPC services: eth_, net_, txpool_ and coco_.
func (s *Service) APIs() []rpc.API {
	gethFilters := filters.NewFilterAPI(s.filters)
	apis := []rpc.API{
		{Namespace: "eth", Service: &EthAPI{b: s.b, cfg: s.cfg, gate: s.gate}},
		{Namespace: "eth", Service: gethFilters},
	}
	if _, open := s.gate.(openGate); s.cfg.LogResultLimit > 0 || !open {
		// Registered after geth's, its methods replace geth's eth_getLogs
		// and log filter methods (logs.go), which know no limit and no
		// gate.
		s.logs = newLogsAPI(s.b, s.gate, s.cfg, gethFilters, s.filters, s.quit)
		apis = append(apis, rpc.API{Namespace: "eth", Service: s.logs})
	}
	return append(apis, []rpc.API{
		{Namespace: "net", Service: &NetAPI{b: s.b, cfg: s.cfg}},
		{Namespace: "txpool", Service: &TxPoolAPI{b: s.b, gate: s.gate}},
		{Namespace: "coco", Service: &CocoAPI{b: s.b, tee: s.cfg.TEE}},
		{Namespace: "coco", Service: &GovAPI{b: s.b}},
		{Namespace: "eth", Service: &SendAPI{b: s.b, cfg: s.cfg}},
	}...)
}

// Start implements node.Lifecycle.
func (s *Service) Start() error { return nil }

// Stop implements node.Lifecycle: log filters stop expiring.
//
// It waits for the expiry of log filters, which may be unsubscribing
// one: that needs the chain's event system, which stops after this.
func (s *Service) Stop() error {
	close(s.quit)
	if s.logs != nil {
		s.logs.wg.Wait()
	}
	return nil
}

// suggestTip is the priority fee suggested to wallets. Blocks are built in
// arrival order, so the tip buys nothing; 1 gwei keeps wallets' defaults.
var suggestTip = big.NewInt(params.GWei)

func latestIfNil(bnh *rpc.BlockNumberOrHash) rpc.BlockNumberOrHash {
	if bnh == nil {
		return rpc.BlockNumberOrHashWithNumber(rpc.LatestBlockNumber)
	}
	return *bnh
}

// blockByNumberOrHash returns a committed block, or nil.
func blockByNumberOrHash(ctx context.Context, b Backend, bnh rpc.BlockNumberOrHash) *types.Block {
	h, err := b.HeaderByNumberOrHash(ctx, bnh)
	if err != nil || h == nil {
		return nil
	}
	block, _ := b.BlockByHash(ctx, h.Hash())
	return block
}

// headerByNumber resolves a block number or tag; nil when not committed.
func headerByNumber(ctx context.Context, b Backend, n rpc.BlockNumber) *types.Header {
	h, _ := b.HeaderByNumber(ctx, n)
	return h
}

// headerByHash returns a committed header, or nil.
func headerByHash(ctx context.Context, b Backend, hash common.Hash) *types.Header {
	h, _ := b.HeaderByHash(ctx, hash)
	return h
}

// blockByHash returns a committed block, or nil.
func blockByHash(ctx context.Context, b Backend, hash common.Hash) *types.Block {
	block, _ := b.BlockByHash(ctx, hash)
	return block
}

// receiptsByHash returns the receipts of a committed block, or nil.
func receiptsByHash(ctx context.Context, b Backend, hash common.Hash) types.Receipts {
	r, _ := b.GetReceipts(ctx, hash)
	return r
}
