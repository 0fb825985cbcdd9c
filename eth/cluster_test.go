package eth

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/clustertest"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rlp"
)

// cnode is one validating node of a test cluster (clustertest: the real
// cluster node, mutual TLS included, over an in-memory network): a
// Service on its own on-disk chain database, kept with the node's Raft
// stores across restarts.
type cnode struct {
	*clustertest.Node
	id  string
	key *ecdsa.PrivateKey // node key, listed in the genesis

	svc    *Service             // the last one once stopped
	ledger *cocobackend.Cluster // the service's ledger

	tamper   atomic.Bool // tamper with the next block entry this node applies
	restored []uint64    // applied index after each snapshot restore; guarded by ecluster.mu
}

type ecluster struct {
	t     *testing.T
	c     *clustertest.Cluster
	spec  *genesis.Spec
	nodes []*cnode

	mu   sync.RWMutex
	seen map[common.Hash]bool // transactions whose receipt any node committed
}

// newECluster starts n services with the dev genesis listing them as its
// validators, at most maxTxs transactions per block; mod changes the
// harness's cluster settings (150 ms heartbeat, no snapshots).
func newECluster(t *testing.T, n, maxTxs int, mod func(*cocobackend.ClusterSettings)) *ecluster {
	t.Helper()
	if lvl := os.Getenv("COCO_TESTLOG"); lvl != "" {
		// COCO_TESTLOG=info (or debug, warn, error) shows the nodes' logs.
		var level slog.Level
		if err := level.UnmarshalText([]byte(lvl)); err != nil {
			t.Fatal(err)
		}
		log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(os.Stderr, level, false)))
	}
	spec := genesis.Dev()
	spec.Coco.MaxTxs = maxTxs
	c := &ecluster{t: t, spec: spec, seen: make(map[common.Hash]bool)}
	for i := 0; i < n; i++ {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		nd := &cnode{id: clustertest.NodeID(i), key: key}
		spec.Coco.Validators = append(spec.Coco.Validators, genesis.Validator{
			ID: nd.id, RaftAddr: clustertest.NodeAddr(i), PublicKey: crypto.FromECDSAPub(&key.PublicKey),
		})
		c.nodes = append(c.nodes, nd)
	}
	spec.Raw = nil
	settings := clustertest.Settings()
	if mod != nil {
		mod(&settings)
	}
	c.c = clustertest.New(t, clustertest.Config{Nodes: n, Settings: settings, NewService: c.service})
	return c
}

// service opens node n's service on its database, with its cluster node
// as the ledger: the real one, authenticating its peers with its node key
// as the genesis lists them.
func (c *ecluster) service(n *clustertest.Node) (clustertest.Service, error) {
	nd := c.nodes[n.Index]
	nd.Node = n
	kv, err := store.Open(filepath.Join(n.Dir, ChainDBPath), store.Options{CacheMiB: store.MinCacheMiB, Handles: store.MinHandles})
	if err != nil {
		return nil, err
	}
	db := rawdb.NewDatabase(kv)
	if _, err := InitChain(db, c.spec); err != nil {
		db.Close()
		return nil, err
	}
	cfg := DefaultConfig
	cfg.TrieCache = 16
	svc, err := NewService(nil, db, kv, cfg, func(d LedgerDeps) (cocobackend.Ledger, error) {
		guard, err := nodetls.NewGuard(nodetls.Identity{ID: n.ID, Key: nd.key, Network: d.Genesis}, nodetls.NewRegistry(nil))
		if err != nil {
			return nil, err
		}
		cl, err := n.NewCluster(cocobackend.ClusterConfig{Guard: guard, Forwarded: d.Forwarded}, &tamperFSM{FSM: d.FSM, nd: nd})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return cl, nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	after := svc.fsm.afterRestore
	svc.fsm.afterRestore = func() {
		after()
		c.mu.Lock()
		nd.restored = append(nd.restored, svc.chain.AppliedIndex())
		c.mu.Unlock()
	}
	nd.svc, nd.ledger = svc, n.Ledger()
	return &enode{c: c, svc: svc, quit: make(chan struct{})}, nil
}

// enode runs a node's service and records the receipts it commits.
type enode struct {
	c    *ecluster
	svc  *Service
	quit chan struct{}
	wg   sync.WaitGroup
}

func (e *enode) Start() error {
	if err := e.svc.Start(); err != nil {
		return err
	}
	events := make(chan core.ChainEvent, 256)
	sub := e.svc.Chain().SubscribeChainEvent(events)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case <-e.quit:
				return
			case <-sub.Err():
				return
			case ev := <-events:
				e.c.mu.Lock()
				for _, r := range ev.Receipts {
					e.c.seen[r.TxHash] = true
				}
				e.c.mu.Unlock()
			}
		}
	}()
	return nil
}

