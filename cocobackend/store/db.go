package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/filter"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/storage"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// Defaults and floors applied by Open to Options.
const (
	DefaultCacheMiB = 64  // Options.CacheMiB when zero or negative
	DefaultHandles  = 256 // Options.Handles when zero or negative
	MinCacheMiB     = 16  // smaller positive CacheMiB values are raised to this
	MinHandles      = 16  // smaller positive Handles values are raised to this
)

// deleteRangeLimit bounds how many stored keys a single DeleteRange call
// (on the DB or on a batch) removes before returning ethdb.ErrTooManyKeys,
// so that one call never builds an unbounded batch.
const deleteRangeLimit = 10000

var (
	// ErrNotFound is returned by Get (on a DB or a Snapshot) for a missing
	// key. It is goleveldb's own not-found error, so errors.Is works with
	// either name.
	ErrNotFound = leveldb.ErrNotFound

	// ErrClosed is returned by operations on a closed DB or RaftStore. It
	// is goleveldb's own closed error.
	ErrClosed = leveldb.ErrClosed
)

// Compile-time interface checks.
var (
	_ ethdb.KeyValueStore  = (*DB)(nil)
	_ ethdb.Batch          = (*batch)(nil)
	_ ethdb.KeyValueReader = (*Snapshot)(nil)
	_ ethdb.Iteratee       = (*Snapshot)(nil)
)

// Options configures Open. The zero value gives the defaults.
type Options struct {
	// CacheMiB is the memory budget in MiB: half goes to the block cache,
	// a quarter to each of the two write buffers (active and frozen
	// memtable), as go-ethereum's ethdb/leveldb does. Zero means
	// DefaultCacheMiB; positive values below MinCacheMiB are raised.
	CacheMiB int

	// Handles is the number of open table files kept cached. Zero means
	// DefaultHandles; positive values below MinHandles are raised.
	Handles int

	// ReadOnly opens an existing database without write access. Every
	// write returns an error; Open fails if the database does not exist.
	ReadOnly bool

	// SyncWrites makes every Put, Delete, DeleteRange and batch Write
	// fsync the write-ahead log before returning, as WriteSync does.
	SyncWrites bool

	// Keys, when set, encrypts and authenticates every file the database
	// writes (see Keys and crypt.go), and Open authenticates every file
	// before it opens the database. Nil stores plaintext: for tests and
	// tools only; a node always sets it.
	Keys Keys

	// Identity names the database among all the network's databases (the
	// node and which of its databases); files are bound to it, so a file
	// copied from another database does not authenticate. Required with
	// Keys.
	Identity string

	// OnCorrupt, when set, is called once with the first *CorruptError a
	// read meets after Open; the database refuses every later read
	// anyway. A node stops on it rather than serve around a hole.
	OnCorrupt func(error)
}

func (o Options) withDefaults() Options {
	if o.CacheMiB <= 0 {
		o.CacheMiB = DefaultCacheMiB
	} else if o.CacheMiB < MinCacheMiB {
		o.CacheMiB = MinCacheMiB
	}
	if o.Handles <= 0 {
		o.Handles = DefaultHandles
	} else if o.Handles < MinHandles {
		o.Handles = MinHandles
	}
	return o
}

// leveldbOptions translates Options (with defaults applied) into goleveldb
// options.
func (o Options) leveldbOptions() *opt.Options {
	return &opt.Options{
		BlockCacheCapacity:     o.CacheMiB / 2 * opt.MiB,
		WriteBuffer:            o.CacheMiB / 4 * opt.MiB,
		OpenFilesCacheCapacity: o.Handles,
		Filter:                 filter.NewBloomFilter(10),
		DisableSeeksCompaction: true,
		ReadOnly:               o.ReadOnly,
		ErrorIfMissing:         o.ReadOnly,
	}
}

var syncWriteOptions = &opt.WriteOptions{Sync: true}

// DB is a persistent, ordered key-value store on goleveldb implementing
// go-ethereum's ethdb.KeyValueStore. It is safe for concurrent use.
type DB struct {
	path string
	opts Options
	ldb  *leveldb.DB
	stor *journalSyncStorage
	wo   *opt.WriteOptions // options of ordinary writes (nil: not synced)

	closeMu sync.Mutex
	closed  bool
}

