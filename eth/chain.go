package eth

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/consensus/beacon"
	"github.com/ethereum/go-ethereum/consensus/ethash"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/ethereum/go-ethereum/triedb/hashdb"
)

// genesisSpecKey stores the genesis file the database was initialised with.
var genesisSpecKey = []byte("cocogeth-genesis")

// appliedIndexKey stores the index of the last ledger entry applied to the
// chain; it is written in the same batch as the block of that entry.
var appliedIndexKey = []byte("cocogeth-applied-index")

// ErrNotInitialised is returned when a datadir holds no chain.
var ErrNotInitialised = errors.New("datadir holds no chain: run `cocogeth init --datadir DIR genesis.json` first")

// Chain is the committed chain of one node: headers, bodies, receipts,
// indexes and state in one key-value store. Writes happen only through
// commitBlock, called by the ledger's state machine; reads are safe from any
// goroutine.
type Chain struct {
	db      ethdb.Database
	overlay *overlayDB
	triedb  *triedb.Database
	flat    *flatState
	statedb state.Database
	// pruner deletes the trie nodes no recent state reaches; nil in
	// archive mode.
	pruner *pruner
	config *params.ChainConfig
	spec   *genesis.Spec
	engine consensus.Engine
	// precompiles are the stateful precompiles every EVM of the chain has
	// (the governance contract on a governed chain).
	precompiles precompileRegistry
	genesis     *types.Block
	head        atomic.Pointer[types.Header]
	// syncWrites fsyncs every block. A single node needs it (its chain is
	// the only record); under Raft the replicated log is durable and a block
	// lost from an unsynced write is applied again from it at restart.
	syncWrites bool
	applied    atomic.Uint64
	writeMu    sync.Mutex
	headers    *lru.Cache[common.Hash, *types.Header]
	receipts   *lru.Cache[common.Hash, types.Receipts]
	// blocks keeps recent blocks as committed, with their transactions'
	// senders cached, so serving receipts and transactions does not
	// recover signatures again.
	blocks *lru.Cache[common.Hash, *types.Block]

	chainFeed event.Feed // core.ChainEvent
	headFeed  event.Feed // core.ChainHeadEvent
	logsFeed  event.Feed // []*types.Log
	// scope ends every subscription at Close, so subscribers' loops (the
	// filter system's among them) stop with the chain.
	scope event.SubscriptionScope
}

// InitChain writes the genesis block and state of spec into db unless the
// database already holds a chain. It returns the genesis block. Initialising
// an existing chain with a different genesis is an error.
func InitChain(db ethdb.Database, spec *genesis.Spec) (*types.Block, error) {
	if stored := rawdb.ReadCanonicalHash(db, 0); stored != (common.Hash{}) {
		want := spec.Eth.ToBlock().Hash()
		if stored != want {
			return nil, fmt.Errorf("database already holds a different chain (genesis %s, file gives %s)", stored.Hex(), want.Hex())
		}
		old, err := ReadSpec(db)
		if err != nil {
			return nil, err
		}
		oldRaw, _ := old.MarshalJSON()
		newRaw, _ := spec.MarshalJSON()
		if !bytes.Equal(oldRaw, newRaw) {
			return nil, errors.New("database already initialised with the same genesis block but different settings (chain config or config.coco); use a fresh datadir")
		}
		return rawdb.ReadBlock(db, stored, 0), nil
	}
	tdb := triedb.NewDatabase(db, &triedb.Config{HashDB: hashdb.Defaults})
	defer tdb.Close()
	block, err := spec.Eth.Commit(db, tdb, nil)
	if err != nil {
		return nil, fmt.Errorf("write genesis: %w", err)
	}
	raw := spec.Raw
	if len(raw) == 0 {
		if raw, err = spec.MarshalJSON(); err != nil {
			return nil, err
		}
	}
	if err := db.Put(genesisSpecKey, raw); err != nil {
		return nil, err
	}
	if err := db.SyncKeyValue(); err != nil {
		return nil, err
	}
	return block, nil
}

// ReadSpec returns the genesis spec stored in db by InitChain.
func ReadSpec(db ethdb.KeyValueReader) (*genesis.Spec, error) {
	raw, err := db.Get(genesisSpecKey)
	if err != nil || len(raw) == 0 {
		return nil, ErrNotInitialised
	}
	return genesis.Parse(raw)
}

