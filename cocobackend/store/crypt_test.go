package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/dbtest"
)

// testKeys holds deterministic secrets for epochs 1..n; new files go
// under the highest.
type testKeys struct {
	mu      sync.Mutex
	current uint64
	secrets map[uint64][]byte
}

func newTestKeys(n uint64) *testKeys {
	k := &testKeys{secrets: make(map[uint64][]byte)}
	for e := uint64(1); e <= n; e++ {
		k.add(e)
	}
	return k
}

func (k *testKeys) add(e uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := sha256.Sum256([]byte(fmt.Sprintf("test secret %d", e)))
	k.secrets[e] = s[:]
	k.current = max(k.current, e)
}

func (k *testKeys) drop(e uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.secrets, e)
}

func (k *testKeys) Current() (uint64, []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current, k.secrets[k.current]
}

func (k *testKeys) Secret(e uint64) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.secrets[e]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("no secret for epoch %d", e)
}

func encOpts(k *testKeys, id string) Options {
	return Options{Keys: k, Identity: id, CacheMiB: 16}
}

func TestDatabaseSuiteEncrypted(t *testing.T) {
	dbtest.TestDatabaseSuite(t, func() ethdb.KeyValueStore {
		return openTestDB(t, t.TempDir(), encOpts(newTestKeys(1), "suite"))
	})
}

// fillKnown writes recognisable keys and values, compacts some into
// tables, and leaves the rest in the journal.
func fillKnown(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := db.Put([]byte(fmt.Sprintf("KNOWNKEY-%06d", i)), bytes.Repeat([]byte(fmt.Sprintf("KNOWNVALUE-%06d;", i)), 8)); err != nil {
			t.Fatal(err)
		}
		if i == n/2 {
			if err := db.Compact(nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkKnown(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		v, err := db.Get([]byte(fmt.Sprintf("KNOWNKEY-%06d", i)))
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if !bytes.Equal(v, bytes.Repeat([]byte(fmt.Sprintf("KNOWNVALUE-%06d;", i)), 8)) {
			t.Fatalf("key %d: wrong value", i)
		}
	}
}

// grepDir counts the files under dir that contain needle.
func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	return hits
}

func TestEncryptedFilesHoldNoPlaintext(t *testing.T) {
	for _, enc := range []bool{false, true} {
		t.Run(fmt.Sprintf("encrypted=%t", enc), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{}
			if enc {
				opts = encOpts(newTestKeys(1), "grep")
			}
			db := openTestDB(t, dir, opts)
			fillKnown(t, db, 2000)
			db.Close()
			for _, needle := range []string{"KNOWNKEY-", "KNOWNVALUE-", "NOWNKEY", "VALUE-0"} {
				hits := grepDir(t, dir, []byte(needle))
				if enc && len(hits) > 0 {
					t.Fatalf("%q found in %v", needle, hits)
				}
				if !enc && len(hits) == 0 { // the check itself works
					t.Fatalf("%q not found in a plaintext database", needle)
				}
			}
			db = openTestDB(t, dir, opts)
			checkKnown(t, db, 2000)
		})
	}
}

// dbFiles returns the database's files of a suffix (".ldb", ".log",
// "MANIFEST-").
func dbFiles(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s in %s (%v)", pattern, dir, err)
	}
	return m
}

// makeDB makes a closed encrypted database with tables, a journal and a
// manifest.
func makeDB(t *testing.T, keys *testKeys, id string) string {
	dir := t.TempDir()
	db := openTestDB(t, dir, encOpts(keys, id))
	fillKnown(t, db, 3000)
	db.Close()
	return dir
}

