// Package clustertest runs a cluster of validating nodes inside one test.
// Every node is built by the production constructor,
// cocobackend.NewCluster: its mux, guard (or insecure plaintext),
// transport, Raft log and snapshot stores on disk and forwarder are the
// real ones. Only the wire is replaced: the nodes talk over an in-memory
// network (internal/memnet) that the test can partition, and a stopped
// node refuses connections at once, as a dead host's TCP port does.
//
// What runs on a node around its cluster node is the test's: a Service
// that NewService builds and that calls Node.NewCluster once (the cluster
// node itself, or an application such as the Ethereum service that starts
// and stops its ledger with itself). A node keeps its directory across
// restarts, so a restart reopens its Raft stores as a real one does.
package clustertest

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/internal/memnet"
)

// Timeout bounds every wait of the harness (a leader, a stop).
const Timeout = 20 * time.Second

// Service is what runs on a node. Start and Stop start and stop its
// cluster node among the rest.
type Service interface {
	Start() error
	Stop() error
}

// Config describes a cluster.
type Config struct {
	// Nodes is the number of nodes, all voters of the first start.
	Nodes int
	// Settings are every node's settings; the zero value means
	// Settings(). InsecurePlaintext is set by the harness: a node without
	// a guard runs in plaintext.
	Settings cocobackend.ClusterSettings
	// NewService builds what runs on nd, at every start of the node; it
	// must call nd.NewCluster exactly once.
	NewService func(nd *Node) (Service, error)
}

// Settings are short Raft timings for tests (150 ms heartbeat, election
// and lease) and no snapshot unless a test lowers the thresholds.
func Settings() cocobackend.ClusterSettings {
	return cocobackend.ClusterSettings{
		HeartbeatTimeout:  150 * time.Millisecond,
		SnapshotThreshold: 1 << 20,
		SnapshotInterval:  time.Hour,
		TrailingLogs:      1 << 20,
	}
}

// Cluster is a running test cluster.
type Cluster struct {
	t     testing.TB
	cfg   Config
	peers []cocobackend.Peer
	// Net is the network the nodes talk over.
	Net *memnet.Network
	// Nodes are the nodes, by index.
	Nodes []*Node
}

// NodeID is the Raft id of node i: vn<i>.
func NodeID(i int) string { return fmt.Sprintf("vn%d", i) }

// NodeAddr is the node-to-node address of node i on the in-memory
// network: vn<i>:7000.
func NodeAddr(i int) string { return NodeID(i) + ":7000" }

// Node is one node of a cluster.
type Node struct {
	Index int
	ID    string // Raft id, NodeID(Index)
	Addr  string // node-to-node address, NodeAddr(Index)
	// Dir is the node's directory, kept across restarts; the Raft stores
	// live in Dir/raft, the rest is the service's.
	Dir string

	c      *Cluster
	mu     sync.Mutex
	svc    Service
	ledger *cocobackend.Cluster
	up     bool
}

// New starts a cluster of cfg.Nodes nodes; the test's cleanup stops the
// running ones and checks that they left no connection open.
func New(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Settings == (cocobackend.ClusterSettings{}) {
		cfg.Settings = Settings()
	}
	c := &Cluster{t: t, cfg: cfg, Net: memnet.New()}
	for i := 0; i < cfg.Nodes; i++ {
		nd := &Node{Index: i, ID: NodeID(i), Addr: NodeAddr(i), Dir: t.TempDir(), c: c}
		c.peers = append(c.peers, cocobackend.Peer{ID: nd.ID, Addr: nd.Addr})
		c.Nodes = append(c.Nodes, nd)
	}
	// Registered after the directories: cleanups run last first, so the
	// nodes stop before their directories go.
	t.Cleanup(func() {
		// Halted nodes first: their Raft is down but their mux still
		// accepts, and may queue a Raft connection in the closed Raft
		// channel, where the dialer's RPC waits for its timeout (10 s)
		// unless the mux closes. A leader's Stop waits for such an RPC.
		var rest []*Node
		for _, nd := range c.Running() {
			if nd.Ledger().Halted() != nil {
				c.Stop(nd)
			} else {
				rest = append(rest, nd)
			}
		}
		for _, nd := range rest {
			c.Stop(nd)
		}
		if n := c.Net.Open(); n != 0 {
			t.Errorf("%d node-to-node connections left open by stopped nodes", n)
		}
	})
	for _, nd := range c.Nodes {
		c.Start(nd)
	}
	return c
}