// Stop stops the service (builder, ledger, database).
func (e *enode) Stop() error {
	close(e.quit)
	e.wg.Wait()
	return e.svc.Stop()
}

// start restarts a stopped node on its database and Raft stores.
func (c *ecluster) start(nd *cnode) { c.c.Start(nd.Node) }

// stop stops nd; the others' connections to it fail at once, as TCP to a
// dead node.
func (c *ecluster) stop(nd *cnode) { c.c.Stop(nd.Node) }

// partition cuts nd off from the others, both ways.
func (c *ecluster) partition(nd *cnode) { c.c.Partition(nd.Node) }

func (c *ecluster) heal(nd *cnode) { c.c.Heal(nd.Node) }

func (c *ecluster) others(nd *cnode) []*cnode {
	var out []*cnode
	for _, o := range c.nodes {
		if o != nd {
			out = append(out, o)
		}
	}
	return out
}

// leader waits until exactly one of the nodes (default: the running ones)
// may propose and all of them name it leader.
func (c *ecluster) leader(among ...*cnode) *cnode {
	c.t.Helper()
	var nodes []*clustertest.Node
	for _, nd := range among {
		nodes = append(nodes, nd.Node)
	}
	return c.nodes[c.c.Leader(nodes...).Index]
}

// raftStat is a number of hashicorp/raft's Stats of nd's ledger.
func raftStat(nd *cnode, key string) uint64 {
	v, _ := strconv.ParseUint(nd.ledger.Stats()[key], 10, 64)
	return v
}

func (c *ecluster) sawReceipt(hash common.Hash) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seen[hash]
}

func (c *ecluster) seenTxs() []common.Hash {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]common.Hash, 0, len(c.seen))
	for h := range c.seen {
		out = append(out, h)
	}
	return out
}

// catchUpTimeout bounds the waits for nodes to commit: one that was down
// or cut off catches up only when the leader next tries it, and raft's
// leader backs off up to ~10 s between attempts to reach an unreachable
// node.
const catchUpTimeout = 30 * time.Second

// waitCatchUp is waitFor with catchUpTimeout.
func waitCatchUp(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(catchUpTimeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", catchUpTimeout, what)
	}
}

// waitNonce waits until addr's nonce in the head state of every node is
// nonce, i.e. all of addr's transactions are committed there.
func waitNonce(t *testing.T, addr common.Address, nonce uint64, nodes ...*cnode) {
	t.Helper()
	for _, nd := range nodes {
		waitCatchUp(t, fmt.Sprintf("%s to commit nonce %d of %s", nd.id, nonce, addr.Hex()[:8]), func() bool {
			st, err := nd.svc.Chain().State()
			return err == nil && st.GetNonce(addr) == nonce
		})
	}
}

// waitSameHead waits until the nodes agree on the head and returns it.
func waitSameHead(t *testing.T, nodes ...*cnode) *types.Header {
	t.Helper()
	waitCatchUp(t, "the nodes to reach the same head", func() bool {
		h := nodes[0].svc.Chain().CurrentHeader().Hash()
		for _, nd := range nodes[1:] {
			if nd.svc.Chain().CurrentHeader().Hash() != h {
				return false
			}
		}
		return true
	})
	return nodes[0].svc.Chain().CurrentHeader()
}

