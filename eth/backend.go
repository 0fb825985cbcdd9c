package eth

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/filtermaps"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
)

// Config configures the Ethereum adapter of a node.
type Config struct {
	NetworkID     uint64        // net_version; 0 means the chain id
	Pool          PoolConfig    // transaction pool limits
	RPCGasCap     uint64        // gas cap of eth_call and eth_estimateGas
	RPCEVMTimeout time.Duration // time limit of eth_call
	RPCTxFeeCap   float64       // ether; larger transaction fees are refused (0 = no cap)
	DatabaseCache int           // MiB of database cache
	DatabaseFiles int           // open file handles of the database
	TrieCache     int           // MiB of clean trie node cache
	FilterTimeout time.Duration // idle lifetime of eth_newFilter filters
	// Log queries (eth_getLogs, eth_getFilterLogs, eth_newFilter).
	LogQueryLimit  int    // most addresses, or topics per position (0 = no cap)
	RangeLimit     uint64 // widest block range, end - begin (0 = no cap)
	LogResultLimit int    // most logs one eth_getLogs or eth_getFilterLogs returns (0 = no cap)
	// EpochBlocks is the key epoch length in blocks on a network without
	// constitution (a governed network uses its settings.epochLength);
	// 0 means governance.DefaultEpochLength.
	EpochBlocks uint64
	// GCMode is "full" (the default: keep the states of the recent
	// KeepStates blocks, prune older ones every GCInterval) or "archive"
	// (keep every state).
	GCMode     string
	GCInterval time.Duration // 0: DefaultGCInterval
	KeepStates uint64        `toml:"-"` // 0: DefaultKeepStates (tests lower it)

	// Storage encrypts the chain database: its Keys, Identity and
	// OnCorrupt go to store.Options (the node sets them; not in the
	// configuration file). Zero stores plaintext (tests).
	Storage Storage `toml:"-"`
}

// Storage is how a node's stores encrypt their files, and where its key
// epochs go.
type Storage struct {
	// Keys are the node's ledger secrets: the stores encrypt under them,
	// epoch entries add to them, snapshots carry them (see epoch.go).
	Keys      EpochKeys
	Identity  string      // the node's name among the network's; ChainDBPath is appended
	OnCorrupt func(error) // called once when a read meets a damaged file
	// RecordDir receives a plaintext copy of every epoch's recovery
	// record (public), which recovery reads when the secrets are lost.
	RecordDir string
	// Local marks secrets of this node alone (an insecure plaintext
	// node-to-node channel, where none may travel): the node encrypts
	// under them but takes no part in the network's epochs.
	Local bool
}

// Options returns the store options of the database named db.
func (s Storage) Options(db string) store.Options {
	o := store.Options{OnCorrupt: s.OnCorrupt}
	if s.Keys != nil {
		o.Keys, o.Identity = s.Keys, s.Identity+"/"+db
	}
	return o
}

// DefaultConfig holds geth's RPC defaults.
var DefaultConfig = Config{
	Pool:          DefaultPoolConfig,
	RPCGasCap:     50_000_000,
	RPCEVMTimeout: 5 * time.Second,
	RPCTxFeeCap:   1,
	DatabaseCache: 512,
	DatabaseFiles: 512,
	TrieCache:     256,
	FilterTimeout: 5 * time.Minute,
	// geth's limits on criteria and range; the result limit bounds memory.
	LogQueryLimit:  1000,
	RangeLimit:     0,
	LogResultLimit: 10_000,
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if err := c.Pool.Validate(); err != nil {
		return err
	}
	if c.RPCEVMTimeout < 0 || c.RPCTxFeeCap < 0 || c.LogQueryLimit < 0 || c.LogResultLimit < 0 {
		return errors.New("rpc limits must not be negative")
	}
	switch c.GCMode {
	case "", GCModeFull, GCModeArchive:
	default:
		return fmt.Errorf("unknown gcmode %q: want %q or %q", c.GCMode, GCModeFull, GCModeArchive)
	}
	if c.GCInterval < 0 {
		return errors.New("gc interval must not be negative")
	}
	return nil
}

