package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/ethdb/dbtest"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/syndtr/goleveldb/leveldb"
)

func openTestDB(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestDatabaseSuite runs go-ethereum's conformance suite for key-value
// stores, with plain and with fsynced writes.
func TestDatabaseSuite(t *testing.T) {
	for _, opts := range []Options{{}, {SyncWrites: true}} {
		t.Run(fmt.Sprintf("SyncWrites=%t", opts.SyncWrites), func(t *testing.T) {
			dbtest.TestDatabaseSuite(t, func() ethdb.KeyValueStore {
				return openTestDB(t, t.TempDir(), opts)
			})
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	if o := db.Options(); o.CacheMiB != DefaultCacheMiB || o.Handles != DefaultHandles {
		t.Errorf("defaults: got %+v", o)
	}
	lo := db.Options().leveldbOptions()
	if lo.BlockCacheCapacity != 32<<20 || lo.WriteBuffer != 16<<20 || lo.OpenFilesCacheCapacity != 256 {
		t.Errorf("goleveldb options: block cache %d, write buffer %d, handles %d",
			lo.BlockCacheCapacity, lo.WriteBuffer, lo.OpenFilesCacheCapacity)
	}
	if o := (Options{CacheMiB: 1, Handles: 1}).withDefaults(); o.CacheMiB != MinCacheMiB || o.Handles != MinHandles {
		t.Errorf("floors: got %+v", o)
	}
}

func TestGetMissing(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	if _, err := db.Get([]byte("nope")); !errors.Is(err, ErrNotFound) || !errors.Is(err, leveldb.ErrNotFound) {
		t.Fatalf("Get missing: got %v, want ErrNotFound", err)
	}
	if ok, err := db.Has([]byte("nope")); ok || err != nil {
		t.Fatalf("Has missing: got %t, %v", ok, err)
	}
}

func TestCloseTwice(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("first close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := db.SyncKeyValue(); !errors.Is(err, ErrClosed) {
		t.Fatalf("SyncKeyValue after close: got %v", err)
	}
	if _, err := db.NewSnapshot(); err == nil {
		t.Fatal("NewSnapshot after close succeeded")
	}
	it := db.NewIterator(nil, nil)
	if it.Next() || it.Error() == nil {
		t.Fatal("iterator after close: want no items and an error")
	}
	it.Release()
}

func TestReopenPersistence(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := db.Put(fmt.Appendf(nil, "put-%03d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	b := db.NewBatch()
	for i := 0; i < 100; i++ {
		b.Put(fmt.Appendf(nil, "batch-%03d", i), fmt.Appendf(nil, "b%d", i))
	}
	if err := b.Write(); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete([]byte("put-050")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	check := func(db *DB) {
		t.Helper()
		for i := 0; i < 100; i++ {
			v, err := db.Get(fmt.Appendf(nil, "put-%03d", i))
			if i == 50 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("deleted key: got %q, %v", v, err)
				}
				continue
			}
			if err != nil || string(v) != fmt.Sprintf("v%d", i) {
				t.Fatalf("put-%03d: got %q, %v", i, v, err)
			}
			if v, err := db.Get(fmt.Appendf(nil, "batch-%03d", i)); err != nil || string(v) != fmt.Sprintf("b%d", i) {
				t.Fatalf("batch-%03d: got %q, %v", i, v, err)
			}
		}
	}
	db = openTestDB(t, dir, Options{})
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	ro := openTestDB(t, dir, Options{ReadOnly: true})
	check(ro)
	if err := ro.Put([]byte("x"), []byte("y")); err == nil {
		t.Fatal("Put on a read-only DB succeeded")
	}
	if err := ro.SyncKeyValue(); err != nil {
		t.Fatalf("SyncKeyValue on a read-only DB: %v", err)
	}
}

func TestReadOnlyMissing(t *testing.T) {
	if db, err := Open(t.TempDir()+"/absent", Options{ReadOnly: true}); err == nil {
		db.Close()
		t.Fatal("read-only open of a missing database succeeded")
	}
}

// TestSnapshotIsolation checks that a snapshot keeps showing the data of
// its creation while the database is rewritten, including while a writer
// runs concurrently with a full streaming copy.
func TestSnapshotIsolation(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	const n = 2000
	for i := 0; i < n; i++ {
		if err := db.Put(testKey(i), testValue(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := db.NewSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()

	// Rewrite everything concurrently with the copy: overwrite, delete,
	// insert new keys, in batches and single writes.
	var wg sync.WaitGroup
	var stop atomic.Bool
	firstRound := make(chan struct{})
	var once sync.Once
	signal := func() { once.Do(func() { close(firstRound) }) }
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer signal() // also on failure, so the copy never waits forever
		for round := 1; !stop.Load() && round < 50; round++ {
			b := db.NewBatch()
			for i := 0; i < n; i += 3 {
				b.Put(testKey(i), testValue(i, round))
				b.Delete(testKey(i + 1))
				b.Put(fmt.Appendf(nil, "new-%d-%d", round, i), nil)
			}
			if err := b.Write(); err != nil {
				t.Error(err)
				return
			}
			signal()
		}
	}()

	// Stream a copy from the snapshot.
	copyDB := memorydb.New()
	it := snap.NewIterator(nil, nil)
	for i := 0; it.Next(); i++ {
		if i == n/2 {
			<-firstRound // a whole rewrite lands in the middle of the copy
		}
		if err := copyDB.Put(it.Key(), it.Value()); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	it.Release()
	stop.Store(true)
	wg.Wait()

	if l := copyDB.Len(); l != n {
		t.Fatalf("snapshot copy has %d keys, want %d", l, n)
	}
	for i := 0; i < n; i++ {
		v, err := copyDB.Get(testKey(i))
		if err != nil || !bytes.Equal(v, testValue(i, 0)) {
			t.Fatalf("copy key %d: got %x, %v", i, v, err)
		}
		if v, err := snap.Get(testKey(i)); err != nil || !bytes.Equal(v, testValue(i, 0)) {
			t.Fatalf("snapshot Get %d: got %x, %v", i, v, err)
		}
		if ok, err := snap.Has(testKey(i)); !ok || err != nil {
			t.Fatalf("snapshot Has %d: got %t, %v", i, ok, err)
		}
	}
	// The database itself moved on.
	if ok, _ := db.Has(testKey(1)); ok {
		t.Fatal("database still has a deleted key")
	}
	if v, _ := db.Get(testKey(0)); bytes.Equal(v, testValue(0, 0)) {
		t.Fatal("database still has an overwritten value")
	}
	if ok, _ := snap.Has([]byte("new-1-0")); ok {
		t.Fatal("snapshot sees a key written after it")
	}
	if _, err := snap.Get([]byte("new-1-0")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot Get of a later key: got %v", err)
	}
	// Prefix and start work on snapshots too.
	pit := snap.NewIterator([]byte("k"), testKey(n - 3)[1:])
	if got := countKeys(t, pit); got != 3 {
		t.Fatalf("snapshot prefix iterator: %d keys, want 3", got)
	}

	snap.Release()
	snap.Release() // harmless
	if _, err := snap.Get(testKey(0)); err == nil {
		t.Fatal("Get on a released snapshot succeeded")
	}
}

// TestBatchAtomicVisibility checks that readers never see part of a batch:
// every batch sets all keys to the same value, so any consistent view has
// one value throughout. The large batch exceeds the write buffer and takes
// goleveldb's transaction path.
func TestBatchAtomicVisibility(t *testing.T) {
	for _, keys := range []int{200, 12000} {
		t.Run(fmt.Sprint(keys), func(t *testing.T) {
			db := openTestDB(t, t.TempDir(), Options{CacheMiB: 16}) // 4 MiB write buffer
			value := func(round int) []byte {
				v := make([]byte, 500)
				binary.BigEndian.PutUint64(v, uint64(round))
				return v
			}
			write := func(round int) error {
				b := db.NewBatch()
				for i := 0; i < keys; i++ {
					b.Put(testKey(i), value(round))
				}
				return b.Write()
			}
			if err := write(0); err != nil {
				t.Fatal(err)
			}
			const rounds = 20
			done := make(chan error, 1)
			go func() {
				for r := 1; r <= rounds; r++ {
					if err := write(r); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			check := func(it ethdb.Iterator) (last uint64) {
				defer it.Release()
				n := 0
				var first []byte
				for it.Next() {
					if n == 0 {
						first = bytes.Clone(it.Value())
					} else if !bytes.Equal(it.Value(), first) {
						t.Fatalf("partial batch visible: key %x has round %d, key 0 has round %d",
							it.Key(), binary.BigEndian.Uint64(it.Value()), binary.BigEndian.Uint64(first))
					}
					n++
				}
				if n != keys {
					t.Fatalf("saw %d keys, want %d", n, keys)
				}
				return binary.BigEndian.Uint64(first)
			}
			for finished := false; !finished; {
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
					finished = true
				default:
				}
				check(db.NewIterator(nil, nil))
				snap, err := db.NewSnapshot()
				if err != nil {
					t.Fatal(err)
				}
				check(snap.NewIterator(nil, nil))
				snap.Release()
			}
			if last := check(db.NewIterator(nil, nil)); last != rounds {
				t.Fatalf("final round %d, want %d", last, rounds)
			}
		})
	}
}

func TestBatchReuseAndSize(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	b := db.NewBatchWithSize(1024)
	b.Put([]byte("ab"), []byte("cde"))
	b.Delete([]byte("fg"))
	if got := b.ValueSize(); got != 7 {
		t.Fatalf("ValueSize %d, want 7", got)
	}
	b.Reset()
	if got := b.ValueSize(); got != 0 {
		t.Fatalf("ValueSize after Reset %d", got)
	}
	if err := b.Write(); err != nil { // empty batch
		t.Fatal(err)
	}
	b.Close()
}

// TestBatchDeleteRange covers what the conformance suite does not: a range
// deletion also removes keys put earlier in the same batch, keys put after
// it in the batch survive, and the per-call limit with ErrTooManyKeys.
func TestBatchDeleteRange(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	db.Put([]byte("b1"), nil)
	b := db.NewBatch()
	b.Put([]byte("b2"), nil)
	b.Put([]byte("c1"), nil)
	if err := b.DeleteRange([]byte("b"), []byte("c")); err != nil {
		t.Fatal(err)
	}
	b.Put([]byte("b3"), nil)
	if err := b.Write(); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, db.NewIterator(nil, nil)); got != 2 {
		t.Fatalf("%d keys left, want 2 (b3, c1)", got)
	}
	for _, k := range []string{"b3", "c1"} {
		if ok, _ := db.Has([]byte(k)); !ok {
			t.Fatalf("%s missing", k)
		}
	}

	// More keys than one call removes.
	const n = 2*deleteRangeLimit + 5
	fill := db.NewBatch()
	for i := 0; i < n; i++ {
		fill.Put(testKey(i), nil)
	}
	if err := fill.Write(); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for {
		calls++
		err := db.DeleteRange([]byte("k"), []byte("l"))
		if err == nil {
			break
		}
		if !errors.Is(err, ethdb.ErrTooManyKeys) {
			t.Fatal(err)
		}
	}
	if calls != 3 {
		t.Fatalf("DeleteRange took %d calls, want 3", calls)
	}
	if got := countKeys(t, db.NewIterator([]byte("k"), nil)); got != 0 {
		t.Fatalf("%d keys left", got)
	}
}

func TestWriteSync(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir, Options{})
	b := db.NewBatch()
	b.Put([]byte("own"), []byte("1"))
	before := db.stor.syncs.Load()
	if err := db.WriteSync(b); err != nil {
		t.Fatal(err)
	}
	if db.stor.syncs.Load() == before {
		t.Fatal("WriteSync did not fsync the journal")
	}
	foreign := memorydb.New().NewBatch()
	foreign.Put([]byte("foreign"), []byte("2"))
	foreign.Delete([]byte("own"))
	if err := db.WriteSync(foreign); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("foreign")); err != nil || string(v) != "2" {
		t.Fatalf("foreign batch: got %q, %v", v, err)
	}
	if ok, _ := db.Has([]byte("own")); ok {
		t.Fatal("foreign batch deletion not applied")
	}
}

// TestSyncKeyValue checks that SyncKeyValue fsyncs the journal, that a
// journal retired by a memtable rotation is fsynced when retired, and that
// no marker key appears in the keyspace.
func TestSyncKeyValue(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{CacheMiB: 16}) // 4 MiB write buffer
	if err := db.Put([]byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	before := db.stor.syncs.Load()
	if err := db.SyncKeyValue(); err != nil {
		t.Fatal(err)
	}
	if db.stor.syncs.Load() == before {
		t.Fatal("SyncKeyValue did not fsync")
	}
	// Fill past the write buffer: the memtable and its journal rotate, and
	// the retired journal is fsynced without any explicit sync.
	before = db.stor.syncs.Load()
	val := make([]byte, 1<<10)
	for i := 0; i < 6<<10; i++ {
		if err := db.Put(testKey(i), val); err != nil {
			t.Fatal(err)
		}
	}
	if db.stor.syncs.Load() == before {
		t.Fatal("retired journal was not fsynced")
	}
	db.stor.mu.Lock()
	open := len(db.stor.journals)
	db.stor.mu.Unlock()
	if open < 1 || open > 2 {
		t.Fatalf("%d journals tracked, want 1 or 2", open)
	}
	if err := db.SyncKeyValue(); err != nil {
		t.Fatal(err)
	}
	if got := countKeys(t, db.NewIterator(nil, nil)); got != 6<<10+1 {
		t.Fatalf("%d keys, want %d (no marker key)", got, 6<<10+1)
	}
}

func TestPrefixRange(t *testing.T) {
	for _, tc := range []struct {
		prefix, want []byte
	}{
		{nil, nil},
		{[]byte{}, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte("ab"), []byte("ac")},
	} {
		if got := prefixSuccessor(tc.prefix); !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("prefixSuccessor(%x) = %x, want %x", tc.prefix, got, tc.want)
		}
	}
	db := openTestDB(t, t.TempDir(), Options{})
	for _, k := range [][]byte{{0xff}, {0xff, 0xff}, {0xff, 0xff, 0x01}, {0xfe}} {
		db.Put(k, nil)
	}
	if got := countKeys(t, db.NewIterator([]byte{0xff, 0xff}, nil)); got != 2 {
		t.Fatalf("0xffff prefix: %d keys, want 2", got)
	}
	if got := countKeys(t, db.NewIterator([]byte{0xff}, []byte{0xff})); got != 2 {
		t.Fatalf("0xff prefix from 0xff: %d keys, want 2", got)
	}
}

func TestStatAndCompact(t *testing.T) {
	db := openTestDB(t, t.TempDir(), Options{})
	for i := 0; i < 1000; i++ {
		db.Put(testKey(i), testValue(i, 0))
	}
	if err := db.Compact(nil, nil); err != nil {
		t.Fatal(err)
	}
	s, err := db.Stat()
	if err != nil || s == "" {
		t.Fatalf("Stat: %q, %v", s, err)
	}
}

func testKey(i int) []byte { return fmt.Appendf(nil, "k%08d", i) }

func testValue(i, round int) []byte { return fmt.Appendf(nil, "v%d-%d", i, round) }

func countKeys(t testing.TB, it ethdb.Iterator) int {
	t.Helper()
	defer it.Release()
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkBatchWrite writes batches of 1000 keys (32 bytes, pseudo-random)
// with 500-byte values; the time includes filling the batch.
func BenchmarkBatchWrite(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("1000x500B/sync=%t", sync), func(b *testing.B) {
			db := openTestDB(b, b.TempDir(), Options{})
			const keys, vsize = 1000, 500
			value := bytes.Repeat([]byte{0xab}, vsize)
			key := make([]byte, 32)
			batch := db.NewBatchWithSize(keys * (32 + vsize + 16))
			x := uint64(0x9e3779b97f4a7c15)
			b.SetBytes(keys * (32 + vsize))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch.Reset()
				for k := 0; k < keys; k++ {
					for j := 0; j < 32; j += 8 { // xorshift64
						x ^= x << 13
						x ^= x >> 7
						x ^= x << 17
						binary.LittleEndian.PutUint64(key[j:], x)
					}
					batch.Put(key, value)
				}
				var err error
				if sync {
					err = db.WriteSync(batch)
				} else {
					err = batch.Write()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
