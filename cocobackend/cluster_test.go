package cocobackend_test

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
)

// freeAddr is a 127.0.0.1 address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type forwarded struct {
	from  string
	items [][]byte
}

// Three cluster nodes built by the real constructor, over real TCP with
// mutual TLS: they elect a leader, commit an entry on every node, forward a
// follower's item to the leader naming the follower, and stop leaving
// nothing running (TestMain's leak check).
func TestClusterNodes(t *testing.T) {
	var (
		nodes = []*vnode{newVNode(t, "A"), newVNode(t, "B"), newVNode(t, "C")}
		addrs = []string{freeAddr(t), freeAddr(t), freeAddr(t)}
		peers []cocobackend.Peer
		keys  = keysOf(nodes...)
		mu    sync.Mutex
		got   = map[string][]forwarded{}
	)
	for i, n := range nodes {
		peers = append(peers, cocobackend.Peer{ID: n.id, Addr: addrs[i]})
	}
	settings := cocobackend.DefaultClusterSettings()
	settings.HeartbeatTimeout = 300 * time.Millisecond
	var cls []*cocobackend.Cluster
	var fsms []*fakeFSM
	for i, n := range nodes {
		g, err := nodetls.NewGuard(nodetls.Identity{ID: n.id, Key: n.key, Network: muxNetwork}, nodetls.NewRegistry(nil))
		if err != nil {
			t.Fatal(err)
		}
		fsm := newFakeFSM()
		id := n.id
		cl, err := cocobackend.NewCluster(cocobackend.ClusterConfig{
			Settings: settings, Self: peers[i], Peers: peers, Dir: t.TempDir(), Guard: g,
			Forwarded: func(from *cocobackend.AuthPeer, items [][]byte) {
				mu.Lock()
				defer mu.Unlock()
				f := forwarded{items: items}
				if from != nil {
					f.from = from.ID
				}
				got[id] = append(got[id], f)
			},
		}, fsm)
		if err != nil {
			t.Fatal(err)
		}
		cl.SetAdmitted(keys)
		cls, fsms = append(cls, cl), append(fsms, fsm)
	}
	for _, cl := range cls {
		if err := cl.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, cl := range cls {
			if err := cl.Stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}
	}()
	var lead int
	waitUntil(t, 15*time.Second, "a leader", func() bool {
		for i, cl := range cls {
			if cl.IsLeader() {
				lead = i
				return true
			}
		}
		return false
	})
	if _, err := cls[lead].Propose([]byte("entry-1")).Wait(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the entry on every node", func() bool {
		for _, f := range fsms {
			if !slices.Contains(f.data(), "entry-1") {
				return false
			}
		}
		return true
	})
	f := (lead + 1) % 3
	cls[f].Forward([]byte("item-1"))
	waitUntil(t, 10*time.Second, "the forwarded item at the leader", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, fw := range got[nodes[lead].id] {
			if fw.from == nodes[f].id && len(fw.items) == 1 && bytes.Equal(fw.items[0], []byte("item-1")) {
				return true
			}
		}
		return false
	})
	if !cls[f].Admitted(nodes[lead].id) || cls[f].Admitted("intruder") {
		t.Error("Admitted does not follow SetAdmitted")
	}
	if got := cls[f].NodeChannel(); got != "mutual TLS" {
		t.Errorf("NodeChannel = %q", got)
	}
}

// A cluster node refuses to be built without a guard unless its channel
// is explicitly insecure, and without a handler of forwarded items.
func TestClusterConfigRefusals(t *testing.T) {
	fsm := newFakeFSM()
	self := cocobackend.Peer{ID: "A", Addr: freeAddr(t)}
	if _, err := cocobackend.NewCluster(cocobackend.ClusterConfig{Settings: cocobackend.DefaultClusterSettings(), Self: self, Dir: t.TempDir(), Forwarded: func(*cocobackend.AuthPeer, [][]byte) {}}, fsm); err == nil {
		t.Error("a cluster node without a guard was built")
	}
	g, _ := nodetls.NewGuard(nodetls.Identity{ID: "A", Key: newVNode(t, "A").key}, nodetls.NewRegistry(nil))
	if _, err := cocobackend.NewCluster(cocobackend.ClusterConfig{Settings: cocobackend.DefaultClusterSettings(), Self: self, Dir: t.TempDir(), Guard: g}, fsm); err == nil {
		t.Error("a cluster node without a forward handler was built")
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