// sameChain checks that the nodes hold the same blocks, state roots and
// receipts up to their common head, and returns how many times each
// transaction was included.
func sameChain(t *testing.T, nodes ...*cnode) map[common.Hash]int {
	t.Helper()
	head := waitSameHead(t, nodes...)
	counts := make(map[common.Hash]int)
	ref := nodes[0].svc.Chain()
	for n := uint64(1); n <= head.Number.Uint64(); n++ {
		block := ref.GetBlockByNumber(n)
		if block == nil {
			t.Fatalf("%s: block %d missing", nodes[0].id, n)
		}
		receipts := ref.GetReceiptsByHash(block.Hash())
		if len(receipts) != len(block.Transactions()) {
			t.Fatalf("%s: block %d has %d receipts for %d txs", nodes[0].id, n, len(receipts), len(block.Transactions()))
		}
		want, err := rlp.EncodeToBytes(storageReceipts(receipts))
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes[1:] {
			other := nd.svc.Chain().GetBlockByNumber(n)
			if other == nil || other.Hash() != block.Hash() || other.Root() != block.Root() {
				t.Fatalf("block %d differs: %s has %v, %s has %v", n, nodes[0].id, block.Hash(), nd.id, other)
			}
			got, err := rlp.EncodeToBytes(storageReceipts(nd.svc.Chain().GetReceiptsByHash(block.Hash())))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("block %d: receipts differ between %s and %s", n, nodes[0].id, nd.id)
			}
		}
		for i, tx := range block.Transactions() {
			counts[tx.Hash()]++
			if receipts[i].TxHash != tx.Hash() || receipts[i].BlockHash != block.Hash() {
				t.Fatalf("block %d receipt %d names tx %s block %s", n, i, receipts[i].TxHash, receipts[i].BlockHash)
			}
		}
	}
	return counts
}

func storageReceipts(rs types.Receipts) []*types.ReceiptForStorage {
	out := make([]*types.ReceiptForStorage, len(rs))
	for i, r := range rs {
		out[i] = (*types.ReceiptForStorage)(r)
	}
	return out
}

// sameState checks that the nodes' head states agree on the accounts.
func sameState(t *testing.T, addrs []common.Address, nodes ...*cnode) {
	t.Helper()
	ref, err := nodes[0].svc.Chain().State()
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes[1:] {
		st, err := nd.svc.Chain().State()
		if err != nil {
			t.Fatalf("%s: head state: %v", nd.id, err)
		}
		for _, a := range addrs {
			if ref.GetBalance(a).Cmp(st.GetBalance(a)) != 0 || ref.GetNonce(a) != st.GetNonce(a) {
				t.Fatalf("account %s: %s has %v/%d, %s has %v/%d", a, nodes[0].id, ref.GetBalance(a), ref.GetNonce(a),
					nd.id, st.GetBalance(a), st.GetNonce(a))
			}
		}
	}
}

// account signs transfers with consecutive nonces.
type account struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	nonce uint64
}

