package cocobackend

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/ethereum/go-ethereum/log"
	"github.com/hashicorp/raft"
)

// ClusterSettings are an operator's settings of a cluster node: the
// [Raft] section of the node's TOML configuration, with a flag each.
type ClusterSettings struct {
	// Listen is where the node-to-node port listens; empty means the
	// node's advertised address (its raftAddr in the genesis or the
	// constitution).
	Listen string `toml:",omitempty"`
	// HeartbeatTimeout is Raft's heartbeat and election timeout and
	// leader lease.
	HeartbeatTimeout  time.Duration
	SnapshotThreshold uint64        // ledger entries between state snapshots
	SnapshotInterval  time.Duration // how often Raft checks whether one is due
	TrailingLogs      uint64        // entries kept after a snapshot
	// InsecurePlaintext runs the node-to-node channel in plain TCP without
	// authentication (measurements only; refused on governed networks).
	InsecurePlaintext bool
}

// DefaultClusterSettings are the defaults of DefaultRaftConfig.
func DefaultClusterSettings() ClusterSettings {
	d := DefaultRaftConfig()
	return ClusterSettings{
		HeartbeatTimeout:  d.HeartbeatTimeout,
		SnapshotThreshold: d.SnapshotThreshold,
		SnapshotInterval:  d.SnapshotInterval,
		TrailingLogs:      d.TrailingLogs,
	}
}

// ClusterConfig is everything NewCluster needs.
type ClusterConfig struct {
	Settings ClusterSettings
	// Self is this node's Raft id and advertised node-to-node address.
	Self Peer
	// Peers are the voters of the first start; empty for a node that
	// waits to be added by the leader.
	Peers []Peer
	// Dir holds the Raft log, stable store and snapshots.
	Dir string
	// Guard authenticates every node-to-node connection; nil only with
	// Settings.InsecurePlaintext.
	Guard NodeGuard
	// Forwarded receives the transactions other nodes forward to this one
	// (when it leads).
	Forwarded ForwardHandler
	// Network carries the node-to-node port instead of TCP when not nil:
	// the node listens and dials through it (tests run whole clusters in
	// memory). Nil is TCP.
	Network Network
	// Keys, when set, encrypts the Raft log, stable store and snapshots
	// (package store), bound to this node's id, and the node serves them
	// on the keys channel to admitted nodes. Nil stores plaintext (tests).
	Keys LedgerKeys
	// StoreIdentity names this node's stores among the network's (their
	// files are bound to it); empty means Self.ID.
	StoreIdentity string
	// OnCorrupt is called once when a store meets a damaged file after
	// it opened (store.Options.OnCorrupt); a node stops on it.
	OnCorrupt func(error)
	// SelfAttestation is what this node's TEE proves of it (kind and code
	// identity), shown as its own line of the network view.
	SelfAttestation SelfAttestation
}

// Network is where a cluster node listens for node-to-node connections
// and dials them; ClusterConfig.Network replaces TCP with it.
type Network interface {
	Listen(addr string) (net.Listener, error)
	Dialer
}

// Attestation is what the node-to-node channel requires of peers' TEEs:
// when Required, a report over the peer's TLS key, of a kind in Kinds, for
// code in CodeIDs (or any code with AnyCode, as on a network without a
// constitution), and for a node in Pinned exactly its pinned code. Empty
// manifests admit nothing.
type Attestation struct {
	Required bool
	Kinds    []string
	CodeIDs  [][32]byte
	AnyCode  bool
	Pinned   map[string][32]byte
}

// NodeGuard is the guard of a cluster node: a Guard whose admitted nodes
// (node id → 65-byte public key) the node sets as the genesis or the
// constitution lists them.
type NodeGuard interface {
	Guard
	// SetAdmitted replaces the admitted nodes; it reports a change.
	SetAdmitted(nodes map[string][]byte) bool
	// SetAttestation replaces what peers' TEEs must prove; it reports a
	// change.
	SetAttestation(a Attestation) bool
	// Admits reports whether node id is admitted.
	Admits(id string) bool
}

