package main

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/hashicorp/raft"
	"github.com/urfave/cli/v2"
)

var (
	raftAddr      = &cli.StringFlag{Name: "raft.addr", Usage: "Node-to-node listening address (default: this node's raftAddr in the genesis)"}
	raftID        = &cli.StringFlag{Name: "raft.id", Usage: "Raft id of a node not listed in the genesis, to be added later by raft_addPeer (needs --raft.addr)"}
	raftHeartbeat = &cli.DurationFlag{Name: "raft.heartbeat", Usage: "Raft heartbeat and election timeout", Value: cocobackend.DefaultRaftConfig().HeartbeatTimeout}
	raftSnapshot  = &cli.Uint64Flag{Name: "raft.snapshot-threshold", Usage: "Ledger entries between state snapshots", Value: cocobackend.DefaultRaftConfig().SnapshotThreshold}
	raftSnapEvery = &cli.DurationFlag{Name: "raft.snapshot-interval", Usage: "How often Raft checks whether a state snapshot is due", Value: cocobackend.DefaultRaftConfig().SnapshotInterval}
	raftTrailing  = &cli.Uint64Flag{Name: "raft.trailing-logs", Usage: "Ledger entries kept after a snapshot for lagging followers", Value: cocobackend.DefaultRaftConfig().TrailingLogs}
	raftPlaintext = &cli.BoolFlag{Name: "raft.insecure-plaintext", Usage: "INSECURE: node-to-node traffic in plain TCP, without mutual TLS: anyone who reaches the port can forge transactions and depose the leader (refused on governed networks; for measuring the cost of TLS)"}
)

// cluster holds what a Raft node runs beside the Ethereum service.
type cluster struct {
	ledger *cocobackend.Raft
	mux    *cocobackend.Mux
	store  *store.RaftStore
	fwd    *cocobackend.Forwarder
	self   genesis.Validator
	// admitted holds the nodes the mux's guard admits (nil in plaintext
	// mode): the genesis validators, or the constitution's nodes.
	admitted *nodetls.Registry
	// trusted are the nodes whose forwarded senders are trusted: the
	// genesis validators, or the constitution's nodes as of the last block
	// read. Never widened by the leader's removal grace.
	trusted atomic.Pointer[map[string][]byte]
	// governed: Raft membership follows the constitution's node list.
	governed bool
	quit     chan struct{}
	wg       sync.WaitGroup
}

// Start implements node.Lifecycle (everything started in newLedger).
func (c *cluster) Start() error { return nil }

// Stop implements node.Lifecycle. It runs after the Ethereum service
// stopped the ledger.
func (c *cluster) Stop() error {
	close(c.quit)
	c.wg.Wait()
	if c.fwd != nil {
		c.fwd.Close()
	}
	c.mux.Close()
	return c.store.Close()
}

// validatorKeys maps the ids of vals to their normalised public keys.
func validatorKeys(vals []genesis.Validator) (map[string][]byte, error) {
	out := make(map[string][]byte, len(vals))
	for _, v := range vals {
		k, err := nodetls.PublicKey(v.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("validator %q: public key: %v", v.ID, err)
		}
		out[v.ID] = k
	}
	return out, nil
}

// union returns the entries of a, and those of b whose ids a lacks.
func union(a, b map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(a)+len(b))
	for id, k := range b {
		out[id] = k
	}
	for id, k := range a {
		out[id] = k
	}
	return out
}

// constitutionKeys maps the ids of the constitution's nodes to their keys;
// a node whose key does not parse is left out (and so not admitted).
func constitutionKeys(cons *governance.Constitution) map[string][]byte {
	out := make(map[string][]byte, len(cons.Nodes))
	for _, n := range cons.Nodes {
		k, err := nodetls.PublicKey(n.PublicKey)
		if err != nil {
			log.Warn("Constitution lists a node key that does not parse; node not admitted", "id", n.ID, "err", err)
			continue
		}
		out[n.ID] = k
	}
	return out
}