func newAccount(key *ecdsa.PrivateKey) *account {
	return &account{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

func (a *account) next(to common.Address, value int64) (*types.Transaction, error) {
	tx, err := types.SignNewTx(a.key, testSig, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: a.nonce, GasTipCap: gwei, GasFeeCap: feeCap,
		Gas: 21000, To: &to, Value: big.NewInt(value),
	})
	if err == nil {
		a.nonce++
	}
	return tx, err
}

// send sends n transfers from a to to through nd and returns their hashes.
func send(t *testing.T, nd *cnode, a *account, to common.Address, value int64, n int) []common.Hash {
	t.Helper()
	var hashes []common.Hash
	for i := 0; i < n; i++ {
		tx, err := a.next(to, value)
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.svc.SendTx(tx); err != nil {
			t.Fatalf("SendTx on %s: %v", nd.id, err)
		}
		hashes = append(hashes, tx.Hash())
	}
	return hashes
}

// tamperFSM wraps a node's state machine; when the node's tamper flag is
// set, the next block entry it applies arrives with a receipt altered.
type tamperFSM struct {
	cocobackend.FSM
	nd *cnode
}

func (f *tamperFSM) Apply(index uint64, entry []byte) error {
	if f.nd.tamper.CompareAndSwap(true, false) {
		var e blockEntry
		if err := rlp.DecodeBytes(entry[entryHeaderLen:], &e); err == nil && len(e.Receipts) > 0 {
			e.Receipts[0].Status ^= 1
			body, _ := rlp.EncodeToBytes(&e)
			entry = append(append([]byte{}, entry[:entryHeaderLen]...), body...)
		}
	}
	return f.FSM.Apply(index, entry)
}

var recvAddr2 = common.HexToAddress("0x00000000000000000000000000000000000000bb")

// Transfers sent to a follower are forwarded, committed once, and every
// node ends on the same chain, state and receipts. The follower's pending
// nonce counts a transaction as soon as SendTx returns.
func TestClusterFollowerTxsCommitted(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	lead := c.leader()
	f := c.others(lead)[0]
	a := newAccount(keyA)
	var hashes []common.Hash
	for i := 0; i < 30; i++ {
		hashes = append(hashes, send(t, f, a, recvAddr, 1, 1)...)
		if got := f.svc.TxPool().Nonce(addrA); got != a.nonce {
			t.Fatalf("follower pool nonce %d after %d sends, want %d", got, i+1, a.nonce)
		}
	}
	waitNonce(t, addrA, a.nonce, c.nodes...)
	counts := sameChain(t, c.nodes...)
	for _, h := range hashes {
		if counts[h] != 1 {
			t.Fatalf("tx %s included %d times", h, counts[h])
		}
	}
	sameState(t, []common.Address{addrA, recvAddr}, c.nodes...)
	st, _ := f.svc.Chain().State()
	if got := st.GetBalance(recvAddr).Uint64(); got != 30 {
		t.Fatalf("recipient balance %d, want 30", got)
	}
	for _, nd := range c.nodes {
		waitFor(t, nd.id+"'s pool to empty", func() bool {
			p, q := nd.svc.TxPool().Stats()
			return p == 0 && q == 0
		})
	}
}

// The leader is stopped while transactions flow through both followers: a
// new leader continues, every transaction any node committed survives, all
// sent ones are committed once; the stopped node restarts on its database
// and catches up.
func TestClusterLeaderStopWhileTxsFlow(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	old := c.leader()
	f1, f2 := c.others(old)[0], c.others(old)[1]
	a, b := newAccount(keyA), newAccount(keyB)
	send(t, f1, a, addrB, 1e18, 1)
	waitNonce(t, addrA, a.nonce, c.nodes...)

	const perSender = 100
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		sent   []common.Hash
		errs   = make(chan error, 2)
		killed = make(chan struct{})
	)
	flow := func(nd *cnode, acc *account, to common.Address) {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < perSender; i++ {
			if i == perSender/2 {
				<-killed // the second half flows after the leader died
			}
			<-tick.C
			tx, err := acc.next(to, 1)
			if err == nil {
				err = nd.svc.SendTx(tx)
			}
			if err != nil {
				errs <- fmt.Errorf("%s: %v", nd.id, err)
				return
			}
			mu.Lock()
			sent = append(sent, tx.Hash())
			mu.Unlock()
		}
	}
	wg.Add(2)
	go flow(f1, a, recvAddr)
	go flow(f2, b, recvAddr2)

	// Kill the leader once it is committing the flow.
	waitFor(t, "the flow to commit", func() bool { return len(c.seenTxs()) > 20 })
	c.stop(old)
	close(killed)
	survivors := []*cnode{f1, f2}
	c.leader(survivors...)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitNonce(t, addrA, a.nonce, survivors...)
	waitNonce(t, b.addr, b.nonce, survivors...)
	counts := sameChain(t, survivors...)
	for _, h := range c.seenTxs() {
		if counts[h] != 1 {
			t.Fatalf("tx %s had a receipt on some node but is in the survivors' chain %d times", h, counts[h])
		}
	}
	for _, h := range sent {
		if counts[h] != 1 {
			t.Fatalf("sent tx %s included %d times", h, counts[h])
		}
	}
	sameState(t, []common.Address{addrA, b.addr, recvAddr, recvAddr2}, survivors...)

	// The stopped node restarts on its database and catches up.
	downAt := old.svc.Chain().CurrentHeader().Number.Uint64()
	c.start(old)
	if got := old.svc.Chain().CurrentHeader().Number.Uint64(); got < downAt {
		t.Fatalf("restarted at head %d, was %d", got, downAt)
	}
	more := send(t, f2, b, recvAddr2, 1, 5)
	waitNonce(t, b.addr, b.nonce, c.nodes...)
	counts = sameChain(t, c.nodes...)
	for _, h := range append(sent, more...) {
		if counts[h] != 1 {
			t.Fatalf("tx %s included %d times", h, counts[h])
		}
	}
	sameState(t, []common.Address{addrA, b.addr, recvAddr, recvAddr2}, c.nodes...)
}

