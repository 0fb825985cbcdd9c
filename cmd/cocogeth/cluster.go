package main

import (
	"bytes"
	"fmt"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/keyring"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

var (
	raftAddr      = &cli.StringFlag{Name: "raft.addr", Usage: "Node-to-node listening address (default: this node's raftAddr in the genesis)"}
	raftID        = &cli.StringFlag{Name: "raft.id", Usage: "Raft id of a node a governed network adds later by vote (needs --raft.addr)"}
	raftHeartbeat = &cli.DurationFlag{Name: "raft.heartbeat", Usage: "Raft heartbeat and election timeout", Value: cocobackend.DefaultClusterSettings().HeartbeatTimeout}
	raftSnapshot  = &cli.Uint64Flag{Name: "raft.snapshot-threshold", Usage: "Ledger entries between state snapshots", Value: cocobackend.DefaultClusterSettings().SnapshotThreshold}
	raftSnapEvery = &cli.DurationFlag{Name: "raft.snapshot-interval", Usage: "How often Raft checks whether a state snapshot is due", Value: cocobackend.DefaultClusterSettings().SnapshotInterval}
	raftTrailing  = &cli.Uint64Flag{Name: "raft.trailing-logs", Usage: "Ledger entries kept after a snapshot for lagging followers", Value: cocobackend.DefaultClusterSettings().TrailingLogs}
	raftPlaintext = &cli.BoolFlag{Name: "raft.insecure-plaintext", Usage: "INSECURE: node-to-node traffic in plain TCP, without mutual TLS: anyone who reaches the port can forge transactions and depose the leader (refused on governed networks; for measuring the cost of TLS)"}
)

// applyRaftFlags sets the cluster settings from flags given on the
// command line.
func applyRaftFlags(ctx *cli.Context, r *cocobackend.ClusterSettings) {
	set := ctx.IsSet
	if set(raftAddr.Name) {
		r.Listen = ctx.String(raftAddr.Name)
	}
	if set(raftHeartbeat.Name) {
		r.HeartbeatTimeout = ctx.Duration(raftHeartbeat.Name)
	}
	if set(raftSnapshot.Name) {
		r.SnapshotThreshold = ctx.Uint64(raftSnapshot.Name)
	}
	if set(raftSnapEvery.Name) {
		r.SnapshotInterval = ctx.Duration(raftSnapEvery.Name)
	}
	if set(raftTrailing.Name) {
		r.TrailingLogs = ctx.Uint64(raftTrailing.Name)
	}
	if set(raftPlaintext.Name) {
		r.InsecurePlaintext = ctx.Bool(raftPlaintext.Name)
	}
}

// ledgerFactory returns the eth.NewLedgerFunc of this node: a single-node
// ledger for a genesis without validators, else the Raft cluster member
// whose public key is this node's key. The raft_ API goes to servers.
func ledgerFactory(ctx *cli.Context, stack *node.Node, settings cocobackend.ClusterSettings, servers *rpcServers, enclave tee.TEE, keys *keyring.Keyring) eth.NewLedgerFunc {
	return func(d eth.LedgerDeps) (cocobackend.Ledger, error) {
		spec, fsm := d.Spec, d.FSM
		vals := spec.Coco.InitialValidators()
		self := selfAttestation(enclave)
		if len(vals) == 0 {
			view := cocobackend.SoloNetwork("solo", fsm.AppliedIndex, self)
			servers.register(stack, []rpc.API{{Namespace: "coco", Service: cocobackend.NewNetworkAPI(view)}})
			return cocobackend.NewSolo(fsm), nil
		}
		if settings.InsecurePlaintext && spec.Coco.Governed() {
			return nil, fmt.Errorf("--%s is refused on a governed network: its members' votes would be open to forgery", raftPlaintext.Name)
		}
		key := stack.Config().NodeKey()
		mine := crypto.FromECDSAPub(&key.PublicKey)
		if err := refusePlaintext(spec); err != nil {
			return nil, err
		}
		cfg := cocobackend.ClusterConfig{Settings: settings, Dir: stack.ResolvePath("raft"), Forwarded: d.Forwarded,
			StoreIdentity: nodeIdentity(stack), OnCorrupt: stopOnCorrupt, SelfAttestation: self}
		if keys != nil {
			cfg.Keys = keys
		}
		found := false
		for _, v := range vals {
			cfg.Peers = append(cfg.Peers, cocobackend.Peer{ID: v.ID, Addr: v.RaftAddr})
			if pk, err := v.Key(); err == nil && bytes.Equal(crypto.FromECDSAPub(pk), mine) {
				cfg.Self, found = cocobackend.Peer{ID: v.ID, Addr: v.RaftAddr}, true
			}
		}
		if !found {
			if !ctx.IsSet(raftID.Name) || !ctx.IsSet(raftAddr.Name) {
				return nil, fmt.Errorf("this node's key %x is not among config.coco.validators of the genesis (see `cocogeth nodekey`); a node joining later needs --raft.id and --raft.addr", mine)
			}
			if !spec.Coco.Governed() && !settings.InsecurePlaintext {
				return nil, fmt.Errorf("this node's key %x is not among config.coco.validators of the genesis: on a network without governance the genesis fixes the validating nodes (a governed network adds nodes by member vote)", mine)
			}
			// Waiting to be added: no bootstrap.
			cfg.Self, cfg.Peers = cocobackend.Peer{ID: ctx.String(raftID.Name), Addr: ctx.String(raftAddr.Name)}, nil
		}
		if !settings.InsecurePlaintext {
			// The admitted nodes are set by the service from the genesis
			// or the constitution before the cluster starts.
			// Every certificate carries this node's TEE report over its
			// key. Peers must attest too: on a governed network to the
			// constitution's manifests (set by the service), otherwise
			// to this node's TEE kind, any code.
			g, err := nodetls.NewGuard(nodetls.Identity{ID: cfg.Self.ID, Key: key, Network: d.Genesis, TEE: enclave}, nodetls.NewRegistry(nil))
			if err != nil {
				return nil, err
			}
			if !spec.Coco.Governed() {
				g.SetAttestation(cocobackend.Attestation{Required: true, Kinds: []string{enclave.Kind()}, AnyCode: true})
			}
			cfg.Guard = g
		}
		cl, err := cocobackend.NewCluster(cfg, fsm)
		if err != nil {
			return nil, err
		}
		servers.register(stack, []rpc.API{
			{Namespace: "raft", Service: cocobackend.NewRaftAPI(cl.Raft, fsm.AppliedIndex, spec.Coco.Governed(), cl.Admitted)},
			{Namespace: "coco", Service: cocobackend.NewNetworkAPI(cl.Network)},
		})
		return cl, nil
	}
}

// selfAttestation is what this node's TEE proves of it: its kind and code
// identity, verified from a report of its own, as a peer would.
func selfAttestation(enclave tee.TEE) cocobackend.SelfAttestation {
	report, err := enclave.Report([]byte("cocogeth node status"))
	if err != nil {
		return cocobackend.SelfAttestation{}
	}
	c, err := enclave.Verify(report)
	if err != nil {
		return cocobackend.SelfAttestation{}
	}
	return cocobackend.SelfAttestation{TEE: c.Kind, Code: c.UniqueID}
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