// ledgerFactory returns the eth.NewLedgerFunc of this node: a single-node
// ledger for a genesis without validators, else the Raft cluster member
// whose public key is this node's key.
func ledgerFactory(ctx *cli.Context, stack *node.Node, out **cluster) eth.NewLedgerFunc {
	return func(spec *genesis.Spec, fsm cocobackend.FSM) (cocobackend.Ledger, error) {
		vals := spec.Coco.InitialValidators()
		if len(vals) == 0 {
			return cocobackend.NewSolo(fsm), nil
		}
		key := stack.Config().NodeKey()
		mine := crypto.FromECDSAPub(&key.PublicKey)
		var self *genesis.Validator
		for i := range vals {
			pk, err := vals[i].Key()
			if err == nil && bytes.Equal(crypto.FromECDSAPub(pk), mine) {
				self = &vals[i]
			}
		}
		plaintext := ctx.Bool(raftPlaintext.Name)
		if plaintext && spec.Coco.Governed() {
			return nil, fmt.Errorf("--%s is refused on a governed network: its members' votes would be open to forgery", raftPlaintext.Name)
		}
		bootstrap := true
		if self == nil {
			if !ctx.IsSet(raftID.Name) || !ctx.IsSet(raftAddr.Name) {
				return nil, fmt.Errorf("this node's key %x is not among config.coco.validators of the genesis (see `cocogeth nodekey`); a node joining later needs --raft.id and --raft.addr", mine)
			}
			if !spec.Coco.Governed() && !plaintext {
				return nil, fmt.Errorf("this node's key %x is not among config.coco.validators of the genesis: on a network without governance the genesis fixes the validating nodes (a governed network adds nodes by member vote)", mine)
			}
			self = &genesis.Validator{ID: ctx.String(raftID.Name), RaftAddr: ctx.String(raftAddr.Name)}
			bootstrap = false
		}
		var (
			guard    cocobackend.Guard
			admitted *nodetls.Registry
		)
		if plaintext {
			log.Warn("INSECURE: node-to-node traffic is plain TCP without authentication; anyone who reaches the node-to-node port can forge transactions and depose the leader", "flag", "--"+raftPlaintext.Name)
		} else {
			keys, err := validatorKeys(vals)
			if err != nil {
				return nil, err
			}
			admitted = nodetls.NewRegistry(keys)
			g, err := nodetls.NewGuard(nodetls.Identity{ID: self.ID, Key: key, Network: spec.Eth.ToBlock().Hash()}, admitted)
			if err != nil {
				return nil, err
			}
			guard = g
		}
		listen := self.RaftAddr
		if ctx.IsSet(raftAddr.Name) {
			listen = ctx.String(raftAddr.Name)
		}
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return nil, fmt.Errorf("node-to-node listener: %w", err)
		}
		var dialer cocobackend.TCPDialer
		if host, _, err := net.SplitHostPort(listen); err == nil {
			if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
				dialer.Source = ip
			}
		}
		mux := cocobackend.NewMux(ln, dialer, guard)
		rs, err := store.OpenRaftStore(stack.ResolvePath("raft/log"), store.Options{})
		if err != nil {
			mux.Close()
			return nil, err
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(stack.ResolvePath("raft"), 2, cocobackend.NewRaftLogger(self.ID))
		if err != nil {
			mux.Close()
			rs.Close()
			return nil, err
		}
		trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: mux.RaftStreamLayer(self.RaftAddr), MaxPool: 4, Timeout: 10 * time.Second, Logger: cocobackend.NewRaftLogger(self.ID),
		})
		cfg := cocobackend.DefaultRaftConfig()
		cfg.ID, cfg.Addr = self.ID, self.RaftAddr
		cfg.Channel = "mutual TLS"
		if plaintext {
			cfg.Channel = "INSECURE plain TCP"
		}
		cfg.HeartbeatTimeout = ctx.Duration(raftHeartbeat.Name)
		cfg.ElectionTimeout = cfg.HeartbeatTimeout
		cfg.LeaderLease = cfg.HeartbeatTimeout
		cfg.SnapshotThreshold = ctx.Uint64(raftSnapshot.Name)
		cfg.TrailingLogs = ctx.Uint64(raftTrailing.Name)
		cfg.SnapshotInterval = ctx.Duration(raftSnapEvery.Name)
		for _, v := range vals {
			if bootstrap {
				cfg.Peers = append(cfg.Peers, cocobackend.Peer{ID: v.ID, Addr: v.RaftAddr})
			}
		}
		ledger, err := cocobackend.NewRaft(cfg, fsm, trans, rs, rs, snaps)
		if err != nil {
			mux.Close()
			rs.Close()
			return nil, err
		}
		c := &cluster{ledger: ledger, mux: mux, store: rs, self: *self, admitted: admitted, governed: spec.Coco.Governed(), quit: make(chan struct{})}
		if admitted != nil {
			keys := admitted.Snapshot()
			c.trusted.Store(&keys)
		}
		*out = c
		// Registered before the Ethereum service, so stopped after it.
		stack.RegisterLifecycle(c)
		var admits func(id string) bool
		if admitted != nil {
			admits = func(id string) bool { _, ok := admitted.Lookup(id); return ok }
		}
		stack.RegisterAPIs([]rpc.API{{Namespace: "raft", Service: cocobackend.NewRaftAPI(ledger, fsm.AppliedIndex, spec.Coco.Governed(), admits)}})
		log.Info("Validating node of a Raft cluster", "id", self.ID, "raft", listen, "validators", len(vals), "channel", cfg.Channel)
		return ledger, nil
	}
}