// wantCorrupt opens dir and expects a refusal that names file.
func wantCorrupt(t *testing.T, dir string, opts Options, file, reason string) {
	t.Helper()
	db, err := Open(dir, opts)
	if err == nil {
		db.Close()
		t.Fatalf("opened a database with a damaged %s", file)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("error is not a CorruptError: %v", err)
	}
	if file != "" && (ce.File != file || !strings.Contains(err.Error(), filepath.Base(file))) {
		t.Fatalf("error names %s, want %s: %v", ce.File, file, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("error %q does not say %q", err, reason)
	}
}

func TestTamperRefusesToOpen(t *testing.T) {
	keys := newTestKeys(1)
	opts := encOpts(keys, "tamper")
	edit := func(path string, f func([]byte) []byte) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, pattern := range []string{"*.ldb", "*.log", "MANIFEST-*"} {
		t.Run("flip/"+pattern, func(t *testing.T) {
			// A byte in the header, in the first block, in the middle and
			// in the last byte.
			for _, where := range []string{"header", "padding", "first", "middle", "last"} {
				dir := makeDB(t, keys, "tamper")
				file := dbFiles(t, dir, pattern)[0]
				edit(file, func(b []byte) []byte {
					off := map[string]int{"header": 9, "padding": 200, "first": headerSize + 20, "middle": headerSize + (len(b)-headerSize)/2, "last": len(b) - 1}[where]
					b[off] ^= 0x01
					return b
				})
				wantCorrupt(t, dir, opts, file, "")
			}
		})
	}
	t.Run("truncate/table at a block boundary", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		file := largest(t, dbFiles(t, dir, "*.ldb"))
		edit(file, func(b []byte) []byte { return b[:headerSize+pageSize] })
		wantCorrupt(t, dir, opts, file, "cut short")
	})
	t.Run("truncate/table inside a block", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		file := largest(t, dbFiles(t, dir, "*.ldb"))
		edit(file, func(b []byte) []byte { return b[:len(b)-100] })
		wantCorrupt(t, dir, opts, file, "")
	})
	t.Run("truncate/header", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		file := dbFiles(t, dir, "*.log")[0]
		edit(file, func(b []byte) []byte { return b[:100] })
		wantCorrupt(t, dir, opts, file, "truncated")
	})
	t.Run("swap two blocks", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		file := largest(t, dbFiles(t, dir, "*.ldb"))
		edit(file, func(b []byte) []byte {
			a, c := b[headerSize:headerSize+pageSize], b[headerSize+pageSize:headerSize+2*pageSize]
			tmp := bytes.Clone(a)
			copy(a, c)
			copy(c, tmp)
			return b
		})
		wantCorrupt(t, dir, opts, file, "fails authentication")
	})
	t.Run("file from another database", func(t *testing.T) {
		// Same keys, same file name, another node's database.
		dir := makeDB(t, keys, "tamper")
		other := makeDB(t, keys, "other-node")
		file := dbFiles(t, dir, "*.log")[0]
		src := filepath.Join(other, filepath.Base(file))
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		edit(file, func([]byte) []byte { return b })
		wantCorrupt(t, dir, opts, file, "another database")
	})
	t.Run("file renamed within the database", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		tables := dbFiles(t, dir, "*.ldb")
		if len(tables) < 2 {
			t.Skip("one table only")
		}
		b, err := os.ReadFile(tables[1])
		if err != nil {
			t.Fatal(err)
		}
		edit(tables[0], func([]byte) []byte { return b })
		wantCorrupt(t, dir, opts, tables[0], "")
	})
	t.Run("plaintext file", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		file := dbFiles(t, dir, "*.log")[0]
		edit(file, func(b []byte) []byte { return bytes.Repeat([]byte("plain"), 2000) })
		wantCorrupt(t, dir, opts, file, "not an encrypted")
	})
	t.Run("unknown epoch", func(t *testing.T) {
		dir := makeDB(t, keys, "tamper")
		wantCorrupt(t, dir, encOpts(newTestKeys(0), "tamper"), "", "epoch 1, whose ledger secret this node does not hold")
	})
}

func largest(t *testing.T, files []string) string {
	best, size := "", int64(-1)
	for _, f := range files {
		fi, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // compacted away meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > size {
			best, size = f, fi.Size()
		}
	}
	return best
}

