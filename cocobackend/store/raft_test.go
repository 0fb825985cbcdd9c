package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftbench "github.com/hashicorp/raft/bench"
)

func openTestRaftStore(t testing.TB, dir string) *RaftStore {
	t.Helper()
	s, err := OpenRaftStore(dir, Options{})
	if err != nil {
		t.Fatalf("open raft store %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testLog(index, term uint64) *raft.Log {
	return &raft.Log{
		Index:      index,
		Term:       term,
		Type:       raft.LogCommand,
		Data:       fmt.Appendf(nil, "data-%d", index),
		Extensions: fmt.Appendf(nil, "ext-%d", index),
		AppendedAt: time.Unix(1700000000+int64(index), int64(index)),
	}
}

func logsEqual(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt) && a.AppendedAt.IsZero() == b.AppendedAt.IsZero()
}

func checkBounds(t *testing.T, s *RaftStore, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if f != first || l != last {
		t.Fatalf("bounds [%d, %d], want [%d, %d]", f, l, first, last)
	}
}

func checkLogs(t *testing.T, s *RaftStore, present []uint64, absent []uint64) {
	t.Helper()
	for _, i := range present {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if want := testLog(i, 1); !logsEqual(&got, want) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, got, want)
		}
	}
	for _, i := range absent {
		var got raft.Log
		if err := s.GetLog(i, &got); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("GetLog(%d) of a missing entry: %v", i, err)
		}
	}
}

func storeRange(t *testing.T, s *RaftStore, lo, hi uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, testLog(i, 1))
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}