// A node down while the log is compacted past it catches up by installing
// a state snapshot and then holds the same chain and state; it follows
// normally afterwards.
func TestClusterSnapshotCatchUp(t *testing.T) {
	c := newECluster(t, 3, 2, func(s *cocobackend.ClusterSettings) {
		s.SnapshotThreshold = 8
		s.TrailingLogs = 4
		s.SnapshotInterval = 50 * time.Millisecond
	})
	lead := c.leader()
	down := c.others(lead)[0]
	live := c.others(down)
	a := newAccount(keyA)
	send(t, lead, a, recvAddr, 1, 4)
	waitNonce(t, addrA, a.nonce, c.nodes...)

	c.stop(down)
	downIndex := down.svc.Chain().AppliedIndex()
	downHead := down.svc.Chain().CurrentHeader().Number.Uint64()
	lead = c.leader(live...)
	f := c.others(lead)[0]
	if f == down {
		f = c.others(lead)[1]
	}
	// Commit one transfer at a time, so each is its own block and its own
	// log entry, until the leader has snapshotted past downIndex+4: after
	// a snapshot raft drops its log but for the trailing entries (4), so
	// entry downIndex+1 is gone and the down node can only catch up from a
	// snapshot. A busy machine snapshots late; keep the log growing rather
	// than count on a fixed number of entries.
	var recipients []common.Address
	compacted := func() bool {
		return raftStat(lead, "last_snapshot_index") > downIndex+4 &&
			lead.svc.Chain().CurrentHeader().Number.Uint64() > downHead+8
	}
	deadline := time.Now().Add(2 * time.Minute)
	for i := 0; !compacted(); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the leader did not compact its log past the down node (index %d) in two minutes: last snapshot %d",
				downIndex, raftStat(lead, "last_snapshot_index"))
		}
		to := common.BigToAddress(big.NewInt(int64(0x1000 + i)))
		recipients = append(recipients, to)
		send(t, f, a, to, int64(1000+i), 1)
		waitNonce(t, addrA, a.nonce, live...)
	}

	c.start(down)
	waitNonce(t, addrA, a.nonce, down)
	// It could only catch up by installing a snapshot newer than its state.
	waitCatchUp(t, "the snapshot install to finish", func() bool {
		c.mu.RLock()
		defer c.mu.RUnlock()
		for _, idx := range down.restored {
			if idx > downIndex {
				return true
			}
		}
		return false
	})
	if head := down.svc.Chain().CurrentHeader().Number.Uint64(); head <= downHead+8 {
		t.Fatalf("head %d, down at %d: too few blocks to prove anything", head, downHead)
	}
	addrs := append([]common.Address{addrA, recvAddr}, recipients...)
	sameChain(t, c.nodes...)
	sameState(t, addrs, c.nodes...)
	// Served like any block: a transaction committed while it was down.
	if tx, _, _, _ := down.svc.Chain().GetTransaction(lastHash(t, lead)); tx == nil {
		t.Fatal("restored node cannot find a transaction committed while it was down")
	}
	// And it follows afterwards.
	send(t, down, a, recvAddr, 1, 3)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	sameChain(t, c.nodes...)
	sameState(t, addrs, c.nodes...)
}