// Service is the Ethereum adapter of a validating node: chain, pool, block
// builder, state machine and JSON-RPC API. It is a node.Lifecycle.
type Service struct {
	keys EpochKeys   // nil: plaintext storage, no epochs
	mark AppliedMark // nil: no rollback check
	// epochChecked is the head rollEpochs last found no epoch due at (or
	// proposed one at); touched only by its goroutine.
	epochChecked common.Hash
	cfg          Config
	stack        *node.Node
	db           ethdb.Database
	chain        *Chain
	pool         *TxPool
	fsm          *fsm
	ledger       cocobackend.Ledger
	builder      *builder
	fmaps        atomic.Pointer[logIndex] // replaced after a snapshot restore

	// forwarding is the ledger's Forwarding capability (nil on a single
	// node); trusted the nodes whose forwarded senders are trusted.
	forwarding      cocobackend.Forwarding
	trusted         atomic.Pointer[map[string][]byte]
	admitted        atomic.Pointer[map[string][]byte] // last handed to Admission
	wg              sync.WaitGroup
	removedLogsFeed event.Feed // never fires: committed blocks are final
	headSub         event.Subscription
	started         bool // Start succeeded: Stop stops what it started
	quit            chan struct{}
}

// LedgerDeps is what a ledger is built from.
type LedgerDeps struct {
	// Spec is the chain's genesis spec: it tells which ledger (a single
	// node, or the Raft cluster of config.coco.validators).
	Spec *genesis.Spec
	// Genesis is the genesis block hash, which names the network.
	Genesis common.Hash
	// FSM is the state machine the ledger drives.
	FSM cocobackend.FSM
	// Forwarded receives the transactions other nodes forward here.
	Forwarded cocobackend.ForwardHandler
}

// NewLedgerFunc builds the ledger that orders the chain's entries.
type NewLedgerFunc func(LedgerDeps) (cocobackend.Ledger, error)

// ChainDBPath is the database folder inside the node's instance directory.
const ChainDBPath = "chaindata"

// OpenDatabase opens (creating it unless opts.ReadOnly) the chain
// database at path.
func OpenDatabase(path string, opts store.Options) (ethdb.Database, *store.DB, error) {
	kv, err := store.Open(path, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return rawdb.NewDatabase(kv), kv, nil
}

// New opens the chain in the node's datadir and registers the service's
// APIs and lifecycle on stack. newLedger builds the ledger around the
// service's state machine; nil means a single-node ledger.
func New(stack *node.Node, cfg Config, newLedger NewLedgerFunc) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := cfg.Storage.Options(ChainDBPath)
	opts.CacheMiB, opts.Handles = cfg.DatabaseCache, cfg.DatabaseFiles
	db, kv, err := OpenDatabase(stack.ResolvePath(ChainDBPath), opts)
	if err != nil {
		return nil, err
	}
	s, err := NewService(stack, db, kv, cfg, newLedger)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// NewService opens the chain on an open database (kv is its key-value
// store, for snapshots); stack, if not nil, gets the service's lifecycle
// and lends it its account manager. Tests use it with an in-memory
// database and a nil stack.
func NewService(stack *node.Node, db ethdb.Database, kv ethdb.KeyValueStore, cfg Config, newLedger NewLedgerFunc) (_ *Service, err error) {
	if booted, _, err := rawdb.PushUncleanShutdownMarker(db); err != nil {
		log.Warn("Could not record start-up marker", "err", err)
	} else if len(booted) > 0 {
		last := time.Unix(int64(booted[len(booted)-1]), 0)
		log.Warn("Unclean shutdown detected: the node was not stopped cleanly last time", "booted", last,
			"age", common.PrettyAge(last), "count", len(booted))
	}
	interrupted, _ := db.Has(restoringKey)
	if err := recoverInterruptedRestore(db); err != nil {
		return nil, err
	}
	chain, err := NewChain(db, ChainConfig{TrieCleanCache: cfg.TrieCache << 20, Archive: cfg.GCMode == GCModeArchive, KeepStates: cfg.KeepStates})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			chain.Close() // stops the flat state's generator, which writes to db
		}
	}()
	pool, err := NewTxPool(cfg.Pool, chain)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, stack: stack, db: db, chain: chain, pool: pool, quit: make(chan struct{})}
	if m, ok := cfg.Storage.Keys.(AppliedMark); ok {
		// A chain below what this node applied was rolled back to an older
		// copy of its files (an interrupted snapshot install restarts from
		// genesis on purpose: the snapshot comes again).
		if applied, mark := chain.AppliedIndex(), m.Mark(); applied < mark && !interrupted {
			return nil, fmt.Errorf("the chain database is at ledger index %d but this node had applied up to %d: its files were replaced by an older copy; refusing to start (restore the whole datadir from one backup, or, on a cluster, start from a fresh datadir)", applied, mark)
		}
		s.mark = m
	}
	s.fsm = newFSM(chain, pool, kv, func() { s.fmaps.Load().stop() }, s.restartLogIndex)
	if !cfg.Storage.Local {
		s.keys = cfg.Storage.Keys
		s.fsm.keys, s.fsm.recordDir = cfg.Storage.Keys, cfg.Storage.RecordDir
	}
	if newLedger == nil {
		s.ledger = cocobackend.NewSolo(s.fsm)
	} else if s.ledger, err = newLedger(LedgerDeps{Spec: chain.Spec(), Genesis: chain.Genesis().Hash(), FSM: s.fsm, Forwarded: s.handleForwarded}); err != nil {
		return nil, err
	}
	// A cluster ledger already listens and holds its stores: release them
	// if the service cannot be built after all.
	defer func() {
		if err != nil {
			s.ledger.Stop()
		}
	}()
	if d, ok := s.ledger.(cocobackend.DurableLog); ok && d.DurableLog() {
		chain.syncWrites = false
	}
	s.forwarding, _ = s.ledger.(cocobackend.Forwarding)
	if err := s.initTrusted(); err != nil {
		return nil, err
	}
	coco := chain.Spec().Coco
	var leaderCh <-chan struct{}
	if lc, ok := s.ledger.(cocobackend.LeadershipNotifier); ok {
		leaderCh = lc.LeadershipChanges()
	}
	s.builder = &builder{
		chain: chain, pool: pool, fsm: s.fsm, ledger: s.ledger, leaderCh: leaderCh,
		blockTime: time.Duration(coco.BlockTime), maxTxs: coco.MaxTxs, now: time.Now,
	}
	head := chain.CurrentHeader()
	fm, err := s.newLogIndex()
	if err != nil {
		return nil, err
	}
	s.fmaps.Store(fm)
	if stack != nil {
		stack.RegisterLifecycle(s)
	}
	log.Info("Opened chain", "chainid", chain.Config().ChainID, "genesis", chain.Genesis().Hash(),
		"head", head.Number, "hash", head.Hash(), "blocktime", time.Duration(coco.BlockTime), "maxtxs", coco.MaxTxs)
	return s, nil
}

