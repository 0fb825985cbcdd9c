package testnode

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Defaults of ClusterOptions.
const (
	DefaultLeaderTimeout = 30 * time.Second
	// ClusterAPIs are the JSON-RPC namespaces a cluster node serves over
	// HTTP and WebSocket.
	ClusterAPIs = "eth,net,web3,txpool,raft,coco"
	// clusterCallTimeout bounds one RPC call of the cluster helpers.
	clusterCallTimeout = 2 * time.Second
	// clusterPoll is how often the cluster helpers poll.
	clusterPoll = 10 * time.Millisecond
)

// DevBalance is the genesis balance of the dev account on a cluster.
var DevBalance, _ = new(big.Int).SetString("33b2e3c9fd0803ce8000000", 16)

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// BlockTime is config.coco.blockTime (default "20ms").
	BlockTime string
	// MaxTxs is config.coco.maxTxs (default 2000).
	MaxTxs int
	// Alloc funds accounts besides the dev account in the genesis.
	Alloc map[common.Address]*big.Int
	// Args are extra flags of every node, appended last.
	Args []string
	// NodeArgs, if set, returns extra flags of node i, appended after Args.
	NodeArgs func(i int) []string
	// Direct runs the nodes without proxies: each node's genesis raftAddr
	// is its own listener. Partition is then unavailable.
	Direct bool
	// Binary is the cocogeth executable; empty means Build(t).
	Binary string
	// ReadyTimeout and StopTimeout are passed to every node's Options.
	ReadyTimeout, StopTimeout time.Duration
	// LeaderTimeout bounds the wait for the first leader (default 30 s).
	LeaderTimeout time.Duration
	// Genesis, if set, renders the genesis file instead of the default
	// validator list, from the cluster's IDs and RaftAddrs and the node
	// keys (StartGoverned writes a constitution this way).
	Genesis func(c *Cluster, keys []string) []byte
	// SpareIPs is how many loopback addresses beyond the nodes' must be
	// usable (for nodes started later).
	SpareIPs int
	// SignInAs is every node's Options.SignInAs.
	SignInAs *ecdsa.PrivateKey
}

// Cluster is a set of cocogeth validating nodes started by StartCluster,
// stopped (with their proxies) when the test ends.
//
// Nodes are indexed from 0; node i has Raft id "node<i+1>", listens for
// node-to-node traffic on 127.0.0.<11+i> and (unless Direct) sits behind a
// Proxy on 127.0.0.1 whose address the genesis names as its raftAddr.
type Cluster struct {
	t testing.TB
	// Nodes are the cluster's processes.
	Nodes []*Node
	// IDs are the nodes' Raft ids, RaftAddrs their genesis raftAddr and
	// ListenAddrs where they listen (the proxies relay RaftAddrs to them).
	IDs, RaftAddrs, ListenAddrs []string
	// Proxies are the proxies in front of the nodes (nil if Direct).
	Proxies []*Proxy
	// GenesisPath is the genesis file every node was initialised with.
	GenesisPath string

	ips    []net.IP
	pmu    sync.Mutex
	groups []int // partition group of each node; nil when healed
}

// NodeIP is the loopback address node i listens and dials from.
func NodeIP(i int) net.IP { return net.IPv4(127, 0, 0, byte(11+i)) }

// CheckLoopbackIPs reports whether the test can listen on and connect
// between 127.0.0.11 … 127.0.0.<10+n> (Linux routes all of 127/8 to lo).
func CheckLoopbackIPs(n int) error {
	for i := 0; i < n; i++ {
		ip := NodeIP(i)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
		if err != nil {
			return fmt.Errorf("cannot listen on %s: %v", ip, err)
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: NodeIP((i + 1) % n)}, Timeout: time.Second}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		ln.Close()
		if err != nil {
			return fmt.Errorf("cannot connect from %s to %s: %v", NodeIP((i+1)%n), ip, err)
		}
	}
	return nil
}

