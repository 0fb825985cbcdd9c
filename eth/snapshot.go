package eth

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/triedb/database"
)

// A state snapshot is the whole chain database at one applied index: every
// block, receipt, index and trie node, so a node too far behind the ledger
// installs it and follows from there. Stream format: magic, applied index,
// then (key length, key, value length, value) records, ended by a record of
// key length 0xFFFFFFFF, then the node's ledger secrets (length, then
// keyring.Export; length 0 on a node storing plaintext): a node that
// installs the snapshot may have missed epoch entries compacted away. The
// stream travels only over the attested node-to-node channel and is
// encrypted on disk (store.SnapshotStore).
var snapshotMagic = []byte("cocogeth-snapshot-v1")

const snapshotEnd = 0xFFFFFFFF

// restoringKey marks a snapshot install in progress: the chain database is
// incomplete until it is gone.
var restoringKey = []byte("cocogeth-restoring")

// keys that belong to one node and never travel in a snapshot, nor are
// wiped by an install. The genesis file is the same on every node.
var localKeys = [][]byte{[]byte("unclean-shutdown"), restoringKey, genesisSpecKey}

func isLocalKey(k []byte) bool {
	for _, l := range localKeys {
		if bytes.Equal(k, l) {
			return true
		}
	}
	return false
}

// kvSnapshotter is a store that offers point-in-time views.
type kvSnapshotter interface {
	NewSnapshot() (*store.Snapshot, error)
}

// Bounds of what a snapshot stream may ask a node to allocate: a record's
// key and value (the chain database holds 32-byte trie keys and values of
// a few MB at most), and the ledger secrets section.
const (
	maxSnapshotKey   = 4 << 10
	maxSnapshotValue = 64 << 20
	maxSnapshotKeys  = 1 << 20
)

type chainSnapshot struct {
	keys  []byte // the ledger secrets, exported when the snapshot was taken
	index uint64
	iter  func() ethdb.Iterator
	rel   func()
	// stateOnly (a pruning node): of the trie nodes, only the head state's
	// travel, read through nodes; the installing node gets the current
	// state, not the recent states nor the garbage not yet pruned.
	stateOnly bool
	root      common.Hash
	nodes     ethdb.KeyValueReader
}

// kvNodes reads trie nodes by hash from a store view, for walking a
// state inside a snapshot.
type kvNodes struct{ kv ethdb.KeyValueReader }

func (n kvNodes) NodeReader(common.Hash) (database.NodeReader, error) { return n, nil }

// Node returns the node, nothing for a node not in the store (the trie
// reports it missing), and the store's error when it could not read.
func (n kvNodes) Node(_ common.Hash, _ []byte, hash common.Hash) ([]byte, error) {
	blob, err := n.kv.Get(hash[:])
	if err != nil {
		if ok, herr := n.kv.Has(hash[:]); herr == nil && !ok {
			return nil, nil
		}
		return nil, fmt.Errorf("read trie node %s: %w", hash, err)
	}
	return blob, nil
}

// Snapshot implements cocobackend.FSM. It is called between Applies and
// returns at once; Persist streams the view while Applies continue.
func (f *fsm) Snapshot() (cocobackend.FSMSnapshot, error) {
	kv, ok := f.kv.(kvSnapshotter)
	if !ok {
		return nil, errors.New("snapshots need the on-disk store")
	}
	// Raft truncates its log up to this snapshot's index: everything
	// applied so far must be durable first.
	if err := f.chain.db.SyncKeyValue(); err != nil {
		return nil, err
	}
	var keys []byte
	if f.keys != nil {
		var err error
		if keys, err = f.keys.Export(); err != nil {
			return nil, err
		}
		if len(keys) > maxSnapshotKeys {
			return nil, fmt.Errorf("ledger secrets of %d bytes exceed a snapshot's %d", len(keys), maxSnapshotKeys)
		}
	}
	snap, err := kv.NewSnapshot()
	if err != nil {
		return nil, err
	}
	return &chainSnapshot{
		keys:      keys,
		index:     f.chain.AppliedIndex(),
		iter:      func() ethdb.Iterator { return snap.NewIterator(nil, nil) },
		rel:       snap.Release,
		stateOnly: f.chain.pruner != nil,
		root:      f.chain.CurrentHeader().Root,
		nodes:     snap,
	}, nil
}

