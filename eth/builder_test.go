package eth

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
)

// fakeClock drives the builder's now and its trailing-block timer; the test
// moves it with advance. Block cutting (blockTime) keeps the real clock.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Now().Truncate(time.Second), timers: make(map[*fakeTimer]struct{})}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
	} else {
		c.timers[t] = struct{}{}
	}
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, armed := c.timers[t]
		delete(c.timers, t)
		return armed
	}
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			t.c <- c.now
		}
	}
}

// armed returns the deadlines of the timers not yet fired nor stopped.
func (c *fakeClock) armed() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for t := range c.timers {
		out = append(out, t.at)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// waitArmed waits until the builder waits for its trailing block, due at.
func waitArmed(t *testing.T, clk *fakeClock, at time.Time) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the trailing block timer armed for %v", at), func() bool {
		a := clk.armed()
		return len(a) == 1 && a[0].Equal(at)
	})
}

// newTrailService starts a service whose builder runs on clk, on the dev
// chain with ledger l (nil: a single node).
func newTrailService(t *testing.T, clk *fakeClock, l *gateLedger) *Service {
	t.Helper()
	spec := genesis.Dev()
	spec.Raw = nil
	db := rawdb.NewMemoryDatabase()
	if _, err := InitChain(db, spec); err != nil {
		t.Fatal(err)
	}
	var newLedger NewLedgerFunc
	if l != nil {
		newLedger = func(d LedgerDeps) (cocobackend.Ledger, error) {
			fsm := d.FSM
			l.fsm = fsm
			return l, nil
		}
	}
	s, err := NewService(nil, db, db, DefaultConfig, newLedger)
	if err != nil {
		t.Fatal(err)
	}
	s.builder.now, s.builder.newTimer = clk.Now, clk.NewTimer
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l != nil {
			l.stop()
		}
		s.Stop()
	})
	return s
}

// staysAt checks, for a moment of real time, that the head stays head.
func staysAt(t *testing.T, s *Service, head *types.Header, why string) {
	t.Helper()
	if pollUntil(150*time.Millisecond, func() bool { return s.chain.CurrentHeader().Hash() != head.Hash() }) {
		h := s.chain.CurrentHeader()
		t.Fatalf("%s: block %d (%d txs) made on top of %d", why, h.Number, len(s.chain.GetBlockByHash(h.Hash()).Transactions()), head.Number)
	}
}

// waitTrailing waits for an empty block on top of parent and checks it.
func waitTrailing(t *testing.T, s *Service, parent *types.Header) *types.Header {
	t.Helper()
	waitFor(t, fmt.Sprintf("a block on top of %d", parent.Number), func() bool {
		return s.chain.CurrentHeader().Number.Uint64() > parent.Number.Uint64()
	})
	head := s.chain.CurrentHeader()
	b := s.chain.GetBlockByHash(head.Hash())
	if head.Number.Uint64() != parent.Number.Uint64()+1 || head.ParentHash != parent.Hash() {
		t.Fatalf("head %d (parent %v), want one block on top of %d", head.Number, head.ParentHash, parent.Number)
	}
	if len(b.Transactions()) != 0 || head.TxHash != types.EmptyTxsHash || head.GasUsed != 0 {
		t.Fatalf("trailing block %d has %d transactions, gas %d", head.Number, len(b.Transactions()), head.GasUsed)
	}
	if head.Time <= parent.Time {
		t.Fatalf("trailing block time %d, parent's %d", head.Time, parent.Time)
	}
	return head
}

