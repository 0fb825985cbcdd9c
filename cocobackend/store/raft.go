package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// ErrKeyNotFound is returned by RaftStore.Get and GetUint64 for a key never
// set. Its text is exactly "not found": hashicorp/raft recognises a missing
// stable key by comparing err.Error() with that string.
var ErrKeyNotFound = errors.New("not found")

// Keys of a raft database.
const (
	raftLogPrefix    = 'l' // 'l' + 8-byte big-endian index -> encoded raft.Log
	raftStablePrefix = 's' // 's' + raft's key -> value
	raftFormatKey    = "v" // "v" -> raftFormatVersion
)

const raftFormatVersion = 1

// maxRetainedBatch bounds the buffers StoreLogs keeps for reuse.
const maxRetainedBatch = 4 << 20

var (
	_ raft.LogStore    = (*RaftStore)(nil)
	_ raft.StableStore = (*RaftStore)(nil)
)

// RaftStore is hashicorp/raft's LogStore and StableStore on a DB of its
// own, in its own directory. It is safe for concurrent use.
//
// Every mutation (StoreLog(s), DeleteRange, Set, SetUint64) is one atomic
// goleveldb write, fsynced before it returns. FirstIndex and LastIndex are
// served from memory; they are recovered on open by seeking the first and
// last log keys. Log indexes need not be contiguous.
type RaftStore struct {
	db *DB

	wmu     sync.Mutex     // serialises mutations, so the index cache follows them
	batch   *leveldb.Batch // reused by StoreLogs, under wmu
	scratch []byte         // entry encoding buffer, under wmu

	mu          sync.RWMutex // guards the fields below
	empty       bool         // no entries; first and last are then 0
	first, last uint64       // lowest and highest stored index
}

// OpenRaftStore opens (creating it unless opts.ReadOnly) the raft database
// in directory path. The directory must not be shared with another DB.
// opts.SyncWrites is implied for the raft store's own writes.
func OpenRaftStore(path string, opts Options) (*RaftStore, error) {
	db, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	s := &RaftStore{db: db}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open raft store %s: %w", path, err)
	}
	return s, nil
}

// init checks (or, on an empty writable database, writes) the format
// marker, then recovers the cached first and last indexes.
func (s *RaftStore) init() error {
	v, err := s.db.Get([]byte(raftFormatKey))
	switch {
	case errors.Is(err, ErrNotFound):
		it := s.db.ldb.NewIterator(nil, nil)
		nonEmpty := it.First()
		err := it.Error()
		it.Release()
		if err != nil {
			return err
		}
		if nonEmpty {
			return errors.New("database holds data but is not a raft store")
		}
		if !s.db.opts.ReadOnly {
			if err := s.db.ldb.Put([]byte(raftFormatKey), []byte{raftFormatVersion}, syncWriteOptions); err != nil {
				return err
			}
		}
	case err != nil:
		return err
	case len(v) != 1 || v[0] != raftFormatVersion:
		return fmt.Errorf("raft store format %x is not supported", v)
	}
	first, ok, err := s.seekFirst(0)
	if err != nil || !ok {
		s.empty = true
		return err
	}
	last, _, err := s.seekLast(math.MaxUint64)
	if err != nil {
		return err
	}
	s.first, s.last = first, last
	return nil
}

// Close closes the store. Closing twice is harmless.
func (s *RaftStore) Close() error { return s.db.Close() }

// Path returns the directory of the store's database.
func (s *RaftStore) Path() string { return s.db.Path() }