// StartCluster creates n node keys, one genesis listing them as validators
// (chain id 1337, the dev account funded), initialises and starts every
// node on free ports, and waits until a leader builds blocks.
func StartCluster(t testing.TB, n int, opts ClusterOptions) *Cluster {
	t.Helper()
	if n < 1 || n > 200 {
		t.Fatalf("testnode: cluster of %d nodes", n)
	}
	if err := CheckLoopbackIPs(n + opts.SpareIPs); err != nil {
		t.Fatalf("testnode: cluster needs the loopback addresses 127.0.0.11-%d: %v", 10+n+opts.SpareIPs, err)
	}
	bin := opts.Binary
	if bin == "" {
		bin = Build(t)
	}
	if opts.LeaderTimeout == 0 {
		opts.LeaderTimeout = DefaultLeaderTimeout
	}
	c := &Cluster{t: t}
	dirs := make([]string, n)
	keys := make([]string, n)
	for i := 0; i < n; i++ {
		c.ips = append(c.ips, NodeIP(i))
		c.IDs = append(c.IDs, fmt.Sprintf("node%d", i+1))
		dirs[i] = t.TempDir()
		keys[i] = NodeKey(t, bin, dirs[i])
		port, err := freePortOn(c.ips[i])
		if err != nil {
			t.Fatalf("testnode: %v", err)
		}
		c.ListenAddrs = append(c.ListenAddrs, net.JoinHostPort(c.ips[i].String(), strconv.Itoa(port)))
	}
	// Proxies are closed after the nodes stop (cleanups run in reverse).
	if !opts.Direct {
		t.Cleanup(func() {
			for _, p := range c.Proxies {
				p.Close()
			}
		})
		for i := 0; i < n; i++ {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("testnode: proxy listener: %v", err)
			}
			p := newProxy(i, ln, c.ListenAddrs[i], c.allowed, c.nodeOf)
			c.Proxies = append(c.Proxies, p)
			c.RaftAddrs = append(c.RaftAddrs, p.Addr())
		}
	} else {
		c.RaftAddrs = append(c.RaftAddrs, c.ListenAddrs...)
	}
	c.GenesisPath = filepath.Join(t.TempDir(), "genesis.json")
	render := func(c *Cluster, keys []string) []byte { return c.genesis(opts, keys) }
	if opts.Genesis != nil {
		render = opts.Genesis
	}
	if err := os.WriteFile(c.GenesisPath, render(c, keys), 0o644); err != nil {
		t.Fatalf("testnode: %v", err)
	}
	for i := 0; i < n; i++ {
		args := []string{
			"--http.api", ClusterAPIs, "--ws.api", ClusterAPIs,
			"--raft.addr", c.ListenAddrs[i],
		}
		args = append(args, opts.Args...)
		if opts.NodeArgs != nil {
			args = append(args, opts.NodeArgs(i)...)
		}
		c.Nodes = append(c.Nodes, Start(t, Options{
			DataDir: dirs[i], Genesis: c.GenesisPath, Args: args, Binary: bin,
			ReadyTimeout: opts.ReadyTimeout, StopTimeout: opts.StopTimeout, SignInAs: opts.SignInAs,
		}))
	}
	if _, err := c.LeaderErr(opts.LeaderTimeout); err != nil {
		t.Fatalf("testnode: cluster of %d: %v", n, err)
	}
	return c
}

// genesis renders the cluster's genesis file.
func (c *Cluster) genesis(opts ClusterOptions, keys []string) []byte {
	type validator struct {
		ID        string `json:"id"`
		RaftAddr  string `json:"raftAddr"`
		PublicKey string `json:"publicKey"`
	}
	vals := make([]validator, len(keys))
	for i := range keys {
		vals[i] = validator{c.IDs[i], c.RaftAddrs[i], keys[i]}
	}
	blockTime, maxTxs := opts.BlockTime, opts.MaxTxs
	if blockTime == "" {
		blockTime = "20ms"
	}
	if maxTxs == 0 {
		maxTxs = 2000
	}
	alloc := map[string]map[string]string{
		DevAddress.Hex(): {"balance": hexutil.EncodeBig(DevBalance)},
	}
	for addr, bal := range opts.Alloc {
		alloc[addr.Hex()] = map[string]string{"balance": hexutil.EncodeBig(bal)}
	}
	g := map[string]any{
		"config": map[string]any{
			"chainId": DevChainID.Uint64(),
			"coco":    map[string]any{"blockTime": blockTime, "maxTxs": maxTxs, "validators": vals},
		},
		"gasLimit": "0x3b9aca00",
		"alloc":    alloc,
	}
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return data
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// freePortOn returns a free TCP port on ip.
func freePortOn(ip net.IP) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return 0, fmt.Errorf("free port on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// N is the number of nodes.
func (c *Cluster) N() int { return len(c.Nodes) }

// Index returns the index of the node with Raft id id, or -1.
func (c *Cluster) Index(id string) int {
	for i, x := range c.IDs {
		if x == id {
			return i
		}
	}
	return -1
}

// nodeOf maps a connection's remote address to the node that dialled it.
func (c *Cluster) nodeOf(addr net.Addr) int {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return -1
	}
	for i, ip := range c.ips {
		if ta.IP.Equal(ip) {
			return i
		}
	}
	return -1
}

// Live returns the indexes of the nodes whose process runs and is not
// paused.
func (c *Cluster) Live() []int {
	var out []int
	for i, n := range c.Nodes {
		if n.Pid() != 0 && !n.Paused() {
			out = append(out, i)
		}
	}
	return out
}

// Call makes one JSON-RPC call on node i, bounded by a short timeout.
func (c *Cluster) Call(i int, result any, method string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterCallTimeout)
	defer cancel()
	return c.Nodes[i].RPC().CallContext(ctx, result, method, args...)
}