// Capabilities a Cluster offers beyond Ledger, checked by the Ethereum
// adapter by name.
type (
	// Forwarding sends what a follower admitted to the leader.
	Forwarding interface {
		// Forward queues an item for the current leader; it never
		// blocks.
		Forward(item []byte)
		// NewLeader is signalled when another node became leader: what
		// waits for inclusion should be forwarded again.
		NewLeader() <-chan struct{}
	}
	// Admission sets which nodes the node-to-node channel admits (node
	// id → 65-byte public key) and cuts the connections of the others.
	Admission interface {
		SetAdmitted(nodes map[string][]byte)
	}
	// Attesting sets what peers' TEEs must prove (the constitution's TEE
	// and code manifests) and cuts the connections that no longer do.
	Attesting interface {
		SetAttestation(a Attestation)
	}
	// Membership changes the Raft configuration (leader only).
	Membership interface {
		Servers() ([]Server, error)
		AddVoter(id, addr string) error
		RemoveServer(id string) error
	}
)

var (
	_ Ledger     = (*Cluster)(nil)
	_ Forwarding = (*Cluster)(nil)
	_ Admission  = (*Cluster)(nil)
	_ Attesting  = (*Cluster)(nil)
	_ Membership = (*Cluster)(nil)
)

// Cluster is a validating node of a Raft cluster: the Raft ledger with
// the listener, mux, stores, transport and forwarder it runs on, all
// owned here and closed by Stop.
type Cluster struct {
	*Raft
	cfg       ClusterConfig
	mux       *Mux
	store     *store.RaftStore
	fwd       *Forwarder
	fsm       FSM
	status    statusCache
	newLeader chan struct{}
	quit      chan struct{}
	wg        sync.WaitGroup
	stopOnce  sync.Once
}

// NewCluster opens the node's Raft stores under cfg.Dir, listens on its
// node-to-node port and builds the Raft ledger around fsm. Nothing talks
// to other nodes before Start.
func NewCluster(cfg ClusterConfig, fsm FSM) (*Cluster, error) {
	s := cfg.Settings
	if cfg.Guard == nil && !s.InsecurePlaintext {
		return nil, errors.New("cluster: a node-to-node guard is required unless the channel is insecure plaintext")
	}
	if cfg.Forwarded == nil {
		return nil, errors.New("cluster: no handler of forwarded transactions")
	}
	rc := DefaultRaftConfig()
	rc.ID, rc.Addr, rc.Peers = cfg.Self.ID, cfg.Self.Addr, cfg.Peers
	if s.HeartbeatTimeout > 0 {
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLease = s.HeartbeatTimeout, s.HeartbeatTimeout, s.HeartbeatTimeout
	}
	rc.SnapshotThreshold, rc.SnapshotInterval, rc.TrailingLogs = s.SnapshotThreshold, s.SnapshotInterval, s.TrailingLogs
	rc.Channel = "mutual TLS"
	if s.InsecurePlaintext {
		rc.Channel = "INSECURE plain TCP"
	}
	if err := rc.Validate(); err != nil {
		return nil, err
	}
	listen := s.Listen
	if listen == "" {
		listen = cfg.Self.Addr
	}
	ln, dialer, err := listenNodes(cfg.Network, listen)
	if err != nil {
		return nil, fmt.Errorf("node-to-node listener: %w", err)
	}
	c := &Cluster{cfg: cfg, fsm: fsm, newLeader: make(chan struct{}, 1), quit: make(chan struct{})}
	c.mux = NewMux(ln, dialer, cfg.Guard)
	fail := func(err error) (*Cluster, error) {
		c.mux.Close()
		if c.store != nil {
			c.store.Close()
		}
		return nil, err
	}
	storeID := cfg.StoreIdentity
	if storeID == "" {
		storeID = rc.ID
	}
	sopts := store.Options{OnCorrupt: cfg.OnCorrupt}
	if cfg.Keys != nil {
		sopts.Keys, sopts.Identity = cfg.Keys, storeID+"/raft-log"
	}
	if c.store, err = store.OpenRaftStore(filepath.Join(cfg.Dir, "log"), sopts); err != nil {
		return fail(err)
	}
	var snaps raft.SnapshotStore
	if snaps, err = raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, NewRaftLogger(rc.ID)); err != nil {
		return fail(err)
	}
	if cfg.Keys != nil {
		if snaps, err = store.NewSnapshotStore(snaps, cfg.Keys, storeID+"/raft-snapshot", cfg.OnCorrupt); err != nil {
			return fail(err)
		}
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: c.mux.RaftStreamLayer(rc.Addr), MaxPool: 4, Timeout: 10 * time.Second, Logger: NewRaftLogger(rc.ID),
	})
	if c.Raft, err = NewRaft(rc, fsm, trans, c.store, c.store, snaps); err != nil {
		trans.Close()
		return fail(err)
	}
	c.fwd = NewForwarder(c.mux, rc.Addr, c.Raft.Leader)
	log.Info("Validating node of a Raft cluster", "id", rc.ID, "raft", listen, "voters", len(cfg.Peers), "channel", rc.Channel)
	if s.InsecurePlaintext {
		log.Warn("INSECURE: node-to-node traffic is plain TCP without authentication; anyone who reaches the node-to-node port can forge transactions and depose the leader")
	}
	return c, nil
}

