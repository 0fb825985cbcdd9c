package cocobackend_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/internal/clustertest"
	"github.com/hashicorp/raft"
)

// fakeFSM is a state machine that records the entries it applies. Its state
// (the applied entries) is what a snapshot carries. Like the real one it
// ignores indexes at or below AppliedIndex; the object survives a restart of
// its ledger, as a database on disk does.
type fakeFSM struct {
	mu       sync.Mutex
	entries  []fakeEntry        // applied, in order
	effects  map[uint64]int     // times each index's effects were applied
	fail     func([]byte) error // makes Apply fail (halts the node)
	gate     chan struct{}      // when non-nil, Apply waits for it to close
	restores int
}

type fakeEntry struct {
	Index uint64
	Data  string
}

func newFakeFSM() *fakeFSM { return &fakeFSM{effects: make(map[uint64]int)} }

func (f *fakeFSM) Apply(index uint64, entry []byte) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.entries); n > 0 && index <= f.entries[n-1].Index {
		return nil // already applied
	}
	if f.fail != nil {
		if err := f.fail(entry); err != nil {
			return err
		}
	}
	f.entries = append(f.entries, fakeEntry{Index: index, Data: string(entry)})
	f.effects[index]++
	return nil
}

func (f *fakeFSM) AppliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.entries); n > 0 {
		return f.entries[n-1].Index
	}
	return 0
}

func (f *fakeFSM) Snapshot() (cocobackend.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeSnapshot(append([]fakeEntry(nil), f.entries...)), nil
}

func (f *fakeFSM) Restore(r io.Reader) error {
	var entries []fakeEntry
	if err := json.NewDecoder(r).Decode(&entries); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Effects of entries beyond the snapshot are undone; those it holds
	// count as applied once more only if they were not applied here.
	keep := make(map[uint64]bool, len(entries))
	for _, e := range entries {
		keep[e.Index] = true
		if f.effects[e.Index] == 0 {
			f.effects[e.Index] = 1
		}
	}
	for _, e := range f.entries {
		if !keep[e.Index] {
			// undone: applying it again is not a second application
			f.effects[e.Index]--
		}
	}
	f.entries = entries
	f.restores++
	return nil
}

type fakeSnapshot []fakeEntry

func (s fakeSnapshot) Persist(w io.Writer) error { return json.NewEncoder(w).Encode([]fakeEntry(s)) }
func (s fakeSnapshot) Release()                  {}

// data returns the applied entries' payloads.
func (f *fakeFSM) data() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.entries))
	for i, e := range f.entries {
		out[i] = e.Data
	}
	return out
}

func (f *fakeFSM) log() []fakeEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeEntry(nil), f.entries...)
}

func (f *fakeFSM) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.entries)
}

func (f *fakeFSM) restoreCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restores
}

// twice returns the indexes whose effects were applied more than once.
func (f *fakeFSM) twice() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint64
	for i, n := range f.effects {
		if n > 1 {
			out = append(out, i)
		}
	}
	return out
}

func (f *fakeFSM) setFail(fail func([]byte) error) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *fakeFSM) block() {
	f.mu.Lock()
	f.gate = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeFSM) unblock() {
	f.mu.Lock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
	f.mu.Unlock()
}

// rnode is one node of a test cluster (clustertest: the real cluster node
// over an in-memory network) with its state machine, which outlives the
// node's ledger as a database on disk does.
type rnode struct {
	*clustertest.Node
	id     string
	fsm    *fakeFSM
	l      *cocobackend.Cluster // the node's ledger, the last one once stopped
	leadCh <-chan struct{}
}

type rcluster struct {
	c     *clustertest.Cluster
	nodes []*rnode
}

// newRCluster starts n nodes with the harness's test settings, changed by
// mod.
func newRCluster(t *testing.T, n int, mod func(*cocobackend.ClusterSettings)) *rcluster {
	t.Helper()
	settings := clustertest.Settings()
	if mod != nil {
		mod(&settings)
	}
	c := &rcluster{}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &rnode{fsm: newFakeFSM()})
	}
	c.c = clustertest.New(t, clustertest.Config{
		Nodes: n, Settings: settings,
		NewService: func(n *clustertest.Node) (clustertest.Service, error) {
			nd := c.nodes[n.Index]
			l, err := n.NewCluster(cocobackend.ClusterConfig{}, nd.fsm)
			if err != nil {
				return nil, err
			}
			nd.Node, nd.id, nd.l, nd.leadCh = n, n.ID, l, l.LeadershipChanges()
			return l, nil
		},
	})
	return c
}