// ChainConfig holds the tuning of a Chain.
type ChainConfig struct {
	TrieCleanCache int    // bytes of clean trie node cache
	Archive        bool   // keep every block's state (no pruning)
	KeepStates     uint64 // recent states a pruning chain keeps (0: DefaultKeepStates)
}

// NewChain opens the chain stored in db.
func NewChain(db ethdb.Database, cfg ChainConfig) (*Chain, error) {
	spec, err := ReadSpec(db)
	if err != nil {
		return nil, err
	}
	ghash := rawdb.ReadCanonicalHash(db, 0)
	if ghash == (common.Hash{}) {
		return nil, ErrNotInitialised
	}
	if cfg.TrieCleanCache == 0 {
		cfg.TrieCleanCache = 256 << 20
	}
	overlay := newOverlayDB(db)
	tdb := triedb.NewDatabase(overlay, &triedb.Config{HashDB: &hashdb.Config{CleanCacheSize: cfg.TrieCleanCache}})
	c := &Chain{
		db:       db,
		overlay:  overlay,
		triedb:   tdb,
		config:   spec.ChainConfig(),
		spec:     spec,
		engine:   beacon.New(ethash.NewFaker()),
		headers:  lru.NewCache[common.Hash, *types.Header](4096),
		receipts: lru.NewCache[common.Hash, types.Receipts](256),
		blocks:   lru.NewCache[common.Hash, *types.Block](256),
	}
	c.syncWrites = true
	c.precompiles = append(c.precompiles, randomPrecompile{})
	if spec.Coco.Governed() {
		c.precompiles = append(c.precompiles, govPrecompile{contract: governance.NewContract()})
	}
	c.genesis = rawdb.ReadBlock(db, ghash, 0)
	if c.genesis == nil {
		return nil, errors.New("database is corrupt: genesis block missing")
	}
	headHash := rawdb.ReadHeadBlockHash(db)
	if headHash == (common.Hash{}) {
		headHash = ghash
	}
	head := c.GetHeaderByHash(headHash)
	if head == nil {
		return nil, fmt.Errorf("database is corrupt: head block %s missing", headHash.Hex())
	}
	if _, err := state.New(head.Root, state.NewMPTDatabase(tdb, nil)); err != nil {
		return nil, fmt.Errorf("database is corrupt: state of head block %d missing: %v", head.Number, err)
	}
	if c.flat, err = openFlatState(db, tdb, head.Root); err != nil {
		return nil, fmt.Errorf("open flat state: %w", err)
	}
	c.statedb = state.NewMPTDatabase(tdb, nil).WithSnapshot(c.flat.tree)
	if !cfg.Archive {
		c.pruner = newPruner(c, cfg.KeepStates)
	}
	c.head.Store(head)
	if b, _ := db.Get(appliedIndexKey); len(b) == 8 {
		c.applied.Store(new(big.Int).SetBytes(b).Uint64())
	}
	return c, nil
}

// reload re-reads the head and applied index from the database and drops
// every cache; used after the database was replaced by a snapshot.
func (c *Chain) reload() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.headers.Purge()
	c.receipts.Purge()
	c.blocks.Purge()
	c.overlay.clear()
	headHash := rawdb.ReadHeadBlockHash(c.db)
	head := c.GetHeaderByHash(headHash)
	if head == nil {
		return fmt.Errorf("head block %s missing", headHash.Hex())
	}
	if _, err := state.New(head.Root, c.statedb); err != nil {
		return fmt.Errorf("state of head block %d missing: %v", head.Number, err)
	}
	var applied uint64
	if b, _ := c.db.Get(appliedIndexKey); len(b) == 8 {
		applied = new(big.Int).SetBytes(b).Uint64()
	}
	c.applied.Store(applied)
	c.head.Store(head)
	c.flat.rebuild(head.Root)
	c.headFeed.Send(core.ChainHeadEvent{Header: head})
	return nil
}

// Spec is the genesis spec the chain was initialised with.
func (c *Chain) Spec() *genesis.Spec { return c.spec }

// Database is the underlying key-value store.
func (c *Chain) Database() ethdb.Database { return c.db }

// Config implements consensus.ChainHeaderReader.
func (c *Chain) Config() *params.ChainConfig { return c.config }

// Engine implements core.ChainContext; it only ever reports authors.
func (c *Chain) Engine() consensus.Engine { return c.engine }

// Genesis is block 0.
func (c *Chain) Genesis() *types.Block { return c.genesis }