// pollUntil polls cond until it holds (true) or timeout passes (false).
func pollUntil(timeout time.Duration, cond func() bool) bool {
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

func lastHash(t *testing.T, nd *cnode) common.Hash {
	t.Helper()
	// The head may be the leader's trailing empty block: look back to the
	// last block with transactions.
	for n := nd.svc.Chain().CurrentHeader().Number.Uint64(); n > 0; n-- {
		if b := nd.svc.Chain().GetBlockByNumber(n); b != nil && len(b.Transactions()) > 0 {
			return b.Transactions()[0].Hash()
		}
	}
	t.Fatal("no transaction in the chain")
	return common.Hash{}
}

// A leader that loses leadership with blocks proposed but not committed
// gets their transactions back in its pool; they are committed exactly once
// after it rejoins as a follower.
func TestClusterSpeculativeBlocksReturnToPool(t *testing.T) {
	c := newECluster(t, 3, 2, func(s *cocobackend.ClusterSettings) {
		// Long enough for the cut-off leader to build and propose blocks
		// before it notices it lost its quorum (heartbeat, election and
		// lease).
		s.HeartbeatTimeout = 500 * time.Millisecond
	})
	old := c.leader()
	a := newAccount(keyA)
	send(t, old, a, recvAddr, 1, 2)
	waitNonce(t, addrA, a.nonce, c.nodes...)

	c.partition(old)
	hashes := send(t, old, a, recvAddr, 1, 6)
	waitFor(t, "blocks proposed and in flight on the cut-off leader", func() bool {
		old.svc.fsm.mu.Lock()
		defer old.svc.fsm.mu.Unlock()
		return len(old.svc.fsm.local) > 0
	})
	rest := c.others(old)
	lead := c.leader(rest...)
	waitFor(t, "the old leader to give up", func() bool { return old.ledger.Role() != "leader" })
	// Every block it proposed was dropped and its transactions are pooled
	// again (whether they are ready to build at once is checked by
	// TestSpeculativeBlocksFailedThenLeaderAgain).
	waitFor(t, "the old leader to drop its proposed blocks", func() bool {
		old.svc.fsm.mu.Lock()
		defer old.svc.fsm.mu.Unlock()
		return len(old.svc.fsm.local) == 0
	})
	pool := old.svc.TxPool()
	pool.mu.Lock()
	for _, h := range hashes {
		ptx, ok := pool.all[h]
		if !ok || ptx.inflight {
			pool.mu.Unlock()
			t.Fatalf("tx %s not given back to the old leader's pool (pooled %v)", h, ok)
		}
	}
	pool.mu.Unlock()
	if n := old.svc.TxPool().Nonce(addrA); n != a.nonce {
		t.Fatalf("old leader's pending nonce %d, want %d", n, a.nonce)
	}
	if n := old.svc.Chain().CurrentHeader().Number.Uint64(); n != lead.svc.Chain().CurrentHeader().Number.Uint64() {
		t.Fatalf("cut-off node committed alone: head %d", n)
	}

	c.heal(old)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	counts := sameChain(t, c.nodes...)
	for _, h := range hashes {
		if counts[h] != 1 {
			t.Fatalf("tx %s included %d times", h, counts[h])
		}
	}
	sameState(t, []common.Address{addrA, recvAddr}, c.nodes...)
	waitFor(t, "the old leader's pool to empty", func() bool {
		p, q := old.svc.TxPool().Stats()
		return p == 0 && q == 0
	})
}

// A block entry tampered with on its way to one follower halts that
// follower only; the others go on committing.
func TestClusterTamperedEntryHaltsFollower(t *testing.T) {
	c := newECluster(t, 3, 8, nil)
	lead := c.leader()
	bad, good := c.others(lead)[0], c.others(lead)[1]
	a := newAccount(keyA)
	send(t, good, a, recvAddr, 1, 2)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	before := bad.svc.Chain().CurrentHeader()

	bad.tamper.Store(true)
	send(t, good, a, recvAddr, 1, 1)
	waitFor(t, "the follower to halt", func() bool { return bad.ledger.Halted() != nil })
	if err := bad.ledger.Halted(); !strings.Contains(err.Error(), ErrDivergence.Error()) {
		t.Fatalf("halted with %v, want divergence", err)
	}
	if r := bad.ledger.Role(); r != "halted" {
		t.Fatalf("role %q, want halted", r)
	}
	if h := bad.svc.Chain().CurrentHeader(); h.Hash() != before.Hash() {
		t.Fatalf("halted node moved its head to %d", h.Number)
	}
	send(t, good, a, recvAddr, 1, 5)
	waitNonce(t, addrA, a.nonce, lead, good)
	sameChain(t, lead, good)
	if lead.ledger.Halted() != nil || good.ledger.Halted() != nil {
		t.Fatal("a healthy node halted")
	}
	if h := bad.svc.Chain().CurrentHeader(); h.Hash() != before.Hash() {
		t.Fatalf("halted node moved its head to %d", h.Number)
	}
	if _, err := bad.ledger.Propose([]byte{1}).Wait(); err == nil {
		t.Fatal("halted node accepted a proposal")
	}
}

// A node that took snapshots of its own state restarts on its database and
// rejoins from its applied index: it neither replaces its database by its
// own older snapshot nor re-applies entries, and its log index keeps working.
func TestClusterRestartWithOwnSnapshot(t *testing.T) {
	c := newECluster(t, 3, 2, func(s *cocobackend.ClusterSettings) {
		s.SnapshotThreshold = 4
		s.TrailingLogs = 2
		s.SnapshotInterval = 20 * time.Millisecond
	})
	lead := c.leader()
	f := c.others(lead)[0]
	a := newAccount(keyA)
	send(t, lead, a, recvAddr, 1, 20)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	waitFor(t, "the follower to snapshot itself", func() bool {
		return raftStat(f, "last_snapshot_index") > 0
	})
	c.stop(f)
	applied := f.svc.Chain().AppliedIndex()
	// Only installs after the restart count: a follower that lagged behind
	// the leader's short log may have installed the leader's snapshot
	// before, as it should.
	c.mu.RLock()
	before := len(f.restored)
	c.mu.RUnlock()
	c.start(f)
	send(t, lead, a, recvAddr, 1, 4)
	waitNonce(t, addrA, a.nonce, c.nodes...)
	sameChain(t, c.nodes...)
	sameState(t, []common.Address{addrA, recvAddr}, c.nodes...)
	c.mu.RLock()
	restored := append([]uint64(nil), f.restored[before:]...)
	c.mu.RUnlock()
	for _, idx := range restored {
		if idx <= applied {
			t.Fatalf("restarted node (applied index %d) replaced its database by its own snapshot at index %d", applied, idx)
		}
	}
}

// A follower halted by a bad entry, restarted after raft snapshotted it while
// halted, must not silently skip the entries it never applied: it either
// halts again or catches up by applying them.
func TestClusterHaltedFollowerRestartDoesNotSkip(t *testing.T) {
	c := newECluster(t, 3, 8, func(s *cocobackend.ClusterSettings) {
		s.SnapshotThreshold = 4
		s.TrailingLogs = 2
		s.SnapshotInterval = 20 * time.Millisecond
	})
	lead := c.leader()
	bad, good := c.others(lead)[0], c.others(lead)[1]
	a := newAccount(keyA)
	send(t, good, a, recvAddr, 1, 2)
	waitNonce(t, addrA, a.nonce, c.nodes...)

	bad.tamper.Store(true)
	send(t, good, a, recvAddr, 1, 1)
	waitFor(t, "the follower to halt", func() bool { return bad.ledger.Halted() != nil })
	halted := bad.svc.Chain().AppliedIndex()
	for i := 0; i < 6; i++ {
		send(t, good, a, recvAddr, 1, 1)
		waitNonce(t, addrA, a.nonce, lead, good)
	}
	// With tiny thresholds raft snapshots the halted node within a few
	// intervals, labelling with its own applied index a state that lacks
	// the refused entry, unless the ledger refuses to snapshot a halted
	// state machine (then no snapshot comes: give up waiting after 3s).
	if !pollUntil(3*time.Second, func() bool {
		return raftStat(bad, "last_snapshot_index") > halted
	}) {
		t.Log("no snapshot of the halted node")
	}
	c.stop(bad)
	c.start(bad) // the entry arrives intact this time
	head := lead.svc.Chain().CurrentHeader()
	waitCatchUp(t, "the restarted node to halt or catch up", func() bool {
		return bad.ledger.Halted() != nil || bad.svc.Chain().CurrentHeader().Number.Cmp(head.Number) >= 0
	})
	if err := bad.ledger.Halted(); err != nil {
		return // halted again: nothing skipped
	}
	sameChain(t, c.nodes...)
}

// An install that fails half-way (here a truncated stream) must leave the
// state machine able to take the leader's next attempt: raft retries the
// install, and the service must still stop cleanly.
func TestFailedSnapshotRestoreCanBeRetried(t *testing.T) {
	s, _ := newTestService(t)
	truncated := append([]byte{}, snapshotMagic...)
	truncated = binary.BigEndian.AppendUint64(truncated, 10)
	restore := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Restore panicked: %v", r)
			}
		}()
		return s.fsm.Restore(bytes.NewReader(truncated))
	}
	if err := restore(); err == nil {
		t.Fatal("truncated snapshot restored")
	}
	if err := restore(); err == nil {
		t.Fatal("truncated snapshot restored on retry")
	}
}