// RaftLeader returns the index of the node that node i names in
// raft_leader, or an error (for example "no leader").
func (c *Cluster) RaftLeader(i int) (int, error) {
	var li struct {
		ID      string `json:"id"`
		Address string `json:"address"`
	}
	if err := c.Call(i, &li, "raft_leader"); err != nil {
		return -1, err
	}
	idx := c.Index(li.ID)
	if idx < 0 {
		return -1, fmt.Errorf("raft_leader on %s names unknown node %q", c.IDs[i], li.ID)
	}
	return idx, nil
}

// Role returns raft_role of node i.
func (c *Cluster) Role(i int) (string, error) {
	var role string
	err := c.Call(i, &role, "raft_role")
	return role, err
}

// NodeInfo is the answer of coco_nodeInfo.
type NodeInfo struct {
	ChainID      *hexutil.Big   `json:"chainId"`
	Head         hexutil.Uint64 `json:"head"`
	AppliedIndex hexutil.Uint64 `json:"appliedIndex"`
	Leader       bool           `json:"leader"`
	NodeChannel  string         `json:"nodeChannel"`
}

// Info returns coco_nodeInfo of node i.
func (c *Cluster) Info(i int) (NodeInfo, error) {
	var info NodeInfo
	err := c.Call(i, &info, "coco_nodeInfo")
	return info, err
}

// leaderOnce returns the node that a majority of the cluster names in
// raft_leader, that is live, says it leads and builds blocks
// (coco_nodeInfo.leader: it passed the barrier of its term).
func (c *Cluster) leaderOnce() (int, error) {
	votes := map[int]int{}
	var errs []string
	for _, i := range c.Live() {
		l, err := c.RaftLeader(i)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", c.IDs[i], err))
			continue
		}
		votes[l]++
	}
	for l, v := range votes {
		if v < c.N()/2+1 {
			continue
		}
		if c.Nodes[l].Pid() == 0 || c.Nodes[l].Paused() {
			return -1, fmt.Errorf("%d nodes name %s, which is down", v, c.IDs[l])
		}
		if role, err := c.Role(l); err != nil || role != "leader" {
			return -1, fmt.Errorf("%s is named leader but says %q (%v)", c.IDs[l], role, err)
		}
		if info, err := c.Info(l); err != nil || !info.Leader {
			return -1, fmt.Errorf("%s leads but does not build yet (%v)", c.IDs[l], err)
		}
		return l, nil
	}
	return -1, fmt.Errorf("no leader named by a majority: votes %v, errors %v", votes, errs)
}