// logIndex is go-ethereum's log index with a start and stop that may be
// called in any order and more than once (its own Stop panics the second
// time, and a failed snapshot restore may leave one stopped).
type logIndex struct {
	fm      *filtermaps.FilterMaps
	mu      sync.Mutex
	running bool
	stopped bool
}

func (l *logIndex) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running && !l.stopped {
		l.fm.Start()
		l.running = true
	}
}

func (l *logIndex) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running {
		l.fm.Stop()
		l.running = false
	}
	l.stopped = true
}

func (s *Service) newLogIndex() (*logIndex, error) {
	head := s.chain.CurrentHeader()
	view := s.chain.view(head)
	if view == nil || s.chain.GetCanonicalHash(head.Number.Uint64()) != head.Hash() {
		return nil, fmt.Errorf("head block %d is not in the database", head.Number)
	}
	fm, err := filtermaps.NewFilterMaps(s.db, view, 0, head.Number.Uint64(), filtermaps.DefaultParams,
		filtermaps.Config{HashScheme: true})
	if err != nil {
		return nil, err
	}
	return &logIndex{fm: fm}, nil
}

// restartLogIndex rebuilds the log index on a chain installed from a
// snapshot.
func (s *Service) restartLogIndex() {
	fm, err := s.newLogIndex()
	if err != nil {
		log.Error("Cannot reopen the log index", "err", err)
		return
	}
	s.fmaps.Store(fm)
	fm.start()
}

// Chain is the node's chain.
func (s *Service) Chain() *Chain { return s.chain }

// TxPool is the node's transaction pool.
func (s *Service) TxPool() *TxPool { return s.pool }

// Start implements node.Lifecycle.
func (s *Service) Start() error {
	// The log index runs before the ledger starts: starting Raft may
	// install a snapshot, which replaces the index.
	s.fmaps.Load().start()
	if err := s.ledger.Start(); err != nil {
		s.fmaps.Load().stop()
		return err
	}
	heads := make(chan core.ChainHeadEvent, 64)
	s.headSub = s.chain.SubscribeChainHeadEvent(heads)
	s.wg.Add(1)
	go s.followHeads(heads)
	if s.forwarding != nil {
		s.wg.Add(1)
		go s.resendLoop()
	}
	if s.chain.Spec().Coco.Governed() {
		s.wg.Add(1)
		go s.followConstitution()
	}
	if s.keys != nil {
		s.wg.Add(1)
		go s.every(epochPoll, s.rollEpochs)
	}
	if s.mark != nil {
		s.wg.Add(1)
		go s.every(markEvery, s.recordMark)
	}
	if p := s.chain.pruner; p != nil {
		every := s.cfg.GCInterval
		if every == 0 {
			every = DefaultGCInterval
		}
		s.wg.Add(1)
		go s.every(every, func() {
			if p.due() {
				p.logRound(p.run(s.quit))
			}
		})
	}
	s.builder.start()
	s.started = true
	return nil
}