// gateLedger is a ledger whose proposals wait until the test commits or
// fails them, with leadership set by the test.
type gateLedger struct {
	fsm     cocobackend.FSM
	leader  atomic.Bool
	changes chan struct{}

	mu      sync.Mutex
	auto    bool // commit proposals at once
	stopped bool
	index   uint64
	pending []*gateResult
}

type gateResult struct {
	done  chan struct{}
	index uint64
	err   error
}

func (r *gateResult) Wait() (uint64, error) { <-r.done; return r.index, r.err }

func newGateLedger() *gateLedger { return &gateLedger{changes: make(chan struct{}, 1)} }

func (l *gateLedger) Start() error   { return nil }
func (l *gateLedger) Stop() error    { l.stop(); return nil }
func (l *gateLedger) IsLeader() bool { return l.leader.Load() }

func (l *gateLedger) LeadershipChanges() <-chan struct{} { return l.changes }

func (l *gateLedger) setLeader(v bool) {
	l.leader.Store(v)
	select {
	case l.changes <- struct{}{}:
	default:
	}
}

func (l *gateLedger) Propose(entry []byte) cocobackend.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := &gateResult{done: make(chan struct{})}
	if l.stopped {
		r.err = cocobackend.ErrStopped
		close(r.done)
		return r
	}
	if l.auto {
		l.index++
		r.index, r.err = l.index, l.fsm.Apply(l.index, entry)
		close(r.done)
		return r
	}
	l.pending = append(l.pending, r)
	return r
}