// LeaderErr polls the live nodes until a majority of the cluster names
// the same live leader and that leader builds blocks, and returns its
// index.
func (c *Cluster) LeaderErr(timeout time.Duration) (int, error) {
	leader := -1
	err := Poll(timeout, clusterPoll, func() error {
		l, err := c.leaderOnce()
		leader = l
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("no leader within %v: %v", timeout, err)
	}
	return leader, nil
}

// Leader is LeaderErr with the default timeout, failing the test.
func (c *Cluster) Leader() int {
	c.t.Helper()
	l, err := c.LeaderErr(DefaultLeaderTimeout)
	if err != nil {
		c.t.Fatalf("testnode: %v", err)
	}
	return l
}

// Others returns the indexes of all nodes but the given ones.
func (c *Cluster) Others(not ...int) []int {
	var out []int
next:
	for i := range c.Nodes {
		for _, x := range not {
			if i == x {
				continue next
			}
		}
		out = append(out, i)
	}
	return out
}

// Head is a node's latest block.
type Head struct {
	Number hexutil.Uint64 `json:"number"`
	Hash   common.Hash    `json:"hash"`
	Root   common.Hash    `json:"stateRoot"`
}

func (h Head) String() string {
	return fmt.Sprintf("#%d %s (root %s)", uint64(h.Number), h.Hash.TerminalString(), h.Root.TerminalString())
}

// HeadOf returns node i's latest block.
func (c *Cluster) HeadOf(i int) (Head, error) {
	var h Head
	if err := c.Call(i, &h, "eth_getBlockByNumber", "latest", false); err != nil {
		return h, err
	}
	if h.Hash == (common.Hash{}) {
		return h, errors.New("latest block without hash")
	}
	return h, nil
}

// SameHeadErr polls until every live node reports the same latest block
// (hash and state root) and returns it.
func (c *Cluster) SameHeadErr(timeout time.Duration) (Head, error) {
	var head Head
	err := Poll(timeout, clusterPoll, func() error {
		heads, err := c.heads()
		if err != nil {
			return err
		}
		for _, h := range heads[1:] {
			if h != heads[0] {
				return fmt.Errorf("heads differ: %s", c.describe(heads))
			}
		}
		head = heads[0]
		return nil
	})
	if err != nil {
		return Head{}, fmt.Errorf("live nodes not on the same head within %v: %v", timeout, err)
	}
	return head, nil
}

// WaitSameHead is SameHeadErr failing the test.
func (c *Cluster) WaitSameHead(timeout time.Duration) Head {
	c.t.Helper()
	h, err := c.SameHeadErr(timeout)
	if err != nil {
		c.t.Fatalf("testnode: %v", err)
	}
	return h
}

// WaitHead polls until every live node's head is at least number.
func (c *Cluster) WaitHead(number uint64, timeout time.Duration) {
	c.t.Helper()
	err := Poll(timeout, clusterPoll, func() error {
		heads, err := c.heads()
		if err != nil {
			return err
		}
		for _, h := range heads {
			if uint64(h.Number) < number {
				return fmt.Errorf("heads %s", c.describe(heads))
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("testnode: live nodes not at block #%d within %v: %v", number, timeout, err)
	}
}

// Poll calls f every interval until it returns nil or timeout has passed,
// and returns f's last error.
func Poll(timeout, interval time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

func (c *Cluster) heads() ([]Head, error) {
	live := c.Live()
	if len(live) == 0 {
		return nil, errors.New("no live node")
	}
	heads := make([]Head, 0, len(live))
	for _, i := range live {
		h, err := c.HeadOf(i)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", c.IDs[i], err)
		}
		heads = append(heads, h)
	}
	return heads, nil
}

func (c *Cluster) describe(heads []Head) string {
	var parts []string
	for k, i := range c.Live() {
		if k < len(heads) {
			parts = append(parts, c.IDs[i]+" "+heads[k].String())
		}
	}
	return strings.Join(parts, ", ")
}

// allowed reports whether the partition lets node from reach node to
// (connections from unknown addresses always pass).
func (c *Cluster) allowed(from, to int) bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.groups == nil || from < 0 || to < 0 || from >= len(c.groups) || to >= len(c.groups) {
		return true
	}
	return c.groups[from] == c.groups[to]
}

// Partition splits the cluster: nodes in different groups can no longer
// reach each other (their proxies refuse new connections and cut existing
// ones); a node listed in no group is alone. Heal ends it.
func (c *Cluster) Partition(groups ...[]int) {
	c.t.Helper()
	if c.Proxies == nil {
		c.t.Fatalf("testnode: Partition needs the proxies (ClusterOptions.Direct is set)")
	}
	g := make([]int, c.N())
	for i := range g {
		g[i] = -1 - i
	}
	for k, grp := range groups {
		for _, i := range grp {
			if i < 0 || i >= c.N() {
				c.t.Fatalf("testnode: Partition: no node %d", i)
			}
			g[i] = k
		}
	}
	c.pmu.Lock()
	c.groups = g
	c.pmu.Unlock()
	for _, p := range c.Proxies {
		p.cut()
	}
}

// Isolate cuts node i off from all others.
func (c *Cluster) Isolate(i int) { c.t.Helper(); c.Partition([]int{i}, c.Others(i)) }

// Heal ends a partition: every node can reach every other again.
func (c *Cluster) Heal() {
	c.pmu.Lock()
	c.groups = nil
	c.pmu.Unlock()
}
