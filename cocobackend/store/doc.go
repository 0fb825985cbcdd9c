// Package store is the on-disk storage of a node: a goleveldb key-value
// database for go-ethereum's chain data (DB) and hashicorp/raft's log and
// stable stores (RaftStore).
//
// # DB
//
// DB implements ethdb.KeyValueStore (checked at compile time) and passes
// go-ethereum's dbtest conformance suite. Its contract:
//
//   - Get of a missing key returns ErrNotFound (goleveldb's not-found
//     error); Has returns (false, nil). Returned values are copies.
//   - A batch's Write is one goleveldb write: readers and a restart after a
//     crash see all of it or none of it. Batches are not safe for
//     concurrent use; the DB is.
//   - Writes return once in the write-ahead log (flushed to the OS, so they
//     survive a process crash) but are not fsynced, unless the DB was opened
//     with Options.SyncWrites or the batch is written with WriteSync.
//     SyncKeyValue makes every write completed before it durable (it fsyncs
//     the open write-ahead log files; retired ones are fsynced on
//     retirement), without writing anything into the keyspace. A failed
//     fsync is sticky: every later SyncKeyValue returns it.
//   - DeleteRange (on the DB or a batch) resolves the range into point
//     deletions, at most 10000 stored keys per call, returning
//     ethdb.ErrTooManyKeys when more remain, as go-ethereum's leveldb
//     backend does; callers loop. A batch's DeleteRange also deletes the
//     keys put earlier in the same batch.
//   - Iterators and snapshots see a consistent point-in-time view. A
//     Snapshot (NewSnapshot) stays fixed while writes continue, so the whole
//     database can be streamed from it; release it when done.
//   - Close is idempotent; operations after Close return errors (ErrClosed),
//     except NewBatch and batch Put/Delete, which only touch memory.
//   - A database goleveldb reports as corrupted is not repaired by Open.
//
// Options default to a 64 MiB cache (half block cache, a quarter per write
// buffer, as go-ethereum sizes them) and 256 cached file handles.
//
// # RaftStore
//
// RaftStore implements raft.LogStore and raft.StableStore on a DB of its
// own, in a directory of its own (not key prefixes in the chain database):
// raft fsyncs every append, and sharing the chain database's write-ahead
// log would make each of those fsyncs also flush bulk state writes, and
// snapshots of the chain database would carry the raft log.
//
// Inside that database, log entries are under 'l' + the 8-byte big-endian
// index (so key order is index order), stable values under 's' + raft's key,
// and "v" holds the format version (1); opening a non-empty database
// without it fails. Entries are encoded compactly (see logFormatV1): a
// version byte, then index, term, type, data, extensions and AppendedAt.
//
// Every mutation (StoreLog, StoreLogs, DeleteRange, Set, SetUint64) is one
// atomic write, fsynced before it returns, so raft may acknowledge what it
// stored. FirstIndex and LastIndex are kept in memory, recovered at open by
// seeking the first and last log keys. GetLog of a missing index returns
// raft.ErrLogNotFound; Get and GetUint64 of a missing key return
// ErrKeyNotFound, whose text "not found" is what hashicorp/raft checks.
package store