// CurrentHeader implements consensus.ChainHeaderReader.
func (c *Chain) CurrentHeader() *types.Header { return c.head.Load() }

// AppliedIndex is the ledger index of the last applied entry.
func (c *Chain) AppliedIndex() uint64 { return c.applied.Load() }

// GetHeader implements consensus.ChainHeaderReader.
func (c *Chain) GetHeader(hash common.Hash, number uint64) *types.Header {
	if h, ok := c.headers.Get(hash); ok {
		return h
	}
	h := rawdb.ReadHeader(c.db, hash, number)
	if h != nil {
		c.headers.Add(hash, h)
	}
	return h
}

// GetHeaderByHash implements consensus.ChainHeaderReader.
func (c *Chain) GetHeaderByHash(hash common.Hash) *types.Header {
	if h, ok := c.headers.Get(hash); ok {
		return h
	}
	number, ok := rawdb.ReadHeaderNumber(c.db, hash)
	if !ok {
		return nil
	}
	return c.GetHeader(hash, number)
}

// GetHeaderByNumber implements consensus.ChainHeaderReader for the
// canonical chain.
func (c *Chain) GetHeaderByNumber(number uint64) *types.Header {
	hash := c.GetCanonicalHash(number)
	if hash == (common.Hash{}) {
		return nil
	}
	return c.GetHeader(hash, number)
}

// GetCanonicalHash returns the hash of the canonical block at number.
func (c *Chain) GetCanonicalHash(number uint64) common.Hash {
	if head := c.head.Load(); number > head.Number.Uint64() {
		return common.Hash{}
	}
	return rawdb.ReadCanonicalHash(c.db, number)
}

// GetBlock returns a block by hash and number.
func (c *Chain) GetBlock(hash common.Hash, number uint64) *types.Block {
	if b, ok := c.blocks.Get(hash); ok {
		return b
	}
	b := rawdb.ReadBlock(c.db, hash, number)
	if b != nil {
		c.blocks.Add(hash, b)
	}
	return b
}

// GetBlockByNumber returns a canonical block.
func (c *Chain) GetBlockByNumber(number uint64) *types.Block {
	hash := c.GetCanonicalHash(number)
	if hash == (common.Hash{}) {
		return nil
	}
	return c.GetBlock(hash, number)
}

// GetBlockByHash returns a committed block by hash.
func (c *Chain) GetBlockByHash(hash common.Hash) *types.Block {
	number, ok := rawdb.ReadHeaderNumber(c.db, hash)
	if !ok || number > c.head.Load().Number.Uint64() {
		return nil
	}
	return c.GetBlock(hash, number)
}

// VisibleHeaderByHash returns a committed header by hash, nil for a block
// the head has not reached yet.
func (c *Chain) VisibleHeaderByHash(hash common.Hash) *types.Header {
	h := c.GetHeaderByHash(hash)
	if h == nil || h.Number.Uint64() > c.head.Load().Number.Uint64() {
		return nil
	}
	return h
}

// GetReceiptsByHash returns the receipts of a block with all derived fields.
func (c *Chain) GetReceiptsByHash(hash common.Hash) types.Receipts {
	if r, ok := c.receipts.Get(hash); ok {
		return r
	}
	header := c.GetHeaderByHash(hash)
	if header == nil {
		return nil
	}
	r := rawdb.ReadReceipts(c.db, hash, header.Number.Uint64(), header.Time, c.config)
	if r != nil {
		c.receipts.Add(hash, r)
	}
	return r
}

// GetRawReceipts returns the stored receipts of a block without derived
// fields.
func (c *Chain) GetRawReceipts(hash common.Hash, number uint64) types.Receipts {
	return rawdb.ReadRawReceipts(c.db, hash, number)
}

// GetTransaction finds a committed transaction by hash. A block is
// visible only once the head has reached it (its batch is on disk and
// synced).
func (c *Chain) GetTransaction(hash common.Hash) (tx *types.Transaction, blockHash common.Hash, number, index uint64) {
	num := rawdb.ReadTxLookupEntry(c.db, hash)
	if num == nil || *num > c.head.Load().Number.Uint64() {
		return nil, common.Hash{}, 0, 0
	}
	blockHash = rawdb.ReadCanonicalHash(c.db, *num)
	block := c.GetBlock(blockHash, *num)
	if block == nil {
		return nil, common.Hash{}, 0, 0
	}
	for i, t := range block.Transactions() {
		if t.Hash() == hash {
			return t, blockHash, *num, uint64(i)
		}
	}
	return nil, common.Hash{}, 0, 0
}

