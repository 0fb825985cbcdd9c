package clustertest

import (
	"io"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

// The harness's clusters must leave no goroutine running once stopped.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }

// listFSM keeps the entries it applied; it outlives its node's restarts,
// as a database does.
type listFSM struct {
	mu      sync.Mutex
	applied uint64
	entries []string
}

func (f *listFSM) Apply(index uint64, entry []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if index > f.applied {
		f.applied = index
		f.entries = append(f.entries, string(entry))
	}
	return nil
}

func (f *listFSM) AppliedIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *listFSM) has(entry string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.entries, entry)
}

func (f *listFSM) Snapshot() (cocobackend.FSMSnapshot, error) { return nil, io.ErrUnexpectedEOF }
func (f *listFSM) Restore(io.Reader) error                    { return io.ErrUnexpectedEOF }

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(Timeout, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A cluster of real cluster nodes over the in-memory network elects a
// leader, replicates, forwards a follower's item to the leader (plaintext:
// no authenticated sender), survives a partitioned leader, and refuses
// dials to a stopped node until it restarts on its stores.
func TestCluster(t *testing.T) {
	fsms := []*listFSM{{}, {}, {}}
	var (
		mu  sync.Mutex
		got = map[int][]string{} // forwarded items by receiving node
	)
	c := New(t, Config{Nodes: 3, NewService: func(nd *Node) (Service, error) {
		i := nd.Index
		return nd.NewCluster(cocobackend.ClusterConfig{Forwarded: func(from *cocobackend.AuthPeer, items [][]byte) {
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				if from == nil {
					got[i] = append(got[i], string(it))
				}
			}
		}}, fsms[i])
	}})
	propose := func(nd *Node, entry string) {
		t.Helper()
		if _, err := nd.Ledger().Propose([]byte(entry)).Wait(); err != nil {
			t.Fatalf("propose %s on %s: %v", entry, nd.ID, err)
		}
	}
	applied := func(entry string, nodes ...*Node) {
		t.Helper()
		for _, nd := range nodes {
			wait(t, nd.ID+" to apply "+entry, func() bool { return fsms[nd.Index].has(entry) })
		}
	}
	lead := c.Leader()
	propose(lead, "a")
	applied("a", c.Nodes...)
	if ch := lead.Ledger().NodeChannel(); ch != "INSECURE plain TCP" {
		t.Errorf("channel %q without a guard", ch)
	}

	f := c.Others(lead)[0]
	f.Ledger().Forward([]byte("item"))
	wait(t, "the item at the leader", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got[lead.Index], "item")
	})

	c.Partition(lead)
	rest := c.Others(lead)
	next := c.Leader(rest...)
	propose(next, "b")
	applied("b", rest...)
	if fsms[lead.Index].has("b") {
		t.Fatal("the partitioned node applied an entry")
	}
	c.Heal(lead)
	applied("b", lead)

	down := c.Others(next)[0]
	c.Stop(down)
	if down.Up() || c.Net.Listening(down.Addr) {
		t.Fatal("a stopped node still listens")
	}
	next = c.Leader(c.Others(down)...)
	propose(next, "c")
	c.Start(down)
	applied("c", down)
	if !down.Up() || !c.Net.Listening(down.Addr) {
		t.Fatal("a restarted node does not listen")
	}
	if n := len(c.Running()); n != 3 {
		t.Fatalf("%d nodes running", n)
	}
}