// Open opens (creating it unless opts.ReadOnly) the database in directory
// path. A database that goleveldb reports as corrupted is not repaired: the
// corruption error is returned.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	opts = opts.withDefaults()
	fs, err := storage.OpenFile(path, opts.ReadOnly)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var base storage.Storage = fs
	if opts.Keys != nil {
		if opts.Identity == "" {
			fs.Close()
			return nil, errors.New("store: an encrypted database needs an identity")
		}
		cs := &cryptStorage{Storage: fs, st: &cryptState{keys: opts.Keys, identity: opts.Identity, dir: path}}
		if err := cs.verifyAll(); err != nil {
			fs.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		cs.st.onCorrupt = opts.OnCorrupt
		base = cs
	} else if enc, err := isEncrypted(fs); err != nil || enc {
		fs.Close()
		if err == nil {
			err = errors.New("the database is encrypted and no keys were given")
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	stor := newJournalSyncStorage(base, path)
	ldb, err := leveldb.Open(stor, opts.leveldbOptions())
	if err != nil {
		stor.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{path: path, opts: opts, ldb: ldb, stor: stor}
	if opts.SyncWrites {
		db.wo = syncWriteOptions
	}
	return db, nil
}

// Path returns the directory the database was opened at.
func (db *DB) Path() string { return db.path }

// Options returns the options the database was opened with, defaults
// applied.
func (db *DB) Options() Options { return db.opts }

// Close closes the database, syncing its write-ahead log first. Closing an
// already closed DB does nothing and returns nil. Snapshots and iterators
// still alive become unusable (they report ErrClosed).
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	err := db.ldb.Close()
	if serr := db.stor.Close(); err == nil {
		err = serr
	}
	return err
}

func (db *DB) isClosed() bool {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	return db.closed
}

// Has reports whether key is present. A missing key is (false, nil).
func (db *DB) Has(key []byte) (bool, error) {
	return db.ldb.Has(key, nil)
}

// Get returns a copy of the value of key, or ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	return db.ldb.Get(key, nil)
}

// Put stores value under key.
func (db *DB) Put(key, value []byte) error {
	return db.ldb.Put(key, value, db.wo)
}

// Delete removes key; deleting a missing key is not an error.
func (db *DB) Delete(key []byte) error {
	return db.ldb.Delete(key, db.wo)
}

// DeleteRange deletes the keys in [start, end); a nil start is before every
// key and a nil end after every key. At most 10000 keys are removed per
// call, in one atomic write: if more remain, ethdb.ErrTooManyKeys is
// returned after that write and the caller repeats the call (as
// go-ethereum's callers do). A call is not isolated from concurrent
// writers: a key put into the range while it runs may survive.
func (db *DB) DeleteRange(start, end []byte) error {
	b := db.NewBatch()
	rerr := b.DeleteRange(start, end)
	if rerr != nil && !errors.Is(rerr, ethdb.ErrTooManyKeys) {
		return rerr
	}
	if err := b.Write(); err != nil {
		return err
	}
	return rerr
}

// NewIterator returns an iterator over the keys with the given prefix, in
// ascending byte order, starting at prefix+start (or the first key after
// it). The iterator sees a consistent point-in-time view taken at creation.
// Release it when done.
func (db *DB) NewIterator(prefix, start []byte) ethdb.Iterator {
	return db.ldb.NewIterator(prefixRange(prefix, start), nil)
}

// SyncKeyValue makes every write that completed before the call durable:
// it fsyncs every open write-ahead log file (and, once per log file, the
// directory). Log files retired earlier were fsynced when retired. After a
// failed fsync the DB is no longer trusted to be durable: every later
// SyncKeyValue returns that first error; reopen the database.
func (db *DB) SyncKeyValue() error {
	if db.isClosed() {
		return ErrClosed
	}
	return db.stor.syncJournals()
}

// Compact compacts the key range [start, limit); nil bounds are open.
func (db *DB) Compact(start, limit []byte) error {
	return db.ldb.CompactRange(util.Range{Start: start, Limit: limit})
}

// Stat returns a human-readable summary of the database's levels, IO and
// resources.
func (db *DB) Stat() (string, error) {
	var st leveldb.DBStats
	if err := db.ldb.Stats(&st); err != nil {
		return "", err
	}
	const mib = 1 << 20
	var sb strings.Builder
	fmt.Fprintf(&sb, "%5s %8s %12s %10s %12s %12s\n", "level", "tables", "size(MiB)", "time(s)", "read(MiB)", "write(MiB)")
	var tables int
	var size, read, write int64
	for lvl := range st.LevelSizes {
		if st.LevelTablesCounts[lvl] == 0 && st.LevelDurations[lvl] == 0 {
			continue
		}
		tables += st.LevelTablesCounts[lvl]
		size += st.LevelSizes[lvl]
		read += st.LevelRead[lvl]
		write += st.LevelWrite[lvl]
		fmt.Fprintf(&sb, "%5d %8d %12.3f %10.3f %12.3f %12.3f\n", lvl, st.LevelTablesCounts[lvl],
			float64(st.LevelSizes[lvl])/mib, st.LevelDurations[lvl].Seconds(),
			float64(st.LevelRead[lvl])/mib, float64(st.LevelWrite[lvl])/mib)
	}
	fmt.Fprintf(&sb, "%5s %8d %12.3f %10s %12.3f %12.3f\n", "total", tables, float64(size)/mib, "", float64(read)/mib, float64(write)/mib)
	fmt.Fprintf(&sb, "io: read %.3f MiB, write %.3f MiB\n", float64(st.IORead)/mib, float64(st.IOWrite)/mib)
	fmt.Fprintf(&sb, "cache: block %.3f MiB, open tables %d\n", float64(st.BlockCacheSize)/mib, st.OpenedTablesCount)
	fmt.Fprintf(&sb, "compactions: memory %d, level0 %d, other %d, seek %d\n", st.MemComp, st.Level0Comp, st.NonLevel0Comp, st.SeekComp)
	fmt.Fprintf(&sb, "write delays: %d totalling %v, paused %t\n", st.WriteDelayCount, st.WriteDelayDuration, st.WritePaused)
	fmt.Fprintf(&sb, "alive: snapshots %d, iterators %d\n", st.AliveSnapshots, st.AliveIterators)
	return sb.String(), nil
}

// NewBatch returns an empty write batch bound to the database.
func (db *DB) NewBatch() ethdb.Batch {
	return &batch{db: db, b: new(leveldb.Batch)}
}

// NewBatchWithSize returns an empty write batch with size bytes of buffer
// preallocated.
func (db *DB) NewBatchWithSize(size int) ethdb.Batch {
	if size < 0 {
		size = 0
	}
	return &batch{db: db, b: leveldb.MakeBatch(size)}
}

// WriteSync atomically writes b, like b.Write, and fsyncs the write-ahead
// log before returning, so the batch (and every write before it) survives a
// crash or power loss. A batch of another implementation is replayed into
// one of ours first.
func (db *DB) WriteSync(b ethdb.Batch) error {
	own, ok := b.(*batch)
	if !ok || own.db != db {
		own = &batch{db: db, b: new(leveldb.Batch)}
		if err := b.Replay(own); err != nil {
			return err
		}
	}
	return db.ldb.Write(own.b, syncWriteOptions)
}

// NewSnapshot returns a consistent, read-only, point-in-time view of the
// whole database: later writes are invisible to it. Release it when done;
// an unreleased snapshot pins old data and delays its reclamation.
func (db *DB) NewSnapshot() (*Snapshot, error) {
	snap, err := db.ldb.GetSnapshot()
	if err != nil {
		return nil, err
	}
	return &Snapshot{snap: snap}, nil
}

// Snapshot is a point-in-time view of a DB. It is safe for concurrent use.
type Snapshot struct {
	snap *leveldb.Snapshot
}

// Has reports whether key was present when the snapshot was taken.
func (s *Snapshot) Has(key []byte) (bool, error) {
	return s.snap.Has(key, nil)
}

// Get returns a copy of the value key had when the snapshot was taken, or
// ErrNotFound.
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	return s.snap.Get(key, nil)
}

// NewIterator iterates the snapshot like DB.NewIterator iterates the
// database. Release the iterator before (or after) the snapshot.
func (s *Snapshot) NewIterator(prefix, start []byte) ethdb.Iterator {
	return s.snap.NewIterator(prefixRange(prefix, start), nil)
}

// Release releases the snapshot. Releasing twice is harmless; any use after
// Release returns an error.
func (s *Snapshot) Release() {
	s.snap.Release()
}

// prefixRange returns the key range of the keys that have prefix and are not
// below prefix+start.
func prefixRange(prefix, start []byte) *util.Range {
	r := &util.Range{Limit: prefixSuccessor(prefix)}
	if len(prefix)+len(start) > 0 {
		r.Start = make([]byte, 0, len(prefix)+len(start))
		r.Start = append(append(r.Start, prefix...), start...)
	}
	return r
}

// prefixSuccessor returns the smallest key greater than every key with the
// given prefix, or nil (no upper bound) if there is none: an empty prefix
// or one made only of 0xff bytes.
func prefixSuccessor(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			limit := bytes.Clone(prefix[:i+1])
			limit[i]++
			return limit
		}
	}
	return nil
}