func (s *chainSnapshot) Persist(w io.Writer) error {
	start := time.Now()
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(snapshotMagic)
	var u64 [8]byte
	binary.BigEndian.PutUint64(u64[:], s.index)
	bw.Write(u64[:])
	it := s.iter()
	defer it.Release()
	var n, size int
	var u32 [4]byte
	put := func(k, v []byte) error {
		binary.BigEndian.PutUint32(u32[:], uint32(len(k)))
		bw.Write(u32[:])
		bw.Write(k)
		binary.BigEndian.PutUint32(u32[:], uint32(len(v)))
		bw.Write(u32[:])
		if _, err := bw.Write(v); err != nil {
			return err
		}
		n++
		size += len(k) + len(v)
		return nil
	}
	for it.Next() {
		k, v := it.Key(), it.Value()
		if isLocalKey(k) || isFlatStateKey(k) || (s.stateOnly && len(k) == common.HashLength) {
			continue
		}
		if err := put(k, v); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	if s.stateOnly {
		w := newStateWalker(kvNodes{s.nodes})
		w.visit = func(h common.Hash, blob []byte) error { return put(h[:], blob) }
		if err := w.state(s.root); err != nil {
			return fmt.Errorf("snapshot of state %s: %w", s.root, err)
		}
	}
	binary.BigEndian.PutUint32(u32[:], snapshotEnd)
	bw.Write(u32[:])
	binary.BigEndian.PutUint32(u32[:], uint32(len(s.keys)))
	bw.Write(u32[:])
	bw.Write(s.keys)
	if err := bw.Flush(); err != nil {
		return err
	}
	log.Info("Persisted state snapshot", "index", s.index, "records", n, "bytes", size, "elapsed", time.Since(start))
	return nil
}

func (s *chainSnapshot) Release() { s.rel() }

// Restore implements cocobackend.FSM: it replaces the whole chain database
// with the snapshot and moves the head, pool and log index onto it.
func (f *fsm) Restore(r io.Reader) error {
	start := time.Now()
	br := bufio.NewReaderSize(r, 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, snapshotMagic) {
		return fmt.Errorf("not a cocogeth state snapshot")
	}
	var u64 [8]byte
	if _, err := io.ReadFull(br, u64[:]); err != nil {
		return err
	}
	index := binary.BigEndian.Uint64(u64[:])
	if applied := f.chain.AppliedIndex(); index <= applied {
		// Raft restores its latest snapshot at every start; the chain
		// already holds that state or newer (it was synced before the
		// snapshot was taken), so keep it.
		log.Info("Local chain is at or past the snapshot, keeping it", "snapshot", index, "applied", applied)
		return nil
	}
	if f.beforeRestore != nil {
		f.beforeRestore()
	}
	// Whatever happens below, the log index runs again on what the
	// database then holds; a failure part-way halts the node (raft reports
	// it and the leader sends the snapshot again).
	restored := false
	defer func() {
		if !restored {
			log.Error("State snapshot install failed part-way; the chain database is incomplete until a snapshot installs", "index", index)
		}
		if f.afterRestore != nil {
			f.afterRestore()
		}
	}()
	db := f.chain.db
	f.chain.flat.disable() // its generator writes to the database
	if p := f.chain.pruner; p != nil {
		p.halt() // it deletes from the database
		defer p.resume()
	}
	if err := db.Put(restoringKey, hdrBytes(index)); err != nil {
		return err
	}
	if err := db.SyncKeyValue(); err != nil {
		return err
	}
	if err := wipeChainDB(db); err != nil {
		return err
	}
	batch := db.NewBatch()
	var n int
	var u32 [4]byte
	for {
		if _, err := io.ReadFull(br, u32[:]); err != nil {
			return fmt.Errorf("truncated snapshot: %w", err)
		}
		kl := binary.BigEndian.Uint32(u32[:])
		if kl == snapshotEnd {
			break
		}
		if kl > maxSnapshotKey {
			return fmt.Errorf("snapshot record key of %d bytes", kl)
		}
		k := make([]byte, kl)
		if _, err := io.ReadFull(br, k); err != nil {
			return err
		}
		if _, err := io.ReadFull(br, u32[:]); err != nil {
			return err
		}
		vl := binary.BigEndian.Uint32(u32[:])
		if vl > maxSnapshotValue {
			return fmt.Errorf("snapshot record value of %d bytes", vl)
		}
		v := make([]byte, vl)
		if _, err := io.ReadFull(br, v); err != nil {
			return err
		}
		batch.Put(k, v)
		n++
		if batch.ValueSize() > 16<<20 {
			if err := batch.Write(); err != nil {
				return err
			}
			batch.Reset()
		}
	}
	if err := batch.Write(); err != nil {
		return err
	}
	if err := f.restoreKeys(br); err != nil {
		return err
	}
	if err := db.SyncKeyValue(); err != nil {
		return err
	}
	if err := db.Delete(restoringKey); err != nil {
		return err
	}
	if err := db.SyncKeyValue(); err != nil {
		return err
	}
	if err := f.chain.reload(); err != nil {
		return fmt.Errorf("reopen chain after snapshot: %w", err)
	}
	if got := f.chain.AppliedIndex(); got != index {
		return fmt.Errorf("snapshot claims index %d, its chain says %d", index, got)
	}
	f.mu.Lock()
	f.local = make(map[common.Hash]*builtBlock)
	f.mu.Unlock()
	f.pool.resetAll()
	restored = true
	head := f.chain.CurrentHeader()
	log.Info("Installed state snapshot", "index", index, "head", head.Number, "hash", head.Hash(), "records", n, "elapsed", time.Since(start))
	return nil
}

// restoreKeys reads the ledger secrets section of a snapshot and adds them
// to the node's keyring (sealed before it returns).
func (f *fsm) restoreKeys(r io.Reader) error {
	var u32 [4]byte
	if _, err := io.ReadFull(r, u32[:]); err != nil {
		return fmt.Errorf("snapshot without its ledger secrets section: %w", err)
	}
	n := binary.BigEndian.Uint32(u32[:])
	if n > maxSnapshotKeys {
		return fmt.Errorf("snapshot ledger secrets section of %d bytes", n)
	}
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("truncated snapshot ledger secrets: %w", err)
	}
	if f.keys == nil {
		return nil
	}
	if err := f.keys.Import(b); err != nil {
		return fmt.Errorf("snapshot ledger secrets: %w", err)
	}
	f.mirrorAllRecords()
	return nil
}