func TestOpenWithoutKeysOrWithoutEncryption(t *testing.T) {
	dir := makeDB(t, newTestKeys(1), "x")
	if db, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "encrypted and no keys") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("opened an encrypted database without keys: %v", err)
	}
	plain := t.TempDir()
	db := openTestDB(t, plain, Options{})
	fillKnown(t, db, 10)
	db.Close()
	if db, err := Open(plain, encOpts(newTestKeys(1), "x")); err == nil || !strings.Contains(err.Error(), "not an encrypted cocogeth file") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("opened a plaintext database as encrypted: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{Keys: newTestKeys(1)}); err == nil {
		t.Fatal("opened an encrypted database without identity")
	}
}

// A byte damaged while the node runs is met by a read: the read fails,
// OnCorrupt fires once, and every later read fails too.
func TestCorruptionAtRunTimeIsSticky(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	var first error
	opts := encOpts(newTestKeys(1), "run")
	opts.OnCorrupt = func(err error) { calls.Add(1); first = err }
	db := openTestDB(t, dir, opts)
	fillKnown(t, db, 3000)
	if err := db.Compact(nil, nil); err != nil {
		t.Fatal(err)
	}
	file := largest(t, dbFiles(t, dir, "*.ldb"))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[headerSize+3*pageSize+100] ^= 0x80
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var failed int
	for i := 0; i < 3000; i++ {
		v, err := db.Get([]byte(fmt.Sprintf("KNOWNKEY-%06d", i)))
		if err != nil {
			failed++
			continue
		}
		if !bytes.Equal(v, bytes.Repeat([]byte(fmt.Sprintf("KNOWNVALUE-%06d;", i)), 8)) {
			t.Fatalf("key %d: a wrong value was served", i)
		}
	}
	if failed == 0 || calls.Load() != 1 {
		t.Fatalf("%d reads failed, OnCorrupt called %d times", failed, calls.Load())
	}
	var ce *CorruptError
	if !errors.As(first, &ce) || ce.File != file || ce.Block != 3 {
		t.Fatalf("OnCorrupt got %v, want block 3 of %s", first, file)
	}
}

// Files of an old epoch stay readable while its secret is kept, and new
// files use the new epoch. A table goleveldb only moves between levels
// keeps its epoch, so a node keeps every epoch's secret.
func TestEpochRollover(t *testing.T) {
	dir := t.TempDir()
	keys := newTestKeys(1)
	db := openTestDB(t, dir, encOpts(keys, "epochs"))
	fillKnown(t, db, 2000)
	old := map[string]bool{}
	for _, f := range dbFiles(t, dir, "*") {
		old[filepath.Base(f)] = true
	}
	keys.add(2)
	for i := 0; i < 100; i++ {
		db.Put([]byte(fmt.Sprintf("epoch2-%d", i)), []byte("v"))
	}
	checkKnown(t, db, 2000)
	db.Close()
	db = openTestDB(t, dir, encOpts(keys, "epochs"))
	checkKnown(t, db, 2000)
	if err := db.Compact(nil, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var newFiles, oldFiles int
	for _, pattern := range []string{"*.ldb", "*.log", "MANIFEST-*"} {
		for _, f := range dbFiles(t, dir, pattern) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e := binary.BigEndian.Uint64(b[8:16])
			if old[filepath.Base(f)] {
				oldFiles++
				if e != 1 {
					t.Fatalf("%s, written before the rollover, is under epoch %d", f, e)
				}
			} else {
				newFiles++
				if e != 2 {
					t.Fatalf("%s, written after the rollover, is under epoch %d", f, e)
				}
			}
		}
	}
	if newFiles == 0 {
		t.Fatal("no file written after the rollover")
	}
	db = openTestDB(t, dir, encOpts(keys, "epochs"))
	checkKnown(t, db, 2000)
	db.Close()
	keys.drop(1)
	if oldFiles > 0 {
		wantCorrupt(t, dir, encOpts(keys, "epochs"), "", "epoch 1")
	}
}