// sendCommitted sends n transfers from a and waits until all are committed.
func sendCommitted(t *testing.T, s *Service, a *account, n int) *types.Header {
	t.Helper()
	for i := 0; i < n; i++ {
		tx, err := a.next(recvAddr, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendTx(tx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, fmt.Sprintf("nonce %d committed", a.nonce), func() bool {
		st, err := s.chain.State()
		return err == nil && st.GetNonce(a.addr) == a.nonce
	})
	head := s.chain.CurrentHeader()
	if head.TxHash == types.EmptyTxsHash {
		t.Fatalf("head %d after the transfers is empty", head.Number)
	}
	return head
}

// After a burst of transactions the leader adds exactly one empty block, a
// trailing delay after the last block with transactions committed: none on
// an idle chain from the start, none while blocks keep coming within the
// delay, one more after the next burst.
func TestTrailingEmptyBlock(t *testing.T) {
	clk := newFakeClock()
	s := newTrailService(t, clk, nil)
	d := trailingBlockDelay
	genesisHead := s.chain.CurrentHeader()

	// An idle chain from the start: nothing armed, nothing made.
	for i := 0; i < 5; i++ {
		clk.advance(d)
		staysAt(t, s, genesisHead, "idle chain")
	}
	if a := clk.armed(); len(a) != 0 {
		t.Fatalf("idle chain: trailing timer armed for %v", a)
	}

	// A burst: one block (or a few) with transactions.
	a := newAccount(keyA)
	last := sendCommitted(t, s, a, 5)
	waitArmed(t, clk, clk.Now().Add(d))
	clk.advance(d - time.Millisecond)
	staysAt(t, s, last, "before the trailing delay")
	clk.advance(time.Millisecond)
	trail := waitTrailing(t, s, last)
	// Exactly once: nothing more however long the chain stays idle.
	for i := 0; i < 5; i++ {
		clk.advance(d)
		staysAt(t, s, trail, "after the trailing block")
	}
	if a := clk.armed(); len(a) != 0 {
		t.Fatalf("after the trailing block: timer armed for %v", a)
	}

	// Blocks keep coming, each within the delay of the previous one: no
	// empty block between them; the delay counts from the last one.
	first := trail.Number.Uint64() + 1
	for i := 0; i < 6; i++ {
		last = sendCommitted(t, s, a, 1)
		waitArmed(t, clk, clk.Now().Add(d))
		clk.advance(d - 10*time.Millisecond)
		staysAt(t, s, last, "between blocks with transactions")
	}
	for n := first; n <= last.Number.Uint64(); n++ {
		if b := s.chain.GetBlockByNumber(n); len(b.Transactions()) == 0 {
			t.Fatalf("empty block %d while transactions kept coming", n)
		}
	}
	// The second burst gets its one trailing block too.
	clk.advance(10 * time.Millisecond)
	trail = waitTrailing(t, s, last)
	for i := 0; i < 3; i++ {
		clk.advance(d)
		staysAt(t, s, trail, "after the second trailing block")
	}
}

// A node that becomes leader on a head with transactions makes the trailing
// block its predecessor may have left out; on an empty head it makes none,
// and while it does not lead it makes none. The block goes through the
// ledger like any other.
func TestTrailingBlockAfterLeaderChange(t *testing.T) {
	clk := newFakeClock()
	l := newGateLedger()
	l.auto = true
	s := newTrailService(t, clk, l)
	d := trailingBlockDelay

	// Leading on an empty head: nothing.
	l.setLeader(true)
	waitFor(t, "the builder to see the leadership", func() bool { return len(l.changes) == 0 })
	clk.advance(2 * d)
	staysAt(t, s, s.chain.CurrentHeader(), "new leader on an empty head")

	// A block with transactions committed by another leader (straight
	// through the ledger, not by this builder) while this node follows.
	l.setLeader(false)
	waitFor(t, "the builder to see the leadership", func() bool { return len(l.changes) == 0 })
	built, _ := buildAndCommit(t, s, []*types.Transaction{transfer(t, keyA, 0, recvAddr, 1)})
	head := built.block.Header()
	clk.advance(2 * d)
	staysAt(t, s, head, "follower")

	// Leader again: one trailing block, a delay later.
	l.setLeader(true)
	waitArmed(t, clk, clk.Now().Add(d))
	clk.advance(d - time.Millisecond)
	staysAt(t, s, head, "new leader before the delay")
	l.mu.Lock()
	proposed := l.index
	l.mu.Unlock()
	clk.advance(time.Millisecond)
	trail := waitTrailing(t, s, head)
	l.mu.Lock()
	if l.index != proposed+1 {
		t.Errorf("ledger saw %d proposals for the trailing block, want 1", l.index-proposed)
	}
	l.mu.Unlock()
	clk.advance(3 * d)
	staysAt(t, s, trail, "after the trailing block")
}

// In a cluster the trailing block is the leader's, replicated like any
// block: every node holds the same empty block on top of the last block
// with transactions, and only one.
func TestClusterTrailingBlock(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	lead := c.leader()
	f := c.others(lead)[0]
	a := newAccount(keyA)
	send(t, f, a, recvAddr, 1, 3)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	var last *types.Header
	for n := lead.svc.Chain().CurrentHeader().Number.Uint64(); n > 0; n-- {
		if h := lead.svc.Chain().GetHeaderByNumber(n); h.TxHash != types.EmptyTxsHash {
			last = h
			break
		}
	}
	waitFor(t, "the trailing block on every node", func() bool {
		for _, nd := range c.nodes {
			if nd.svc.Chain().CurrentHeader().Number.Uint64() <= last.Number.Uint64() {
				return false
			}
		}
		return true
	})
	head := waitSameHead(t, c.nodes...)
	sameChain(t, c.nodes...)
	for _, nd := range c.nodes {
		b := nd.svc.Chain().GetBlockByNumber(last.Number.Uint64() + 1)
		if b == nil || b.ParentHash() != last.Hash() || len(b.Transactions()) != 0 || b.Time() <= last.Time {
			t.Fatalf("%s: block after %d is %v, want one empty block on it", nd.id, last.Number, b)
		}
	}
	if head.Number.Uint64() != last.Number.Uint64()+1 {
		t.Fatalf("head %d, want one block after %d", head.Number, last.Number)
	}
	time.Sleep(trailingBlockDelay + time.Second)
	for _, nd := range c.nodes {
		if h := nd.svc.Chain().CurrentHeader(); h.Hash() != head.Hash() {
			t.Fatalf("%s: head moved on to %d on an idle chain", nd.id, h.Number)
		}
	}
}
