package testnode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// Keys of the governed development network (scripts/devnet.sh GOVERNED=1):
// members A, B and C, participant D. Public development keys, never for
// value.
const (
	GovKeyA = DevKeyHex
	GovKeyB = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
	GovKeyC = "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3d71ba1bbfd98a9b"
	GovKeyD = "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
)

// GovActors are the actors of the governed genesis, in order: the members
// A, B, C (owning node1, node2, node3) and the participant D.
var GovActors = []string{"A", "B", "C", "D"}

var govKeyHex = map[string]string{"A": GovKeyA, "B": GovKeyB, "C": GovKeyC, "D": GovKeyD}

// GovKey returns the private key of actor A, B, C or D.
func GovKey(actor string) *ecdsa.PrivateKey {
	h, ok := govKeyHex[actor]
	if !ok {
		panic("testnode: no governed actor " + actor)
	}
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return k
}

// GovAddress returns the account of actor A, B, C or D.
func GovAddress(actor string) common.Address {
	return crypto.PubkeyToAddress(GovKey(actor).PublicKey)
}

// GovernedOptions configure StartGoverned.
type GovernedOptions struct {
	// BlockTime is config.coco.blockTime (default "20ms").
	BlockTime string
	// Policy is constitution.policy (default {"kind": "m-of-n", "m": 2}).
	Policy map[string]any
	// ProposalLifetime is settings.proposalLifetime in blocks (default
	// 100000).
	ProposalLifetime uint64
	// EpochLength is settings.epochLength in blocks (default 100000).
	EpochLength uint64
	// Alloc funds accounts besides A, B, C and D (each DevBalance).
	Alloc map[common.Address]*big.Int
	// Args are extra flags of every node, appended last.
	Args []string
	// Binary is the cocogeth executable; empty means Build(t).
	Binary string
	// ReadyTimeout and StopTimeout are passed to every node's Options.
	ReadyTimeout, StopTimeout time.Duration
	// LeaderTimeout bounds the wait for the first leader (default 30 s).
	LeaderTimeout time.Duration
}

// Governed is a 3-node cluster whose genesis holds a constitution, as
// scripts/devnet.sh GOVERNED=1 writes it: members A, B, C with one
// account each (GovKey) and a recovery key each (RecoveryKey), participant D, nodes node1..node3 owned by A, B
// and C, policy 2-of-3 (unless GovernedOptions.Policy), TEE manifest
// "simulation", open sending off. Chain id 1337; A, B, C and D are funded.
//
// Nodes talk directly (no proxies, so Partition is unavailable): node i
// listens on 127.0.0.<11+i>, which is also its raftAddr in the
// constitution.
type Governed struct {
	*Cluster
	// Owners[i] is the actor owning node i.
	Owners []string
	// Binary is the cocogeth executable the nodes run.
	Binary string
	// Genesis is the constitution genesis as written to GenesisPath.
	Genesis []byte

	opts GovernedOptions
}

// StartGoverned creates three node keys, writes the constitution genesis,
// initialises and starts the nodes, and waits until a leader builds blocks.
func StartGoverned(t testing.TB, opts GovernedOptions) *Governed {
	t.Helper()
	g := &Governed{Owners: []string{"A", "B", "C"}, Binary: opts.Binary, opts: opts}
	if g.Binary == "" {
		g.Binary = Build(t)
	}
	g.Cluster = StartCluster(t, 3, ClusterOptions{
		BlockTime: opts.BlockTime, Args: opts.Args, Direct: true, Binary: g.Binary,
		ReadyTimeout: opts.ReadyTimeout, StopTimeout: opts.StopTimeout, LeaderTimeout: opts.LeaderTimeout,
		SpareIPs: 1, // a node joining later (StartJoiner)
		// Only actors read a governed network: the harness reads as A.
		SignInAs: GovKey("A"),
		Genesis: func(c *Cluster, keys []string) []byte {
			g.Genesis = g.genesis(c, keys)
			return g.Genesis
		},
	})
	return g
}

// NodeKey runs `cocogeth nodekey --datadir dir` (creating the key on first
// use) and returns the printed public key, 0x04….
func NodeKey(t testing.TB, bin, dir string) string {
	t.Helper()
	res := Run(t, bin, time.Minute, "nodekey", "--datadir", dir)
	key := lastLine(res.Stdout)
	if res.ExitCode != 0 || !strings.HasPrefix(key, "0x04") {
		t.Fatalf("testnode: cocogeth nodekey --datadir %s: exit %d, output:\n%s", dir, res.ExitCode, res.Output)
	}
	return key
}

