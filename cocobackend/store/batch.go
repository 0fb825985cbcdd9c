package store

import (
	"bytes"

	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// batch buffers writes in one goleveldb batch; Write commits them in one
// atomic write. A batch is not safe for concurrent use.
type batch struct {
	db   *DB
	b    *leveldb.Batch
	size int
}

// Put queues storing value under key. The arguments are copied.
func (b *batch) Put(key, value []byte) error {
	b.b.Put(key, value)
	b.size += len(key) + len(value)
	return nil
}

// Delete queues deleting key. The argument is copied.
func (b *batch) Delete(key []byte) error {
	b.b.Delete(key)
	b.size += len(key)
	return nil
}

// DeleteRange queues deleting the keys in [start, end) (nil bounds are
// open). goleveldb has no range tombstones, so the range is resolved now
// into point deletions of (1) the keys this batch already puts in the
// range and (2) the keys the database holds in the range at this moment;
// keys written to the database by others after this call are not covered.
// At most 10000 database keys are queued per call: if the range holds more,
// their deletions stay queued and ethdb.ErrTooManyKeys is returned, and the
// caller writes the batch and repeats the call.
func (b *batch) DeleteRange(start, end []byte) error {
	if end != nil && bytes.Compare(start, end) >= 0 {
		return nil // empty range
	}
	inRange := func(k []byte) bool {
		return bytes.Compare(k, start) >= 0 && (end == nil || bytes.Compare(k, end) < 0)
	}
	// Keys put earlier in this batch. Collected first: the batch must not
	// grow while it is being replayed.
	var pending keyCollector
	pending.match = inRange
	if err := b.b.Replay(&pending); err != nil {
		return err
	}
	for _, k := range pending.keys {
		b.Delete(k)
	}
	it := b.db.ldb.NewIterator(&util.Range{Start: start, Limit: end}, nil)
	defer it.Release()
	for n := 0; it.Next(); n++ {
		if n == deleteRangeLimit {
			return ethdb.ErrTooManyKeys
		}
		b.Delete(it.Key())
	}
	return it.Error()
}

// ValueSize returns the bytes queued: keys and values of puts, keys of
// deletions.
func (b *batch) ValueSize() int { return b.size }

// Write commits the batch in one atomic write: after a crash either all of
// it or none of it is present, and readers never see part of it. It is
// fsynced only if the DB was opened with Options.SyncWrites; use
// DB.WriteSync otherwise. The batch is left intact (Reset it to reuse it).
func (b *batch) Write() error {
	return b.db.ldb.Write(b.b, b.db.wo)
}

// Reset empties the batch for reuse.
func (b *batch) Reset() {
	b.b.Reset()
	b.size = 0
}

// Replay applies the queued operations, in order, to w. It stops at the
// first error and returns it.
func (b *batch) Replay(w ethdb.KeyValueWriter) error {
	r := replayer{w: w}
	if err := b.b.Replay(&r); err != nil {
		return err
	}
	return r.err
}

// Close releases nothing: a batch holds only memory.
func (b *batch) Close() {}

// replayer adapts an ethdb.KeyValueWriter to goleveldb's BatchReplay.
type replayer struct {
	w   ethdb.KeyValueWriter
	err error
}

func (r *replayer) Put(key, value []byte) {
	if r.err == nil {
		r.err = r.w.Put(key, value)
	}
}

func (r *replayer) Delete(key []byte) {
	if r.err == nil {
		r.err = r.w.Delete(key)
	}
}

// keyCollector gathers copies of the keys of the put records that match.
type keyCollector struct {
	match func([]byte) bool
	keys  [][]byte
}

func (c *keyCollector) Put(key, _ []byte) {
	if c.match(key) {
		c.keys = append(c.keys, bytes.Clone(key))
	}
}

func (c *keyCollector) Delete([]byte) {}