// start restarts a stopped node on its stores and FSM.
func (c *rcluster) start(nd *rnode) { c.c.Start(nd.Node) }

func (c *rcluster) stop(nd *rnode) { c.c.Stop(nd.Node) }

// partition cuts nd off from every other node, both ways.
func (c *rcluster) partition(nd *rnode) { c.c.Partition(nd.Node) }

func (c *rcluster) heal(nd *rnode) { c.c.Heal(nd.Node) }

// leader waits until exactly one running node is the leader (IsLeader)
// and every running node in the majority names it, and returns it.
func (c *rcluster) leader(among ...*rnode) *rnode {
	var nodes []*clustertest.Node
	for _, nd := range among {
		nodes = append(nodes, nd.Node)
	}
	return c.nodes[c.c.Leader(nodes...).Index]
}

func (c *rcluster) others(nd *rnode) []*rnode {
	var out []*rnode
	for _, o := range c.nodes {
		if o != nd {
			out = append(out, o)
		}
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

// waitResult waits for a proposal's outcome with a deadline.
func waitResult(t testing.TB, r cocobackend.Result, timeout time.Duration) (uint64, error) {
	t.Helper()
	type out struct {
		i   uint64
		err error
	}
	ch := make(chan out, 1)
	go func() {
		i, err := r.Wait()
		ch <- out{i, err}
	}()
	select {
	case o := <-ch:
		return o.i, o.err
	case <-time.After(timeout):
		t.Fatalf("proposal still pending after %v", timeout)
		return 0, nil
	}
}

// propose proposes each payload on nd and returns the indexes.
func propose(t testing.TB, nd *rnode, payloads ...string) []uint64 {
	t.Helper()
	res := make([]cocobackend.Result, len(payloads))
	for i, p := range payloads {
		res[i] = nd.l.Propose([]byte(p))
	}
	idx := make([]uint64, len(payloads))
	for i, r := range res {
		index, err := waitResult(t, r, 10*time.Second)
		if err != nil {
			t.Fatalf("propose %q on %s: %v", payloads[i], nd.id, err)
		}
		idx[i] = index
	}
	return idx
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// waitApplied waits until every given node's FSM holds exactly want.
func waitApplied(t testing.TB, want []string, nodes ...*rnode) {
	t.Helper()
	for _, nd := range nodes {
		// A node that was down or cut off catches up when the leader next
		// tries it, and raft backs off up to ~10 s between attempts.
		waitFor(t, 30*time.Second, fmt.Sprintf("%s to apply %d entries", nd.id, len(want)), func() bool {
			return nd.fsm.count() >= len(want)
		})
		if got := nd.fsm.data(); !equalStrings(got, want) {
			t.Fatalf("%s applied %q, want %q", nd.id, got, want)
		}
		if tw := nd.fsm.twice(); len(tw) > 0 {
			t.Fatalf("%s applied indexes %v more than once", nd.id, tw)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameLog(t testing.TB, a, b *rnode) {
	t.Helper()
	la, lb := a.fsm.log(), b.fsm.log()
	if len(la) != len(lb) {
		t.Fatalf("%s applied %d entries, %s %d", a.id, len(la), b.id, len(lb))
	}
	for i := range la {
		if la[i] != lb[i] {
			t.Fatalf("entry %d: %s has %+v, %s has %+v", i, a.id, la[i], b.id, lb[i])
		}
	}
}

// A three-node cluster elects one leader; the others follow it.
func TestRaftElectsOneLeader(t *testing.T) {
	c := newRCluster(t, 3, nil)
	lead := c.leader()
	roles := map[string]int{}
	for _, nd := range c.nodes {
		roles[nd.l.Role()]++
	}
	if roles["leader"] != 1 || roles["follower"] != 2 {
		t.Fatalf("roles %v, want one leader and two followers", roles)
	}
	if lead.l.Role() != "leader" {
		t.Fatalf("IsLeader node %s has role %s", lead.id, lead.l.Role())
	}
	for _, nd := range c.nodes {
		if _, addr := nd.l.Leader(); addr != lead.Addr {
			t.Fatalf("%s names leader address %q, want %q", nd.id, addr, lead.Addr)
		}
		servers, err := nd.l.Servers()
		if err != nil {
			t.Fatal(err)
		}
		leaders := 0
		for _, s := range servers {
			if s.Leader {
				leaders++
			}
		}
		if len(servers) != 3 || leaders != 1 {
			t.Fatalf("%s: servers %+v", nd.id, servers)
		}
	}
}

// Entries proposed on the leader get increasing indexes and are applied
// once, in order, by every FSM; a follower refuses proposals.
func TestRaftProposeAppliesEverywhereInOrder(t *testing.T) {
	c := newRCluster(t, 3, nil)
	lead := c.leader()
	want := payloads("e", 40)
	idx := propose(t, lead, want...)
	for i := 1; i < len(idx); i++ {
		if idx[i] <= idx[i-1] {
			t.Fatalf("indexes not increasing: %v", idx)
		}
	}
	waitApplied(t, want, c.nodes...)
	for _, nd := range c.nodes {
		for i, e := range nd.fsm.log() {
			if e.Index != idx[i] {
				t.Fatalf("%s applied %q at index %d, Propose returned %d", nd.id, e.Data, e.Index, idx[i])
			}
		}
	}
	// The leader applied each entry before Wait returned.
	if lead.fsm.count() < len(want) {
		t.Fatal("Wait returned before the leader applied")
	}

	f := c.others(lead)[0]
	_, err := waitResult(t, f.l.Propose([]byte("from-follower")), 5*time.Second)
	if !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("Propose on follower: %v, want %v", err, raft.ErrNotLeader)
	}
	if f.l.IsLeader() {
		t.Fatal("follower reports IsLeader")
	}
	// A later entry from the leader is still applied right after the
	// others: the follower's proposal left no trace.
	propose(t, lead, "after")
	waitApplied(t, append(want, "after"), c.nodes...)
}

// A node that wins an election is IsLeader only after it has applied every
// entry of earlier terms (the barrier).
func TestRaftIsLeaderAfterBarrier(t *testing.T) {
	c := newRCluster(t, 3, nil)
	lead := c.leader()
	want := payloads("a", 1)
	propose(t, lead, want...)
	waitApplied(t, want, c.nodes...)

	next := c.others(lead)[0]
	next.fsm.block() // applies nothing until unblocked
	t.Cleanup(next.fsm.unblock)
	more := payloads("b", 5)
	idx := propose(t, lead, more...)
	last := idx[len(idx)-1]
	waitFor(t, 10*time.Second, "the entries to reach the next leader's log", func() bool {
		li, _ := next.l.LogStore().LastIndex()
		return li >= last
	})
	if err := lead.l.RaftNode().LeadershipTransferToServer(raft.ServerID(next.id), raft.ServerAddress(next.Addr)).Error(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	// next is raft's leader and has issued its barrier (the entry after
	// the new term's no-op), which is committed but cannot be applied.
	var barrier uint64
	waitFor(t, 10*time.Second, "the new leader to commit its barrier", func() bool {
		if next.l.RaftNode().State() != raft.Leader {
			return false
		}
		li, _ := next.l.LogStore().LastIndex()
		for i := last + 1; i <= li; i++ {
			var lg raft.Log
			if next.l.LogStore().GetLog(i, &lg) == nil && lg.Type == raft.LogBarrier {
				barrier = i
				return next.l.RaftNode().CommitIndex() >= i
			}
		}
		return false
	})
	if next.l.IsLeader() {
		t.Fatal("IsLeader is true before the barrier was applied")
	}
	if next.l.Role() != "leader" {
		t.Fatalf("role %s, want leader", next.l.Role())
	}
	if got := next.fsm.count(); got != len(want) {
		t.Fatalf("blocked FSM applied %d entries", got)
	}
	next.fsm.unblock()
	select {
	case <-next.leadCh:
	case <-time.After(10 * time.Second):
		t.Fatal("no leadership change signalled")
	}
	waitFor(t, 10*time.Second, "IsLeader after the barrier", next.l.IsLeader)
	if a := next.fsm.AppliedIndex(); a < last {
		t.Fatalf("IsLeader with applied index %d < %d (barrier at %d)", a, last, barrier)
	}
	waitApplied(t, append(want, more...), next)
	propose(t, next, "c")
	waitApplied(t, append(append(want, more...), "c"), c.nodes...)
}

// The leader cut off from the others loses leadership: the majority elects
// a new leader and commits; the old leader's pending proposals fail and it
// commits nothing; healed, it follows and catches up.
func TestRaftLeaderPartition(t *testing.T) {
	c := newRCluster(t, 3, nil)
	old := c.leader()
	want := payloads("before", 5)
	propose(t, old, want...)
	waitApplied(t, want, c.nodes...)

	c.partition(old)
	var pending []cocobackend.Result
	for _, p := range payloads("lost", 3) {
		pending = append(pending, old.l.Propose([]byte(p)))
	}
	majority := c.others(old)
	lead := c.leader(majority...)
	for i, r := range pending {
		if _, err := waitResult(t, r, 10*time.Second); err == nil {
			t.Fatalf("proposal %d on the cut-off leader succeeded", i)
		}
	}
	waitFor(t, 10*time.Second, "the old leader to step down", func() bool { return old.l.Role() != "leader" })
	if old.l.IsLeader() {
		t.Fatal("cut-off node still IsLeader")
	}
	after := payloads("after", 5)
	propose(t, lead, after...)
	all := append(append([]string{}, want...), after...)
	waitApplied(t, all, majority...)
	if got := old.fsm.data(); !equalStrings(got, want) {
		t.Fatalf("minority applied %q, want only %q", got, want)
	}

	c.heal(old)
	waitApplied(t, all, old)
	waitFor(t, 30*time.Second, "the old leader to follow", func() bool {
		id, _ := old.l.Leader()
		return old.l.Role() == "follower" && id != old.id && id != ""
	})
	// New entries reach it as a follower.
	lead = c.leader()
	propose(t, lead, "healed")
	all = append(all, "healed")
	waitApplied(t, all, c.nodes...)
	sameLog(t, old, lead)
}

func poison(entry []byte) error {
	if string(entry) == "poison" {
		return errors.New("disk on fire")
	}
	return nil
}

// An Apply error halts only the node whose FSM failed.
func TestRaftApplyErrorHaltsNode(t *testing.T) {
	c := newRCluster(t, 3, nil)
	lead := c.leader()
	bad := c.others(lead)[0]
	good := c.others(lead)[1]
	bad.fsm.setFail(poison)
	propose(t, lead, "a", "poison", "b")
	waitApplied(t, []string{"a", "poison", "b"}, lead, good)

	waitFor(t, 10*time.Second, "the node to halt", func() bool { return bad.l.Halted() != nil })
	if err := bad.l.Halted(); !errors.Is(err, cocobackend.ErrHalted) || !bytes.Contains([]byte(err.Error()), []byte("disk on fire")) {
		t.Fatalf("Halted() = %v", err)
	}
	if r := bad.l.Role(); r != "halted" {
		t.Fatalf("role %q, want halted", r)
	}
	if _, err := waitResult(t, bad.l.Propose([]byte("x")), 5*time.Second); !errors.Is(err, cocobackend.ErrHalted) {
		t.Fatalf("Propose on halted node: %v, want ErrHalted", err)
	}
	if bad.l.IsLeader() {
		t.Fatal("halted node is leader")
	}
	// The others go on; the halted node applies nothing more, never skips.
	propose(t, lead, "c", "d")
	waitApplied(t, []string{"a", "poison", "b", "c", "d"}, lead, good)
	if got := bad.fsm.data(); !equalStrings(got, []string{"a"}) {
		t.Fatalf("halted node applied %q", got)
	}
	if lead.l.Halted() != nil || good.l.Halted() != nil {
		t.Fatal("healthy nodes halted")
	}
}

// A leader whose FSM fails must not keep the cluster from committing: the
// others elect a leader that orders entries.
func TestRaftHaltedLeaderStepsAside(t *testing.T) {
	c := newRCluster(t, 3, nil)
	old := c.leader()
	old.fsm.setFail(poison)
	_, err := waitResult(t, old.l.Propose([]byte("poison")), 10*time.Second)
	if !errors.Is(err, cocobackend.ErrHalted) {
		t.Fatalf("poison proposal: %v, want ErrHalted", err)
	}
	if old.l.IsLeader() || old.l.Role() != "halted" {
		t.Fatalf("halted leader: IsLeader %v role %s", old.l.IsLeader(), old.l.Role())
	}
	rest := c.others(old)
	waitApplied(t, []string{"poison"}, rest...)
	var lead *rnode
	waitFor(t, 10*time.Second, "a healthy node to lead", func() bool {
		for _, nd := range rest {
			if nd.l.IsLeader() {
				lead = nd
				return true
			}
		}
		return false
	})
	propose(t, lead, "after")
	waitApplied(t, []string{"poison", "after"}, rest...)
}

// A node restarted on its stores rejoins and catches up without applying
// any entry a second time: its FSM's AppliedIndex is respected.
func TestRaftRestartRespectsAppliedIndex(t *testing.T) {
	for _, withSnapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", withSnapshot), func(t *testing.T) {
			c := newRCluster(t, 3, func(cfg *cocobackend.ClusterSettings) { cfg.TrailingLogs = 2 })
			lead := c.leader()
			want := payloads("a", 10)
			propose(t, lead, want...)
			waitApplied(t, want, c.nodes...)

			f := c.others(lead)[0]
			if withSnapshot {
				// The node has a snapshot of itself older than its FSM.
				if err := f.l.RaftNode().Snapshot().Error(); err != nil {
					t.Fatal(err)
				}
				more := payloads("b", 5)
				propose(t, lead, more...)
				want = append(want, more...)
				waitApplied(t, want, c.nodes...)
			}
			c.stop(f)
			if f.l.Role() != "shutdown" {
				t.Fatalf("stopped node role %q", f.l.Role())
			}
			lead = c.leader(c.others(f)...)
			more := payloads("c", 10)
			propose(t, lead, more...)
			want = append(want, more...)

			c.start(f)
			waitApplied(t, want, c.nodes...)
			if n := f.fsm.restoreCount(); n != 0 {
				t.Fatalf("restarted node restored %d snapshots of its own older state and re-applied the entries after them", n)
			}
			sameLog(t, f, lead)
			lead = c.leader()
			propose(t, lead, "d")
			waitApplied(t, append(want, "d"), c.nodes...)
		})
	}
}

// A node cut off while the others commit more entries than the leader keeps
// after a snapshot catches up by installing the leader's snapshot.
func TestRaftSnapshotInstall(t *testing.T) {
	c := newRCluster(t, 3, func(cfg *cocobackend.ClusterSettings) {
		cfg.SnapshotThreshold = 4
		cfg.TrailingLogs = 2
		cfg.SnapshotInterval = 20 * time.Millisecond
	})
	lead := c.leader()
	want := payloads("a", 3)
	propose(t, lead, want...)
	waitApplied(t, want, c.nodes...)

	lag := c.others(lead)[0]
	c.partition(lag)
	lagLast, _ := lag.l.LogStore().LastIndex()
	more := payloads("b", 40)
	propose(t, lead, more...)
	want = append(want, more...)
	waitFor(t, 10*time.Second, "the leader to compact its log past the cut-off node", func() bool {
		first, _ := lead.l.LogStore().FirstIndex()
		return first > lagLast+1
	})
	if n := lag.fsm.count(); n != 3 {
		t.Fatalf("cut-off node applied %d entries", n)
	}

	c.heal(lag)
	waitApplied(t, want, c.nodes...)
	if lag.fsm.restoreCount() == 0 {
		t.Fatal("the node caught up without installing a snapshot")
	}
	sameLog(t, lag, lead)
	// It follows normally afterwards.
	lead = c.leader()
	propose(t, lead, "c")
	waitApplied(t, append(want, "c"), c.nodes...)
}

// A halted node never skips an entry, not even when it snapshots while
// halted and restarts: the entry that halted it halts it again.
func TestRaftHaltedNodeNeverSkips(t *testing.T) {
	c := newRCluster(t, 3, nil)
	lead := c.leader()
	bad := c.others(lead)[0]
	bad.fsm.setFail(poison)
	idx := propose(t, lead, "a", "poison")
	waitFor(t, 10*time.Second, "the node to halt", func() bool { return bad.l.Halted() != nil })
	more := payloads("b", 5)
	propose(t, lead, more...)
	want := append([]string{"a", "poison"}, more...)
	waitApplied(t, want, lead)
	waitFor(t, 10*time.Second, "the halted node's raft to pass the poison entry", func() bool {
		return bad.l.RaftNode().AppliedIndex() > idx[1] || bad.l.RaftNode().State() == raft.Shutdown
	})
	// What the periodic snapshot does (SnapshotThreshold/Interval), now.
	if err := bad.l.RaftNode().Snapshot().Error(); err != nil {
		t.Logf("snapshot of the halted node refused: %v", err)
	} else if metas, _ := bad.l.Snapshots().List(); len(metas) > 0 {
		t.Logf("halted node took a snapshot labelled index %d; its FSM is at %d", metas[0].Index, bad.fsm.AppliedIndex())
	}
	c.stop(bad)
	c.start(bad)
	end := lead.fsm.AppliedIndex()
	waitFor(t, 30*time.Second, "the restarted node to halt again or catch up", func() bool {
		return bad.l.Halted() != nil || bad.fsm.AppliedIndex() >= end
	})
	got := bad.fsm.data()
	if len(got) > len(want) || !equalStrings(got, want[:len(got)]) {
		t.Fatalf("halted node skipped entries: applied %q, ledger holds %q", got, want)
	}
	if bad.l.Halted() == nil {
		t.Fatalf("restarted node did not halt at the poison entry (applied %q)", got)
	}
}