func (l *gateLedger) inFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// stop fails every pending and later proposal, as a stopped ledger does.
func (l *gateLedger) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.failNext(cocobackend.ErrStopped, 1<<30)
}

// failNext fails the n oldest pending proposals with err.
func (l *gateLedger) failNext(err error, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ; n > 0 && len(l.pending) > 0; n-- {
		r := l.pending[0]
		l.pending = l.pending[1:]
		r.err = err
		close(r.done)
	}
}

// A leader whose speculative blocks all fail gets every transaction back
// ready to build; once it leads again they are all committed, in nonce
// order, exactly once.
func TestSpeculativeBlocksFailedThenLeaderAgain(t *testing.T) {
	spec := genesis.Dev()
	spec.Coco.MaxTxs = 2
	spec.Raw = nil
	db := rawdb.NewMemoryDatabase()
	if _, err := InitChain(db, spec); err != nil {
		t.Fatal(err)
	}
	l := newGateLedger()
	s, err := NewService(nil, db, db, DefaultConfig, func(d LedgerDeps) (cocobackend.Ledger, error) {
		fsm := d.FSM
		l.fsm = fsm
		return l, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.setLeader(true)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The service stops its builder before its ledger, and the builder
		// waits for its proposals: end them first.
		l.stop()
		s.Stop()
	})

	a := newAccount(keyA)
	var hashes []common.Hash
	for i := 0; i < 2*maxSpeculative; i++ {
		tx, err := a.next(recvAddr, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendTx(tx); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, tx.Hash())
	}
	waitFor(t, "three speculative blocks in flight", func() bool { return l.inFlight() == maxSpeculative })

	// Leadership is lost: the proposals fail, oldest first.
	l.setLeader(false)
	for i := 1; i <= maxSpeculative; i++ {
		l.failNext(errors.New("leadership lost while committing log"), 1)
		waitFor(t, "the failed block's transactions back in the pool", func() bool {
			return s.TxPool().ReadyCount() == 2*i
		})
	}
	// Leader again: everything it had is committed.
	l.mu.Lock()
	l.auto = true
	l.mu.Unlock()
	l.setLeader(true)
	if !pollUntil(10*time.Second, func() bool {
		st, err := s.Chain().State()
		return err == nil && st.GetNonce(addrA) == a.nonce
	}) {
		st, _ := s.Chain().State()
		pending, queued := s.TxPool().Stats()
		t.Fatalf("committed nonce %d of %d; pool: %d pending, %d queued, %d ready to build",
			st.GetNonce(addrA), a.nonce, pending, queued, s.TxPool().ReadyCount())
	}
	head := s.Chain().CurrentHeader().Number.Uint64()
	seen := map[common.Hash]int{}
	for n := uint64(1); n <= head; n++ {
		for _, tx := range s.Chain().GetBlockByNumber(n).Transactions() {
			seen[tx.Hash()]++
		}
	}
	for _, h := range hashes {
		if seen[h] != 1 {
			t.Fatalf("tx %s included %d times", h, seen[h])
		}
	}
}