// connect wires forwarding once both the service and the ledger exist,
// and on a governed network admits the nodes of the constitution the
// chain holds now (before Raft starts).
func (c *cluster) connect(svc *eth.Service) error {
	if c.governed && c.admitted != nil {
		st, err := svc.Chain().State()
		if err != nil {
			return err
		}
		cons, err := governance.Load(st)
		if err != nil {
			return fmt.Errorf("read the constitution: %w", err)
		}
		keys := constitutionKeys(cons)
		c.admitted.Set(keys)
		c.trusted.Store(&keys)
	}
	c.fwd = cocobackend.NewForwarder(c.mux, c.self.RaftAddr, c.ledger.Leader)
	svc.SetForwarder(func(item []byte) { c.fwd.Send(item) })
	go cocobackend.ServeForwarded(c.mux, func(from *cocobackend.AuthPeer, items [][]byte) {
		svc.AddForwarded(items, c.trusts(from))
	})
	return nil
}

// trusts reports whether forwards from an authenticated node carry
// trusted senders: it must be a listed node with its listed key.
func (c *cluster) trusts(from *cocobackend.AuthPeer) bool {
	if from == nil {
		return false
	}
	nodes := c.trusted.Load()
	return nodes != nil && bytes.Equal((*nodes)[from.ID], from.Key)
}

// watchLeader re-forwards the pool to every new leader; call after the
// node started.
func (c *cluster) watchLeader(svc *eth.Service) {
	changes := c.ledger.LeaderChanges()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			select {
			case <-c.quit:
				return
			case addr, ok := <-changes:
				if !ok {
					return
				}
				if addr != "" && addr != c.self.RaftAddr {
					svc.ResendPool()
				}
			}
		}
	}()
}

// removalGrace is how long the leader keeps connections to a node voted
// out after the Raft configuration without it committed.
const removalGrace = 500 * time.Millisecond

// constitutionPoll is how often a governed node re-reads the constitution
// besides after every block (a snapshot install replaces the state
// without a block event).
const constitutionPoll = 2 * time.Second

