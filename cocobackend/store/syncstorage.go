package store

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/syndtr/goleveldb/leveldb/storage"
)

// journalSyncStorage wraps goleveldb's file storage to make SyncKeyValue
// possible without writing a marker key into the user's keyspace.
//
// goleveldb appends every write to the current journal (write-ahead log)
// file and flushes it to the OS before the write returns, but fsyncs it
// only for writes with Sync set. It also never fsyncs a journal it retires
// when the memtable rotates: that journal's content is durable only once
// the memtable has been compacted into a table. So this wrapper
//
//   - tracks every journal file goleveldb has open, and fsyncs all of them
//     on syncJournals (SyncKeyValue);
//   - fsyncs a journal before goleveldb closes it (rotation or DB close), so
//     a write is always in a tracked open file or in an fsynced one;
//   - fsyncs the directory once per journal, on its first fsync, so the new
//     file's directory entry is durable too.
//
// fsync errors are sticky: once one fails, dirty pages may have been
// dropped, so a later successful fsync proves nothing.
type journalSyncStorage struct {
	storage.Storage
	dir string

	mu       sync.Mutex
	journals map[*journalFile]struct{} // open journal files
	err      error                     // first fsync failure

	syncs atomic.Uint64 // journal fsyncs done, for tests
}

func newJournalSyncStorage(s storage.Storage, dir string) *journalSyncStorage {
	return &journalSyncStorage{Storage: s, dir: dir, journals: make(map[*journalFile]struct{})}
}

// Create wraps journal files; other files are goleveldb's business (it
// fsyncs tables and the manifest itself).
func (s *journalSyncStorage) Create(fd storage.FileDesc) (storage.Writer, error) {
	w, err := s.Storage.Create(fd)
	if err != nil || fd.Type != storage.TypeJournal {
		return w, err
	}
	jf := &journalFile{Writer: w, s: s, fd: fd}
	s.mu.Lock()
	s.journals[jf] = struct{}{}
	s.mu.Unlock()
	return jf, nil
}

// syncJournals fsyncs every open journal file.
func (s *journalSyncStorage) syncJournals() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	for jf := range s.journals {
		if err := jf.sync(); err != nil {
			s.err = err
			return err
		}
	}
	return nil
}

func (s *journalSyncStorage) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// journalFile is a journal being written by goleveldb.
type journalFile struct {
	storage.Writer
	s         *journalSyncStorage
	fd        storage.FileDesc
	dirSynced atomic.Bool
}

// sync fsyncs the file and, the first time, the directory.
func (jf *journalFile) sync() error {
	if err := jf.Writer.Sync(); err != nil {
		return fmt.Errorf("store: fsync %s: %w", jf.fd, err)
	}
	jf.s.syncs.Add(1)
	if !jf.dirSynced.Load() {
		if err := syncDir(jf.s.dir); err != nil {
			return fmt.Errorf("store: fsync directory %s: %w", jf.s.dir, err)
		}
		jf.dirSynced.Store(true)
	}
	return nil
}

// Sync is called by goleveldb for writes with Sync set.
func (jf *journalFile) Sync() error {
	err := jf.sync()
	if err != nil {
		jf.s.fail(err)
	}
	return err
}

// Close fsyncs the journal, stops tracking it, then closes it. Tracking
// stops only after the fsync, so a concurrent syncJournals either syncs the
// file itself or finds it already synced.
func (jf *journalFile) Close() error {
	serr := jf.sync()
	jf.s.mu.Lock()
	delete(jf.s.journals, jf)
	if serr != nil && jf.s.err == nil {
		jf.s.err = serr
	}
	jf.s.mu.Unlock()
	cerr := jf.Writer.Close()
	if serr != nil {
		return serr
	}
	return cerr
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	// Some platforms and filesystems cannot fsync a directory.
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