// logIndexEvery is how often the log index is moved to the head. Each move
// renders the unfinished head map again and writes its rows: per block, at
// tens of blocks a second, that was a quarter of a node's CPU under a steady
// load. Logs of the blocks since are found by go-ethereum's filter through
// the blocks' receipts, as for any part of the chain the index lacks.
const logIndexEvery = time.Second

// followHeads keeps the log index on the head, moving it at most once per
// logIndexEvery (at once when it has been still that long).
func (s *Service) followHeads(heads chan core.ChainHeadEvent) {
	defer s.wg.Done()
	var (
		latest  *types.Header // newest head not yet given to the index
		moved   time.Time     // when the index was last moved
		timer   = time.NewTimer(0)
		pending bool // timer armed for latest
	)
	<-timer.C
	defer timer.Stop()
	move := func() {
		if view := s.chain.view(latest); view != nil {
			s.fmaps.Load().fm.SetTarget(view, 0, latest.Number.Uint64())
		}
		latest, moved = nil, time.Now()
	}
	for {
		select {
		case ev := <-heads:
			latest = ev.Header
			if wait := logIndexEvery - time.Since(moved); wait <= 0 {
				move()
			} else if !pending {
				timer.Reset(wait)
				pending = true
			}
		case <-timer.C:
			pending = false
			if latest != nil {
				move()
			}
		case <-s.headSub.Err():
			return
		case <-s.quit:
			return
		}
	}
}

// Stop implements node.Lifecycle. It stops block building first, so no
// block is half-proposed, then the ledger, then closes the database.
//
// A service that was never started closes what NewService opened.
func (s *Service) Stop() error {
	close(s.quit)
	var err error
	if s.started {
		s.builder.stop()
		s.wg.Wait()
		err = s.ledger.Stop()
		s.headSub.Unsubscribe()
	}
	if s.mark != nil {
		s.recordMark()
	}
	s.fmaps.Load().stop()
	s.pool.Close()
	s.chain.Close()
	rawdb.PopUncleanShutdownMarker(s.db)
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	head := s.chain.CurrentHeader()
	log.Info("Chain closed", "head", head.Number, "hash", head.Hash())
	return err
}

// Ledger is the service's ledger.
func (s *Service) Ledger() cocobackend.Ledger { return s.ledger }

// CommitBlock executes txs on the head as the builder does and commits the
// block through the ledger, returning once it is applied. It is for tests
// and tools: the transactions do not pass through the pool, and the
// builder must have nothing to build meanwhile (an empty pool; it makes no
// block of its own then). A transaction the block cannot include is an
// error, and nothing is committed.
func (s *Service) CommitBlock(txs []*types.Transaction) (*types.Block, error) {
	head := s.chain.CurrentHeader()
	b, err := s.chain.executeBlock(head, head.Time+1, txs)
	if err != nil {
		return nil, err
	}
	if len(b.rejected) > 0 {
		return nil, fmt.Errorf("transaction %v refused: %w", b.rejected[0].tx.Hash(), b.rejected[0].err)
	}
	if len(b.deferred) > 0 {
		return nil, fmt.Errorf("transaction %v does not fit in the block", b.deferred[0].Hash())
	}
	entry, err := encodeBlockEntry(b)
	if err != nil {
		return nil, err
	}
	s.fsm.remember(b)
	if _, err := s.ledger.Propose(entry).Wait(); err != nil {
		return nil, err
	}
	n := b.block.NumberU64()
	if s.chain.GetCanonicalHash(n) != b.block.Hash() {
		return nil, fmt.Errorf("block %d was not committed: another block extended the head first", n)
	}
	return b.block, nil
}

// SendTx admits a transaction to the pool; on a follower it is also
// forwarded to the leader. The follower keeps it in its own pool, so its
// pending nonce counts it at once and it survives a leader change.
func (s *Service) SendTx(tx *types.Transaction) error {
	if a, ok := s.ledger.(cocobackend.Accepting); ok {
		if err := a.Accepting(); err != nil {
			return err
		}
	}
	if err := s.pool.Add(tx); err != nil {
		return err
	}
	s.forwardTx(tx)
	return nil
}

// view is a filtermaps chain view ending at head.
func (c *Chain) view(head *types.Header) *filtermaps.ChainView {
	return filtermaps.NewChainView(c, head.Number.Uint64(), head.Hash())
}