func TestRaftLogStore(t *testing.T) {
	s := openTestRaftStore(t, t.TempDir())
	checkBounds(t, s, 0, 0)
	checkLogs(t, s, nil, []uint64{0, 1, math.MaxUint64})

	storeRange(t, s, 1, 10)
	checkBounds(t, s, 1, 10)
	checkLogs(t, s, []uint64{1, 5, 10}, []uint64{0, 11})

	if err := s.DeleteRange(1, 3); err != nil { // prefix (compaction)
		t.Fatal(err)
	}
	checkBounds(t, s, 4, 10)
	if err := s.DeleteRange(8, 20); err != nil { // suffix (conflict truncation)
		t.Fatal(err)
	}
	checkBounds(t, s, 4, 7)
	if err := s.DeleteRange(5, 5); err != nil { // hole
		t.Fatal(err)
	}
	checkBounds(t, s, 4, 7)
	checkLogs(t, s, []uint64{4, 6, 7}, []uint64{1, 3, 5, 8, 10})
	if err := s.DeleteRange(4, 4); err != nil { // first, next one is past the hole
		t.Fatal(err)
	}
	checkBounds(t, s, 6, 7)

	storeRange(t, s, 8, 9) // append
	checkBounds(t, s, 6, 9)
	if err := s.StoreLog(testLog(100, 1)); err != nil { // gap
		t.Fatal(err)
	}
	checkBounds(t, s, 6, 100)
	checkLogs(t, s, []uint64{6, 9, 100}, []uint64{10, 99})
	if err := s.DeleteRange(50, 200); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 6, 9)

	// Overwrite an entry in place.
	repl := testLog(7, 2)
	if err := s.StoreLog(repl); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(7, &got); err != nil || !logsEqual(&got, repl) {
		t.Fatalf("overwritten entry: %+v, %v", got, err)
	}

	if err := s.DeleteRange(0, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	checkLogs(t, s, nil, []uint64{6, 9})

	// Index 0 is a legal (if unused by raft) index: the store must tell it
	// from emptiness.
	if err := s.StoreLog(testLog(0, 1)); err != nil {
		t.Fatal(err)
	}
	checkLogs(t, s, []uint64{0}, []uint64{1})
	storeRange(t, s, 1, 2)
	checkBounds(t, s, 0, 2)
	if err := s.DeleteRange(1, math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	checkLogs(t, s, []uint64{0}, []uint64{1})
	if err := s.DeleteRange(0, 0); err != nil {
		t.Fatal(err)
	}
	checkLogs(t, s, nil, []uint64{0})

	// Empty and inverted calls are no-ops.
	if err := s.StoreLogs(nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(5, 4); err != nil {
		t.Fatal(err)
	}
}

func TestRaftStoreReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenRaftStore(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storeRange(t, s, 5, 50)
	if err := s.DeleteRange(5, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(41, 50); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.LastIndex(); !errors.Is(err, ErrClosed) {
		t.Fatalf("LastIndex after close: %v", err)
	}

	s = openTestRaftStore(t, dir)
	checkBounds(t, s, 10, 40)
	checkLogs(t, s, []uint64{10, 25, 40}, []uint64{9, 41})
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
		t.Fatalf("CurrentTerm after reopen: %d, %v", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-1" {
		t.Fatalf("LastVoteCand after reopen: %q, %v", v, err)
	}
}

func TestRaftStableStore(t *testing.T) {
	s := openTestRaftStore(t, t.TempDir())
	// hashicorp/raft recognises a missing key by this exact text.
	if _, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" {
		t.Fatalf("Get missing: %v", err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != 0 {
		t.Fatalf("GetUint64 missing: %d, %v", v, err)
	}
	if ok, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore()); ok || err != nil {
		t.Fatalf("HasExistingState of a fresh store: %t, %v", ok, err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("n"), math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get: %q, %v", v, err)
	}
	if v, err := s.GetUint64([]byte("n")); err != nil || v != math.MaxUint64 {
		t.Fatalf("GetUint64: %d, %v", v, err)
	}
	if _, err := s.GetUint64([]byte("k")); err == nil {
		t.Fatal("GetUint64 of a 1-byte value succeeded")
	}
	// Stable keys and log keys do not collide.
	checkBounds(t, s, 0, 0)
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if ok, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore()); !ok || err != nil {
		t.Fatalf("HasExistingState with a term: %t, %v", ok, err)
	}
}

// TestRaftMutationsFsync checks that every mutation is fsynced before it
// returns, as raft requires before acknowledging.
func TestRaftMutationsFsync(t *testing.T) {
	s := openTestRaftStore(t, t.TempDir())
	// In order: DeleteRange must find the entries stored before it (a
	// deletion of nothing writes nothing).
	for _, step := range []struct {
		name   string
		mutate func() error
	}{
		{"StoreLogs", func() error { return s.StoreLogs([]*raft.Log{testLog(1, 1), testLog(2, 1)}) }},
		{"StoreLog", func() error { return s.StoreLog(testLog(3, 1)) }},
		{"DeleteRange", func() error { return s.DeleteRange(1, 1) }},
		{"Set", func() error { return s.Set([]byte("a"), []byte("b")) }},
		{"SetUint64", func() error { return s.SetUint64([]byte("c"), 1) }},
	} {
		name, mutate := step.name, step.mutate
		before := s.db.stor.syncs.Load()
		if err := mutate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.db.stor.syncs.Load() == before {
			t.Errorf("%s returned without an fsync", name)
		}
	}
}

func TestRaftStoreRejectsForeignDB(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Put([]byte("chain"), []byte("data"))
	db.Close()
	if s, err := OpenRaftStore(dir, Options{}); err == nil {
		s.Close()
		t.Fatal("opened a non-raft database as a raft store")
	}
}

func TestRaftStoreConcurrent(t *testing.T) {
	s := openTestRaftStore(t, t.TempDir())
	storeRange(t, s, 1, 10)
	var wg sync.WaitGroup
	// Appender, compactor and readers at once, as raft's main loop,
	// snapshot goroutine and replication goroutines are.
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := uint64(11); i <= 400; i += 10 {
			var logs []*raft.Log
			for j := i; j < i+10; j++ {
				logs = append(logs, testLog(j, 1))
			}
			if err := s.StoreLogs(logs); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for hi := uint64(5); hi <= 200; hi += 5 {
			if err := s.DeleteRange(0, hi); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for k := 0; k < 2000; k++ {
			last, _ := s.LastIndex()
			var l raft.Log
			if err := s.GetLog(last, &l); err != nil && !errors.Is(err, raft.ErrLogNotFound) {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	// The compactor may have run ahead of the appender; finish its job.
	if err := s.DeleteRange(0, 200); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 201, 400)
	// The cached bounds agree with the database.
	first, _, _ := s.seekFirst(0)
	last, _, _ := s.seekLast(math.MaxUint64)
	checkBounds(t, s, first, last)
}

func TestLogCodec(t *testing.T) {
	cases := []*raft.Log{
		{},
		{Index: 1, Term: 1, Type: raft.LogNoop},
		testLog(math.MaxUint64, math.MaxUint64),
		{Index: 3, Term: 2, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{7}, 70000), AppendedAt: time.Now()},
		{Index: 4, Type: raft.LogBarrier, AppendedAt: time.Unix(-1, 5)},
	}
	for _, want := range cases {
		enc := appendLog(nil, want)
		if len(enc) > encodedLogSize(want) {
			t.Fatalf("encoding of %d bytes exceeds the bound %d", len(enc), encodedLogSize(want))
		}
		got := raft.Log{Data: []byte("stale"), Extensions: []byte("stale")}
		if err := decodeLog(enc, &got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !logsEqual(&got, want) {
			t.Fatalf("round trip: got %+v, want %+v", got, want)
		}
		// Every strict prefix and any extension must be rejected.
		for n := 0; n < len(enc); n += 1 + n/16 {
			if err := decodeLog(enc[:n], &got); err == nil {
				t.Fatalf("decoded a %d-byte prefix of %d", n, len(enc))
			}
		}
		if err := decodeLog(append(slices.Clip(enc), 0), &got); err == nil {
			t.Fatal("decoded with a trailing byte")
		}
	}
	if err := decodeLog([]byte{2, 0, 0, 0, 0, 0, 0}, new(raft.Log)); err == nil {
		t.Fatal("decoded an unknown version")
	}
	// Compactness: a small command entry takes a few bytes beyond its data.
	small := &raft.Log{Index: 1000, Term: 3, Type: raft.LogCommand, Data: make([]byte, 100), AppendedAt: time.Unix(1700000000, 123456789)}
	if n := len(appendLog(nil, small)); n > 100+20 {
		t.Fatalf("small entry encodes to %d bytes", n)
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(appendLog(nil, testLog(1, 1)))
	f.Add(appendLog(nil, &raft.Log{}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l raft.Log
		if decodeLog(b, &l) != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		var again raft.Log
		if err := decodeLog(appendLog(nil, &l), &again); err != nil || !logsEqual(&l, &again) {
			t.Fatalf("re-encoding changed %+v into %+v (%v)", l, again, err)
		}
	})
}

// memFSM records the commands raft applies.
type memFSM struct {
	mu      sync.Mutex
	applied []string
}

func (f *memFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, string(l.Data))
	return len(f.applied)
}

func (f *memFSM) entries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

func (f *memFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &memSnapshot{entries: f.entries()}, nil
}

func (f *memFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = nil
	if len(b) > 0 {
		f.applied = splitLines(string(b))
	}
	return nil
}

type memSnapshot struct{ entries []string }

func (s *memSnapshot) Persist(sink raft.SnapshotSink) error {
	for _, e := range s.entries {
		if _, err := fmt.Fprintln(sink, e); err != nil {
			sink.Cancel()
			return err
		}
	}
	return sink.Close()
}

func (s *memSnapshot) Release() {}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// raftNode is one hashicorp/raft node on the stores in dir.
type raftNode struct {
	r     *raft.Raft
	fsm   *memFSM
	store *RaftStore
}

func startRaftNode(t *testing.T, dir string, addr raft.ServerAddress) *raftNode {
	t.Helper()
	store, err := OpenRaftStore(filepath.Join(dir, "raft"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStore(filepath.Join(dir, "snapshots"), 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, trans := raft.NewInmemTransport(addr)
	conf := raft.DefaultConfig()
	conf.LocalID = "node-1"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotThreshold = 1 << 40 // logs only: the restart must replay them
	conf.SnapshotInterval = time.Hour
	conf.LogOutput = io.Discard
	fsm := &memFSM{}
	r, err := raft.NewRaft(conf, fsm, store, store, snaps, trans)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return &raftNode{r: r, fsm: fsm, store: store}
}

func (n *raftNode) stop(t *testing.T) {
	t.Helper()
	if err := n.r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	if err := n.store.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitLeader waits, through a raft observer, until the node leads.
func (n *raftNode) waitLeader(t *testing.T) {
	t.Helper()
	ch := make(chan raft.Observation, 16)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		st, ok := o.Data.(raft.RaftState)
		return ok && st == raft.Leader
	})
	n.r.RegisterObserver(obs)
	defer n.r.DeregisterObserver(obs)
	if n.r.State() == raft.Leader { // became leader before we registered
		return
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no leadership; state %v", n.r.State())
	}
}

// TestRaftNodeRestart runs a single-node hashicorp/raft cluster on the
// store, applies commands, shuts it down, and restarts it on the same
// directory: the new FSM must be fed the same commands from the log.
func TestRaftNodeRestart(t *testing.T) {
	dir := t.TempDir()
	addr := raft.NewInmemAddr()

	n := startRaftNode(t, dir, addr)
	boot := raft.Configuration{Servers: []raft.Server{{ID: "node-1", Address: addr}}}
	if err := n.r.BootstrapCluster(boot).Error(); err != nil {
		t.Fatal(err)
	}
	n.waitLeader(t)
	var want []string
	for i := 0; i < 25; i++ {
		cmd := fmt.Sprintf("cmd-%02d", i)
		f := n.r.Apply([]byte(cmd), 5*time.Second)
		if err := f.Error(); err != nil {
			t.Fatal(err)
		}
		if got := f.Response(); got != i+1 {
			t.Fatalf("apply %d: response %v", i, got)
		}
		want = append(want, cmd)
	}
	if got := n.fsm.entries(); !slices.Equal(got, want) {
		t.Fatalf("first run applied %q", got)
	}
	last, _ := n.store.LastIndex()
	term, err := n.store.GetUint64([]byte("CurrentTerm"))
	if err != nil || term == 0 {
		t.Fatalf("CurrentTerm: %d, %v", term, err)
	}
	n.stop(t)

	n = startRaftNode(t, dir, addr)
	defer n.stop(t)
	if first, _ := n.store.FirstIndex(); first != 1 {
		t.Fatalf("reopened store starts at %d", first)
	}
	if got, _ := n.store.LastIndex(); got != last {
		t.Fatalf("reopened store ends at %d, want %d", got, last)
	}
	n.waitLeader(t)
	// Barrier returns once everything before it has reached the FSM.
	if err := n.r.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if got := n.fsm.entries(); !slices.Equal(got, want) {
		t.Fatalf("restart replayed %q, want %q", got, want)
	}
	if newTerm, _ := n.store.GetUint64([]byte("CurrentTerm")); newTerm <= term {
		t.Fatalf("term did not advance on re-election: %d -> %d", term, newTerm)
	}
	// The restarted node keeps working.
	if err := n.r.Apply([]byte("after-restart"), 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if got := n.fsm.entries(); got[len(got)-1] != "after-restart" {
		t.Fatalf("last applied %q", got[len(got)-1])
	}
}

// BenchmarkRaftStoreLogs stores batches of 16 entries of 20 KB each, every
// batch one fsynced write, as raft's leader and followers do.
func BenchmarkRaftStoreLogs(b *testing.B) {
	s := openTestRaftStore(b, b.TempDir())
	const entries, size = 16, 20 << 10
	data := bytes.Repeat([]byte{0x5a}, size)
	logs := make([]*raft.Log, entries)
	for i := range logs {
		logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
	}
	b.SetBytes(entries * size)
	b.ReportAllocs()
	b.ResetTimer()
	next := uint64(1)
	for i := 0; i < b.N; i++ {
		for _, l := range logs {
			l.Index = next
			next++
		}
		if err := s.StoreLogs(logs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRaftBench runs hashicorp/raft's shared store benchmarks.
func BenchmarkRaftBench(b *testing.B) {
	for _, bm := range []struct {
		name string
		fn   func(*testing.B, *RaftStore)
	}{
		{"FirstIndex", func(b *testing.B, s *RaftStore) { raftbench.FirstIndex(b, s) }},
		{"LastIndex", func(b *testing.B, s *RaftStore) { raftbench.LastIndex(b, s) }},
		{"GetLog", func(b *testing.B, s *RaftStore) { raftbench.GetLog(b, s) }},
		{"StoreLog", func(b *testing.B, s *RaftStore) { raftbench.StoreLog(b, s) }},
		{"StoreLogs", func(b *testing.B, s *RaftStore) { raftbench.StoreLogs(b, s) }},
		{"DeleteRange", func(b *testing.B, s *RaftStore) { raftbench.DeleteRange(b, s) }},
		{"Set", func(b *testing.B, s *RaftStore) { raftbench.Set(b, s) }},
		{"Get", func(b *testing.B, s *RaftStore) { raftbench.Get(b, s) }},
		{"SetUint64", func(b *testing.B, s *RaftStore) { raftbench.SetUint64(b, s) }},
		{"GetUint64", func(b *testing.B, s *RaftStore) { raftbench.GetUint64(b, s) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			bm.fn(b, openTestRaftStore(b, b.TempDir()))
		})
	}
}