// NewCluster builds nd's cluster node around fsm with
// cocobackend.NewCluster. The harness sets the node's identity, the
// voters, the Raft directory, the settings and the network; cfg gives the
// rest: Forwarded (nil drops forwarded items) and Guard (nil runs the
// channel in insecure plaintext).
func (nd *Node) NewCluster(cfg cocobackend.ClusterConfig, fsm cocobackend.FSM) (*cocobackend.Cluster, error) {
	cfg.Settings = nd.c.cfg.Settings
	cfg.Settings.InsecurePlaintext = cfg.Guard == nil
	cfg.Self = cocobackend.Peer{ID: nd.ID, Addr: nd.Addr}
	cfg.Peers = nd.c.peers
	cfg.Dir = filepath.Join(nd.Dir, "raft")
	cfg.Network = nd.c.Net.Host(nd.Addr)
	if cfg.Forwarded == nil {
		cfg.Forwarded = func(*cocobackend.AuthPeer, [][]byte) {}
	}
	cl, err := cocobackend.NewCluster(cfg, fsm)
	if err != nil {
		return nil, err
	}
	nd.mu.Lock()
	nd.ledger = cl
	nd.mu.Unlock()
	return cl, nil
}

// Ledger is the node's cluster node: the running one, or the last one
// after the node stopped; nil before its first start.
func (nd *Node) Ledger() *cocobackend.Cluster {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.ledger
}

// Service is what runs on the node (the last one after it stopped).
func (nd *Node) Service() Service {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.svc
}

// Up reports whether the node runs.
func (nd *Node) Up() bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.up
}

// Start starts (or restarts) a stopped node: a new service on the node's
// directory.
func (c *Cluster) Start(nd *Node) {
	c.t.Helper()
	if nd.Up() {
		c.t.Fatalf("start %s: already running", nd.ID)
	}
	nd.mu.Lock()
	nd.ledger = nil
	nd.mu.Unlock()
	svc, err := c.cfg.NewService(nd)
	if err != nil {
		c.t.Fatalf("start %s: %v", nd.ID, err)
	}
	if nd.Ledger() == nil {
		c.t.Fatalf("start %s: the service did not build its cluster node with Node.NewCluster", nd.ID)
	}
	if err := svc.Start(); err != nil {
		c.t.Fatalf("start %s: %v", nd.ID, err)
	}
	nd.mu.Lock()
	nd.svc, nd.up = svc, true
	nd.mu.Unlock()
}

// Stop stops a running node's service; the others' connections to it end
// and their dials to it are refused until it starts again.
func (c *Cluster) Stop(nd *Node) {
	c.t.Helper()
	nd.mu.Lock()
	svc, up := nd.svc, nd.up
	nd.up = false
	nd.mu.Unlock()
	if !up {
		c.t.Fatalf("stop %s: not running", nd.ID)
	}
	if err := svc.Stop(); err != nil {
		c.t.Errorf("stop %s: %v", nd.ID, err)
	}
}

// Restart stops and starts a node.
func (c *Cluster) Restart(nd *Node) {
	c.t.Helper()
	c.Stop(nd)
	c.Start(nd)
}

// Partition cuts nd off from every other node, both ways: its connections
// are reset and dials from or to it fail at once, until Heal.
func (c *Cluster) Partition(nd *Node) { c.Net.Partition(nd.Addr) }

// Heal ends nd's partition.
func (c *Cluster) Heal(nd *Node) { c.Net.Heal(nd.Addr) }

// Running returns the running nodes.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, nd := range c.Nodes {
		if nd.Up() {
			out = append(out, nd)
		}
	}
	return out
}

// Others returns every node but nd.
func (c *Cluster) Others(nd *Node) []*Node {
	var out []*Node
	for _, o := range c.Nodes {
		if o != nd {
			out = append(out, o)
		}
	}
	return out
}

// Leader waits until exactly one of among (default: the running nodes)
// is leader and caught up (IsLeader) and all of them name it leader, and
// returns it.
func (c *Cluster) Leader(among ...*Node) *Node {
	c.t.Helper()
	if len(among) == 0 {
		among = c.Running()
	}
	var lead *Node
	ok := poll(Timeout, func() bool {
		lead = nil
		for _, nd := range among {
			if nd.Ledger().IsLeader() {
				if lead != nil {
					return false
				}
				lead = nd
			}
		}
		if lead == nil {
			return false
		}
		for _, nd := range among {
			if id, _ := nd.Ledger().Leader(); id != lead.ID {
				return false
			}
		}
		return true
	})
	if !ok {
		var roles []string
		for _, nd := range among {
			id, _ := nd.Ledger().Leader()
			roles = append(roles, fmt.Sprintf("%s: %s naming %q", nd.ID, nd.Ledger().Role(), id))
		}
		c.t.Fatalf("no single leader after %v: %v", Timeout, roles)
	}
	return lead
}

// poll polls cond until it holds (true) or timeout passes (false).
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
	return true
}