// FirstIndex returns the lowest stored log index, 0 if there is none.
func (s *RaftStore) FirstIndex() (uint64, error) {
	if s.db.isClosed() {
		return 0, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.first, nil
}

// LastIndex returns the highest stored log index, 0 if there is none.
func (s *RaftStore) LastIndex() (uint64, error) {
	if s.db.isClosed() {
		return 0, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last, nil
}

// GetLog reads the entry at index into l; raft.ErrLogNotFound if absent.
func (s *RaftStore) GetLog(index uint64, l *raft.Log) error {
	s.mu.RLock()
	empty, first, last := s.empty, s.first, s.last
	s.mu.RUnlock()
	if empty || index < first || index > last {
		if s.db.isClosed() {
			return ErrClosed
		}
		return raft.ErrLogNotFound
	}
	var key [9]byte
	v, err := s.db.Get(logKey(&key, index))
	if errors.Is(err, ErrNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return err
	}
	if err := decodeLog(v, l); err != nil {
		return fmt.Errorf("store: raft log %d: %w", index, err)
	}
	if l.Index != index {
		return fmt.Errorf("store: raft log key %d holds entry %d", index, l.Index)
	}
	return nil
}

// StoreLog stores one entry, durably.
func (s *RaftStore) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs stores the entries in one atomic write, fsynced before it
// returns. An entry at an index already stored replaces it.
func (s *RaftStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()

	size := 0
	for _, l := range logs {
		size += 9 + encodedLogSize(l) + 16 // key, value, batch record overhead
	}
	b := s.batch
	if b == nil || size > maxRetainedBatch {
		b = leveldb.MakeBatch(size)
	}
	b.Reset()
	var key [9]byte
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for _, l := range logs {
		s.scratch = appendLog(s.scratch[:0], l)
		b.Put(logKey(&key, l.Index), s.scratch) // copies key and value
		lo, hi = min(lo, l.Index), max(hi, l.Index)
	}
	if size <= maxRetainedBatch {
		s.batch = b
	}
	if cap(s.scratch) > maxRetainedBatch {
		s.scratch = nil
	}
	if err := s.db.ldb.Write(b, syncWriteOptions); err != nil {
		return err
	}
	s.mu.Lock()
	if s.empty {
		s.empty, s.first, s.last = false, lo, hi
	} else {
		s.first, s.last = min(s.first, lo), max(s.last, hi)
	}
	s.mu.Unlock()
	return nil
}

// DeleteRange deletes the entries with indexes in [lo, hi], in one atomic
// write, fsynced before it returns.
func (s *RaftStore) DeleteRange(lo, hi uint64) error {
	if lo > hi {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()

	var start, end [9]byte
	r := &util.Range{Start: logKey(&start, lo)}
	if hi == math.MaxUint64 {
		r.Limit = []byte{raftLogPrefix + 1}
	} else {
		r.Limit = logKey(&end, hi+1)
	}
	b := new(leveldb.Batch)
	it := s.db.ldb.NewIterator(r, nil)
	for it.Next() {
		b.Delete(it.Key())
	}
	err := it.Error()
	it.Release()
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.db.ldb.Write(b, syncWriteOptions); err != nil {
		return err
	}

	// Only mutations change the bounds and s.wmu is held: read them freely.
	if s.empty || hi < s.first || lo > s.last {
		return nil
	}
	first, last := s.first, s.last
	gone := false
	if lo <= first { // the lowest entries went: the new first is above hi
		var ok bool
		if hi == math.MaxUint64 {
			ok = false
		} else if first, ok, err = s.seekFirst(hi + 1); err != nil {
			return err
		}
		gone = gone || !ok
	}
	if hi >= last { // the highest entries went: the new last is below lo
		var ok bool
		if lo == 0 {
			ok = false
		} else if last, ok, err = s.seekLast(lo - 1); err != nil {
			return err
		}
		gone = gone || !ok
	}
	s.mu.Lock()
	if gone {
		s.empty, s.first, s.last = true, 0, 0
	} else {
		s.first, s.last = first, last
	}
	s.mu.Unlock()
	return nil
}

// seekFirst returns the lowest stored index >= from; ok is false if none.
func (s *RaftStore) seekFirst(from uint64) (index uint64, ok bool, err error) {
	var start [9]byte
	it := s.db.ldb.NewIterator(&util.Range{Start: logKey(&start, from), Limit: []byte{raftLogPrefix + 1}}, nil)
	defer it.Release()
	if !it.First() {
		return 0, false, it.Error()
	}
	index, err = logKeyIndex(it.Key())
	return index, err == nil, err
}

// seekLast returns the highest stored index <= upTo; ok is false if none.
func (s *RaftStore) seekLast(upTo uint64) (index uint64, ok bool, err error) {
	r := &util.Range{Start: []byte{raftLogPrefix}}
	if upTo == math.MaxUint64 {
		r.Limit = []byte{raftLogPrefix + 1}
	} else {
		var end [9]byte
		r.Limit = logKey(&end, upTo+1)
	}
	it := s.db.ldb.NewIterator(r, nil)
	defer it.Release()
	if !it.Last() {
		return 0, false, it.Error()
	}
	index, err = logKeyIndex(it.Key())
	return index, err == nil, err
}

// Set stores a stable value, durably.
func (s *RaftStore) Set(key, val []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.db.ldb.Put(stableKey(key), val, syncWriteOptions)
}

// Get returns a stable value, or ErrKeyNotFound ("not found").
func (s *RaftStore) Get(key []byte) ([]byte, error) {
	v, err := s.db.Get(stableKey(key))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	return v, err
}

// SetUint64 stores a stable integer (8 bytes big-endian), durably.
func (s *RaftStore) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns a stable integer, or 0 and ErrKeyNotFound
// ("not found").
func (s *RaftStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: stable key %q holds %d bytes, not a uint64", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func logKey(buf *[9]byte, index uint64) []byte {
	buf[0] = raftLogPrefix
	binary.BigEndian.PutUint64(buf[1:], index)
	return buf[:]
}

func logKeyIndex(key []byte) (uint64, error) {
	if len(key) != 9 || key[0] != raftLogPrefix {
		return 0, fmt.Errorf("store: malformed raft log key %x", key)
	}
	return binary.BigEndian.Uint64(key[1:]), nil
}

func stableKey(key []byte) []byte {
	return append([]byte{raftStablePrefix}, key...)
}
