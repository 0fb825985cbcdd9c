// Package store is the on-disk storage of a node: a goleveldb key-value
// database for go-ethereum's chain data (DB) and hashicorp/raft's log and
// stable stores (RaftStore), every file of them encrypted and
// authenticated, and raft's snapshots likewise (SnapshotStore).
//
// # Encryption at rest
//
// With Options.Keys set (a node always sets it), every file goleveldb
// writes through its storage (tables, journals, manifests) is a header
// page and 4 KiB blocks of AES-256-GCM (crypt.go has the layout). A file's
// keys derive (HKDF-SHA256) from the ledger secret of the epoch its header
// names, a random salt, Options.Identity (which node, which database) and
// goleveldb's file type and number; a block's additional data is its index
// and whether it ends the file. So nothing of a key or value is on disk in
// plaintext, and a flipped byte, a block moved or swapped, a file cut
// short, renamed, copied from another database or node, or written under
// another secret, fails authentication. Two files stay plaintext:
// CURRENT (the manifest's name) and LOCK; goleveldb's informational LOG is
// not written (it quotes keys).
//
//   - Open authenticates every block of every file before it opens the
//     database, and refuses with a *CorruptError naming the file and
//     block; the cost is one read of the database at start.
//   - A block that fails later (the disk changed under a running node) fails
//     that read and every later one, and Options.OnCorrupt is called once:
//     a node stops, because go-ethereum's readers turn a failed read into
//     an absent block.
//   - New files use Keys.Current; old files stay readable while Keys holds
//     their epoch. goleveldb rewrites files as it compacts, so old epochs
//     fade, but a table it only moves between levels keeps its epoch: a
//     node keeps every epoch's secret.
//   - Limit: the live journal and manifest are appended, so a copy of the
//     same file taken earlier (a prefix ending on a block boundary) looks
//     like a crash and is accepted here; the node catches such a rollback
//     of its chain above this package (the applied index it records in
//     its sealed keyring, eth.AppliedMark).
//   - FileEpoch reads a file's epoch without keys (recovery learns which
//     secrets a datadir needs).
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