func hdrBytes(index uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	return b[:]
}

// recoverInterruptedRestore returns a database whose snapshot install was
// cut short (a crash mid-way) to its genesis state, so the node starts and
// Raft installs the snapshot again (it keeps the last one it received).
func recoverInterruptedRestore(db ethdb.Database) error {
	if ok, _ := db.Has(restoringKey); !ok {
		return nil
	}
	spec, err := ReadSpec(db)
	if err != nil {
		return fmt.Errorf("interrupted snapshot install and no genesis to restart from: %w", err)
	}
	log.Warn("A state snapshot install was interrupted; restarting from genesis, the snapshot will be installed again")
	if err := wipeChainDB(db); err != nil {
		return err
	}
	if _, err := InitChain(db, spec); err != nil {
		return err
	}
	if err := db.Delete(restoringKey); err != nil {
		return err
	}
	return db.SyncKeyValue()
}

// wipeChainDB deletes every key but this node's own.
func wipeChainDB(db ethdb.Database) error {
	it := db.NewIterator(nil, nil)
	defer it.Release()
	batch := db.NewBatch()
	for it.Next() {
		if isLocalKey(it.Key()) {
			continue
		}
		batch.Delete(it.Key())
		if batch.ValueSize() > 16<<20 {
			if err := batch.Write(); err != nil {
				return err
			}
			batch.Reset()
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	return batch.Write()
}