// listenNodes listens on the node-to-node port at addr and returns the
// dialer of outgoing connections: those of network, or TCP when it is nil.
func listenNodes(network Network, addr string) (net.Listener, Dialer, error) {
	if network != nil {
		ln, err := network.Listen(addr)
		return ln, network, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	// A node bound to one address of a multi-homed host also dials from
	// it, so peers and firewalls see one address per node.
	var dialer TCPDialer
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			dialer.Source = ip
		}
	}
	return ln, dialer, nil
}

// Start starts Raft and serves forwarded transactions.
func (c *Cluster) Start() error {
	if err := c.Raft.Start(); err != nil {
		return err
	}
	changes := c.Raft.LeaderChanges()
	if c.cfg.Keys != nil && c.mux.Authenticated() {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			serveKeys(c.mux, c.cfg.Keys)
		}()
	}
	c.wg.Add(3)
	go func() {
		defer c.wg.Done()
		ServeForwarded(c.mux, c.cfg.Forwarded)
	}()
	go func() {
		defer c.wg.Done()
		c.serveStatus()
	}()
	go func() {
		defer c.wg.Done()
		for {
			select {
			case <-c.quit:
				return
			case addr := <-changes:
				if addr != "" && addr != c.cfg.Self.Addr {
					select {
					case c.newLeader <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return nil
}

// Stop stops Raft, the forwarder and the mux, and closes the stores.
func (c *Cluster) Stop() error {
	var err error
	c.stopOnce.Do(func() {
		close(c.quit)
		err = c.Raft.Stop()
		c.fwd.Close()
		c.mux.Close()
		c.wg.Wait()
		if cerr := c.store.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// Forward implements Forwarding.
func (c *Cluster) Forward(item []byte) { c.fwd.Send(item) }

// NewLeader implements Forwarding.
func (c *Cluster) NewLeader() <-chan struct{} { return c.newLeader }

// SetAdmitted implements Admission: the guard admits nodes from now on,
// and open connections of others are cut. Without a guard (plaintext) it
// does nothing.
func (c *Cluster) SetAdmitted(nodes map[string][]byte) {
	if c.cfg.Guard != nil && c.cfg.Guard.SetAdmitted(nodes) {
		c.mux.Recheck()
	}
}

// SetAttestation implements Attesting.
func (c *Cluster) SetAttestation(a Attestation) {
	if c.cfg.Guard != nil && c.cfg.Guard.SetAttestation(a) {
		c.mux.Recheck()
	}
}

// Admitted reports whether the node-to-node channel admits node id; always
// true without a guard.
func (c *Cluster) Admitted(id string) bool {
	return c.cfg.Guard == nil || c.cfg.Guard.Admits(id)
}