// genesis renders the constitution genesis for the node keys.
func (g *Governed) genesis(c *Cluster, keys []string) []byte {
	type node struct {
		ID        string `json:"id"`
		Owner     string `json:"owner"`
		RaftAddr  string `json:"raftAddr"`
		PublicKey string `json:"publicKey"`
	}
	nodes := make([]node, len(keys))
	for i := range keys {
		nodes[i] = node{c.IDs[i], g.Owners[i], c.RaftAddrs[i], keys[i]}
	}
	member := func(id, pub string) map[string]any {
		return map[string]any{"id": id, "accounts": []string{GovAddress(id).Hex()}, "publicKey": pub,
			"recoveryKey": hexutil.Encode(RecoveryKey(id).Public())}
	}
	policy := g.opts.Policy
	if policy == nil {
		policy = map[string]any{"kind": "m-of-n", "m": 2}
	}
	lifetime := g.opts.ProposalLifetime
	if lifetime == 0 {
		lifetime = 100000
	}
	epochLength := g.opts.EpochLength
	if epochLength == 0 {
		epochLength = 100000
	}
	blockTime := g.opts.BlockTime
	if blockTime == "" {
		blockTime = "20ms"
	}
	constitution := map[string]any{
		"members":      []any{member("A", "0x01"), member("B", "0x02"), member("C", "0x03")},
		"participants": []any{map[string]any{"id": "D", "accounts": []string{GovAddress("D").Hex()}}},
		"nodes":        nodes,
		"teeManifest":  []string{"simulation"},
		// The nodes attest to their code: the simulation's code identity
		// is the SHA-256 of the binary they run.
		"codeManifest": []string{CodeID(g.Binary)},
		"policy":       policy,
		"settings":     map[string]any{"proposalLifetime": lifetime, "epochLength": epochLength, "openSending": false},
	}
	alloc := map[string]map[string]string{}
	for _, a := range GovActors {
		alloc[GovAddress(a).Hex()] = map[string]string{"balance": hexutil.EncodeBig(DevBalance)}
	}
	for addr, bal := range g.opts.Alloc {
		alloc[addr.Hex()] = map[string]string{"balance": hexutil.EncodeBig(bal)}
	}
	gen := map[string]any{
		"config": map[string]any{
			"chainId": DevChainID.Uint64(),
			"coco":    map[string]any{"blockTime": blockTime, "maxTxs": 2000, "constitution": constitution},
		},
		"gasLimit":      "0x3b9aca00",
		"baseFeePerGas": "0x3b9aca00",
		"alloc":         alloc,
	}
	data, err := json.MarshalIndent(gen, "", "  ")
	if err != nil {
		panic(err)
	}
	return data
}

// Wallet returns a wallet of actor A, B, C or D talking to node i.
func (g *Governed) Wallet(i int, actor string) *Wallet {
	return NewWallet(g.Nodes[i].Client(), GovKey(actor), DevChainID)
}

// Joiner is a validating node not listed in the genesis, started in
// waiting mode (--raft.id, --raft.addr) until the constitution lists it:
// until then it waits for a validating node to send it the ledger secrets,
// and its RPC is not up.
type Joiner struct {
	*Node
	// ID is its Raft id, RaftAddr its node-to-node address (it listens
	// there directly) and PublicKey its node key as `cocogeth nodekey`
	// prints it.
	ID, RaftAddr, PublicKey string
}

// StartJoiner initialises a fresh data directory with the cluster's
// genesis and starts a node there in waiting mode with Raft id id,
// listening on 127.0.0.<11+N> (the address after the cluster's nodes).
// It returns without waiting for the node's RPC, which opens once the node
// is voted in (Node.WaitReady). The node is stopped when the test ends.
func (g *Governed) StartJoiner(t testing.TB, id string) *Joiner {
	t.Helper()
	return g.StartJoinerOn(t, id, g.Binary)
}

// StartJoinerOn is StartJoiner running the executable bin (other code,
// for tests of code identities).
func (g *Governed) StartJoinerOn(t testing.TB, id, bin string) *Joiner {
	t.Helper()
	ip := NodeIP(g.N())
	port, err := freePortOn(ip)
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	dir := t.TempDir()
	j := &Joiner{ID: id, RaftAddr: net.JoinHostPort(ip.String(), strconv.Itoa(port)), PublicKey: NodeKey(t, bin, dir)}
	args := append([]string{
		"--http.api", ClusterAPIs, "--ws.api", ClusterAPIs,
		"--raft.id", id, "--raft.addr", j.RaftAddr,
	}, g.opts.Args...)
	j.Node = Start(t, Options{
		DataDir: dir, Genesis: g.GenesisPath, Args: args, Binary: bin,
		ReadyTimeout: g.opts.ReadyTimeout, StopTimeout: g.opts.StopTimeout, SignInAs: GovKey("A"), NoWait: true,
	})
	return j
}

// RaftServer is one server of raft_cluster.
type RaftServer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// RaftClusterInfo is the answer of raft_cluster.
type RaftClusterInfo struct {
	Self         string       `json:"self"`
	Role         string       `json:"role"`
	Servers      []RaftServer `json:"servers"`
	Halted       string       `json:"halted"`
	AppliedIndex uint64       `json:"appliedIndex"`
	CommitIndex  uint64       `json:"commitIndex"`
	LastLogIndex uint64       `json:"lastLogIndex"`
	Term         uint64       `json:"term"`
}

// Server returns the server with Raft id id, if listed.
func (ci RaftClusterInfo) Server(id string) (RaftServer, bool) {
	for _, s := range ci.Servers {
		if s.ID == id {
			return s, true
		}
	}
	return RaftServer{}, false
}

// RaftCluster returns raft_cluster of node n.
func RaftCluster(n *Node) (RaftClusterInfo, error) {
	var ci RaftClusterInfo
	err := CallNode(n, &ci, "raft_cluster")
	return ci, err
}

// CallNode makes one JSON-RPC call on n, bounded by a short timeout.
func CallNode(n *Node, result any, method string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	return n.RPC().CallContext(ctx, result, method, args...)
}

// CodeID is the simulation TEE's code identity of the executable bin: its
// SHA-256, 0x hex, as a code manifest lists it.
func CodeID(bin string) string {
	f, err := os.Open(bin)
	if err != nil {
		panic(fmt.Sprintf("testnode: code id of %s: %v", bin, err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		panic(fmt.Sprintf("testnode: code id of %s: %v", bin, err))
	}
	return "0x" + hex.EncodeToString(h.Sum(nil))
}

// RecoveryKey returns the deterministic recovery key of a member of the
// governed test network (A, B, C).
func RecoveryKey(actor string) *recovery.PrivateKey {
	seed := sha256.Sum256([]byte("cocogeth test recovery key " + actor))
	k, err := recovery.GenerateKey(bytes.NewReader(bytes.Repeat(seed[:], 8)))
	if err != nil {
		panic(err)
	}
	return k
}