// followConstitution makes the node follow the constitution. On every
// node, after every block that changed it, the admitted node keys become
// the constitution's and connections of nodes no longer listed are cut.
// On the leader, after such a block and when it takes over, the Raft
// membership follows too: listed nodes that are not voters are added,
// voters no longer listed removed. A node not in the constitution is never
// added.
func (c *cluster) followConstitution(svc *eth.Service) {
	if !c.governed {
		return
	}
	events := make(chan core.ChainEvent, 64)
	sub := svc.Chain().SubscribeChainEvent(events)
	lead := c.ledger.LeadershipChanges()
	poll := time.NewTicker(constitutionPoll)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer sub.Unsubscribe()
		defer poll.Stop()
		var admittedAt, reconciledAt uint64
		for {
			force := false
			select {
			case <-c.quit:
				return
			case <-events:
			case <-poll.C:
			case <-lead:
				force = true
			case <-sub.Err():
				return
			}
			st, err := svc.Chain().State()
			if err != nil {
				continue
			}
			v := governance.Version(st)
			leader := c.ledger.IsLeader()
			if !leader {
				reconciledAt = 0
			}
			if v == admittedAt && (!leader || (v == reconciledAt && !force)) {
				continue
			}
			cons, err := governance.Load(st)
			if err != nil {
				log.Error("Cannot read the constitution", "err", err)
				continue
			}
			keys := constitutionKeys(cons)
			c.trusted.Store(&keys)
			if leader && c.admitted != nil {
				// The leader keeps admitting a node being removed until
				// the Raft configuration without it is committed and a
				// moment more: its last replication carries that
				// configuration to the removed node, which so learns that
				// it is out. Its forwards are no longer trusted meanwhile
				// (c.trusted).
				before := c.admitted.Snapshot()
				c.admitted.Set(union(keys, before))
				if c.reconcile(cons.Nodes) {
					reconciledAt = v
				}
				if len(union(keys, before)) > len(keys) {
					select {
					case <-time.After(removalGrace):
					case <-c.quit:
						return
					}
				}
			}
			if c.admitted != nil && (v != admittedAt || leader) {
				if c.admitted.Set(keys) {
					log.Info("Admitted validating nodes follow the constitution", "version", v, "nodes", len(keys))
					c.mux.Recheck()
				}
				admittedAt = v
			}
		}
	}()
}

// reconcile adds and removes voters; true when the cluster matches.
func (c *cluster) reconcile(nodes []governance.Node) bool {
	servers, err := c.ledger.Servers()
	if err != nil {
		return false
	}
	want := make(map[string]string, len(nodes))
	for _, n := range nodes {
		want[n.ID] = n.RaftAddr
	}
	have := make(map[string]bool, len(servers))
	ok := true
	for _, s := range servers {
		have[s.ID] = true
		if _, listed := want[s.ID]; !listed {
			log.Info("Removing validating node no longer in the constitution", "id", s.ID, "addr", s.Address)
			if err := c.ledger.RemoveServer(s.ID); err != nil {
				log.Warn("Raft removal failed", "id", s.ID, "err", err)
				ok = false
			}
		}
	}
	for id, addr := range want {
		if !have[id] {
			log.Info("Adding validating node listed by the constitution", "id", id, "addr", addr)
			if err := c.ledger.AddVoter(id, addr); err != nil {
				log.Warn("Raft addition failed", "id", id, "err", err)
				ok = false
			}
		}
	}
	return ok
}

var nodeKeyCommand = &cli.Command{
	Name:  "nodekey",
	Usage: "Print this node's public key (created on first use) for config.coco.validators",
	Flags: []cli.Flag{dataDirFlag},
	Action: func(ctx *cli.Context) error {
		cfg := defaultConfig()
		cfg.Node.DataDir = ctx.String(dataDirFlag.Name)
		key := cfg.Node.NodeKey()
		fmt.Printf("0x%x\n", crypto.FromECDSAPub(&key.PublicKey))
		return nil
	},
}