// StateAt opens the state with the given root.
func (c *Chain) StateAt(root common.Hash) (*state.StateDB, error) {
	return state.New(root, c.statedb)
}

// State opens the state of the current head.
func (c *Chain) State() (*state.StateDB, error) { return c.StateAt(c.CurrentHeader().Root) }

// SubscribeChainEvent delivers every committed block.
func (c *Chain) SubscribeChainEvent(ch chan<- core.ChainEvent) event.Subscription {
	return c.scope.Track(c.chainFeed.Subscribe(ch))
}

// SubscribeChainHeadEvent delivers every new head.
func (c *Chain) SubscribeChainHeadEvent(ch chan<- core.ChainHeadEvent) event.Subscription {
	return c.scope.Track(c.headFeed.Subscribe(ch))
}

// SubscribeLogsEvent delivers the logs of every committed block.
func (c *Chain) SubscribeLogsEvent(ch chan<- []*types.Log) event.Subscription {
	return c.scope.Track(c.logsFeed.Subscribe(ch))
}

// commitBlock writes a block, its receipts, its indexes, its state write set
// and the ledger index that carried it in one atomic, synced batch, then
// advances the head and notifies subscribers. The block must extend the
// current head.
func (c *Chain) commitBlock(index uint64, block *types.Block, receipts types.Receipts, ws *WriteSet) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	head := c.head.Load()
	if block.ParentHash() != head.Hash() || block.NumberU64() != head.Number.Uint64()+1 {
		return fmt.Errorf("%w: block %d (parent %s) does not extend head %d (%s)", ErrDivergence,
			block.NumberU64(), block.ParentHash().Hex(), head.Number.Uint64(), head.Hash().Hex())
	}
	batch := c.db.NewBatchWithSize(ws.size() + int(block.Size()) + 1024)
	ws.write(batch)
	if c.pruner != nil {
		c.pruner.wrote(ws)
	}
	rawdb.WriteBlock(batch, block)
	rawdb.WriteReceipts(batch, block.Hash(), block.NumberU64(), receipts)
	rawdb.WriteTxLookupEntriesByBlock(batch, block)
	rawdb.WriteCanonicalHash(batch, block.Hash(), block.NumberU64())
	rawdb.WriteHeadHeaderHash(batch, block.Hash())
	rawdb.WriteHeadBlockHash(batch, block.Hash())
	rawdb.WriteHeadFastBlockHash(batch, block.Hash())
	if err := batch.Put(appliedIndexKey, new(big.Int).SetUint64(index).FillBytes(make([]byte, 8))); err != nil {
		return err
	}
	if err := batch.Write(); err != nil {
		return fmt.Errorf("write block %d: %w", block.NumberU64(), err)
	}
	if c.syncWrites {
		if err := c.db.SyncKeyValue(); err != nil {
			return fmt.Errorf("sync block %d: %w", block.NumberU64(), err)
		}
	}
	c.overlay.committed(ws)
	c.flat.commit(block.Root(), head.Root, ws)
	header := block.Header()
	c.headers.Add(block.Hash(), header)
	c.receipts.Add(block.Hash(), receipts)
	c.blocks.Add(block.Hash(), block)
	c.applied.Store(index)
	c.head.Store(header)

	blockCommitted(block, receipts)
	c.chainFeed.Send(core.ChainEvent{Header: header, Receipts: receipts, Transactions: block.Transactions()})
	c.headFeed.Send(core.ChainHeadEvent{Header: header})
	var logs []*types.Log
	for _, r := range receipts {
		logs = append(logs, r.Logs...)
	}
	if len(logs) > 0 {
		c.logsFeed.Send(logs)
	}
	return nil
}

// skipEntry records that the ledger entry at index carried nothing for the
// chain (for instance a block already applied), so a restart does not
// replay it.
func (c *Chain) skipEntry(index uint64) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.db.Put(appliedIndexKey, new(big.Int).SetUint64(index).FillBytes(make([]byte, 8))); err != nil {
		return err
	}
	c.applied.Store(index)
	return nil
}

// Close releases the trie database caches. The key-value store is closed
// by its owner.
func (c *Chain) Close() error {
	c.scope.Close()
	c.flat.close(c.head.Load().Root)
	return c.triedb.Close()
}
