package main

import (
	"bytes"
	"fmt"
	"net"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
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
)

// cluster holds what a Raft node runs beside the Ethereum service.
type cluster struct {
	ledger *cocobackend.Raft
	mux    *cocobackend.Mux
	store  *store.RaftStore
	fwd    *cocobackend.Forwarder
	self   genesis.Validator
	// governed: Raft membership follows the constitution's node list.
	governed bool
}

// Start implements node.Lifecycle (everything started in newLedger).
func (c *cluster) Start() error { return nil }

// Stop implements node.Lifecycle. It runs after the Ethereum service
// stopped the ledger.
func (c *cluster) Stop() error {
	if c.fwd != nil {
		c.fwd.Close()
	}
	c.mux.Close()
	return c.store.Close()
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
		bootstrap := true
		if self == nil {
			if !ctx.IsSet(raftID.Name) || !ctx.IsSet(raftAddr.Name) {
				return nil, fmt.Errorf("this node's key %x is not among config.coco.validators of the genesis (see `cocogeth nodekey`); a node joining later needs --raft.id and --raft.addr", mine)
			}
			self = &genesis.Validator{ID: ctx.String(raftID.Name), RaftAddr: ctx.String(raftAddr.Name)}
			bootstrap = false
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
		mux := cocobackend.NewMux(ln, dialer)
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
		c := &cluster{ledger: ledger, mux: mux, store: rs, self: *self, governed: spec.Coco.Governed()}
		*out = c
		// Registered before the Ethereum service, so stopped after it.
		stack.RegisterLifecycle(c)
		stack.RegisterAPIs([]rpc.API{{Namespace: "raft", Service: cocobackend.NewRaftAPI(ledger, fsm.AppliedIndex, spec.Coco.Governed())}})
		log.Info("Validating node of a Raft cluster", "id", self.ID, "raft", listen, "validators", len(vals))
		return ledger, nil
	}
}

// connect wires forwarding once both the service and the ledger exist.
func (c *cluster) connect(svc *eth.Service) {
	c.fwd = cocobackend.NewForwarder(c.mux, c.self.RaftAddr, c.ledger.Leader)
	svc.SetForwarder(func(item []byte) { c.fwd.Send(item) })
	go cocobackend.ServeForwarded(c.mux, svc.AddForwarded)
}

// watchLeader re-forwards the pool to every new leader; call after the
// node started.
func (c *cluster) watchLeader(svc *eth.Service) {
	changes := c.ledger.LeaderChanges()
	go func() {
		for addr := range changes {
			if addr != "" && addr != c.self.RaftAddr {
				svc.ResendPool()
			}
		}
	}()
}

// followConstitution makes the Raft membership follow the constitution:
// the leader, after every block that changed the constitution and when it
// takes over, adds the listed nodes that are not voters and removes voters
// no longer listed. A node not in the constitution is never added.
func (c *cluster) followConstitution(svc *eth.Service) {
	if !c.governed {
		return
	}
	events := make(chan core.ChainEvent, 64)
	sub := svc.Chain().SubscribeChainEvent(events)
	lead := c.ledger.LeadershipChanges()
	go func() {
		defer sub.Unsubscribe()
		var seen uint64
		for {
			force := false
			select {
			case <-events:
			case <-lead:
				force = true
			case <-sub.Err():
				return
			}
			if !c.ledger.IsLeader() {
				seen = 0
				continue
			}
			st, err := svc.Chain().State()
			if err != nil {
				continue
			}
			v := governance.Version(st)
			if v == seen && !force {
				continue
			}
			cons, err := governance.Load(st)
			if err != nil {
				log.Error("Cannot read the constitution", "err", err)
				continue
			}
			if c.reconcile(cons.Nodes) {
				seen = v
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
