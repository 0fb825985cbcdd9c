package e2e

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
)

// memberKeyFile writes a member's recovery key (testnode.RecoveryKey) to
// a 0600 file, as `cocogeth recovery keygen` does.
func memberKeyFile(t *testing.T, member string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), member+".key")
	if err := recovery.WriteKeyFile(path, testnode.RecoveryKey(member)); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitRecords waits until every node mirrored a recovery record.
func waitRecords(t *testing.T, nodes []*testnode.Node) {
	t.Helper()
	if !waitFor(30*time.Second, 100*time.Millisecond, func() bool {
		for _, nd := range nodes {
			m, _ := filepath.Glob(filepath.Join(nd.DataDir(), "cocogeth", "recovery", "epoch-*.rec"))
			if len(m) == 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the nodes hold no recovery record")
	}
}

// TestDisasterRecovery: a 3-VN network of 3 members with recovery keys
// (threshold 2) loses every node's sealed ledger secrets. Started in
// recovery mode, the nodes wait; one member's shares are not enough; with a
// second member's, every node recovers and serves every block, receipt and
// balance, and the network takes new transactions.
func TestDisasterRecovery(t *testing.T) {
	g := startGoverned(t)
	lead := g.Leader()
	w := g.Wallet(lead, "A")
	var receipts []*types.Receipt
	to := common.HexToAddress("0x000000000000000000000000000000000000dead")
	for i := 0; i < 5; i++ {
		receipts = append(receipts, w.Transfer(t, to, big.NewInt(int64(1000+i))))
	}
	last := receipts[len(receipts)-1]
	g.WaitHead(last.BlockNumber.Uint64(), 30*time.Second)
	waitRecords(t, g.Nodes)
	balance, err := g.Nodes[lead].Client().BalanceAt(ctx(t), to, nil)
	if err != nil {
		t.Fatal(err)
	}
	head, err := g.Nodes[lead].Client().BlockNumber(ctx(t))
	if err != nil {
		t.Fatal(err)
	}

	for i, nd := range g.Nodes {
		if err := nd.Stop(); err != nil {
			t.Fatalf("stop %s: %v", g.IDs[i], err)
		}
	}
	audit(t, g, receipts)
	// Every node loses its sealed secrets.
	for _, nd := range g.Nodes {
		if err := os.Remove(filepath.Join(nd.DataDir(), "cocogeth", "ledger.keys")); err != nil {
			t.Fatal(err)
		}
	}
	// Without recovery a node refuses to start and says what to do.
	res := testnode.Run(t, g.Binary, time.Minute, "--datadir", g.Nodes[0].DataDir(), "--ipcdisable", "--http.port", "0", "--ws.port", "0")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "no ledger secrets") {
		t.Fatalf("a node without its secrets: exit %d\n%s", res.ExitCode, testnode.Tail(res.Output, 5))
	}
	for _, nd := range g.Nodes {
		nd.StartRecovery()
	}
	keyA, keyB := memberKeyFile(t, "A"), memberKeyFile(t, "B")
	share := func(nd *testnode.Node, key string) string {
		t.Helper()
		var res testnode.Result
		if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
			res = testnode.Run(t, g.Binary, time.Minute, "recovery", "share", "--rpc", nd.HTTPURL(), "--key", key)
			return res.ExitCode == 0
		}) {
			t.Fatalf("recovery share: exit %d\n%s", res.ExitCode, res.Output)
		}
		return res.Output
	}
	// One member alone: not enough, and the node stays locked.
	for i, nd := range g.Nodes {
		out := share(nd, keyA)
		if !strings.Contains(out, "1 more member") {
			t.Fatalf("%s after one member's shares:\n%s", g.IDs[i], out)
		}
		resp, err := http.Post(nd.HTTPURL(), "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "does not exist") {
			t.Fatalf("%s answers eth_blockNumber while locked: %s", g.IDs[i], body)
		}
	}
	// A key that is no member's is not counted.
	stranger, err := recovery.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	strangerFile := filepath.Join(t.TempDir(), "stranger.key")
	if err := recovery.WriteKeyFile(strangerFile, stranger); err != nil {
		t.Fatal(err)
	}
	if out := share(g.Nodes[0], strangerFile); !strings.Contains(out, "not a member") || !strings.Contains(out, "1 more member") {
		t.Fatalf("a stranger's share:\n%s", out)
	}
	// The second member unlocks every node.
	for i, nd := range g.Nodes {
		if out := share(nd, keyB); !strings.Contains(out, "recovered") {
			t.Fatalf("%s after two members' shares:\n%s", g.IDs[i], out)
		}
	}
	for i, nd := range g.Nodes {
		if err := nd.WaitReady(); err != nil {
			t.Fatalf("%s after recovery: %v", g.IDs[i], err)
		}
	}
	g.WaitHead(head, 30*time.Second)
	for i, nd := range g.Nodes {
		for _, r := range receipts {
			got, err := nd.Client().TransactionReceipt(ctx(t), r.TxHash)
			if err != nil || got.BlockHash != r.BlockHash || got.Status != r.Status {
				t.Fatalf("%s: receipt of %s after recovery: %v", g.IDs[i], r.TxHash, err)
			}
		}
		b, err := nd.Client().BalanceAt(ctx(t), to, nil)
		if err != nil || b.Cmp(balance) != 0 {
			t.Fatalf("%s: balance %v after recovery, want %v (%v)", g.IDs[i], b, balance, err)
		}
	}
	// And the network goes on.
	lead = g.Leader()
	r := g.Wallet(lead, "A").Transfer(t, to, big.NewInt(1))
	g.WaitHead(r.BlockNumber.Uint64(), 30*time.Second)
}

// audit decrypts a copy of node 0's data offline with two members' shares
// (cocogeth recovery share --records, cocogeth recovery audit) and finds
// the transactions in it; one member's shares are not enough.
func audit(t *testing.T, g *testnode.Governed, receipts []*types.Receipt) {
	t.Helper()
	dir := t.TempDir()
	records := filepath.Join(g.Nodes[0].DataDir(), "cocogeth", "recovery")
	var shareFiles []string
	for _, m := range []string{"A", "B"} {
		out := filepath.Join(dir, m+".shares")
		res := testnode.Run(t, g.Binary, time.Minute, "recovery", "share", "--records", records, "--key", memberKeyFile(t, m), "--out", out)
		if res.ExitCode != 0 {
			t.Fatalf("offline share of %s: %s", m, res.Output)
		}
		shareFiles = append(shareFiles, out)
	}
	res := testnode.Run(t, g.Binary, time.Minute, "recovery", "audit", "--datadir", g.Nodes[0].DataDir(), "--shares", shareFiles[0], "--out", filepath.Join(dir, "one"))
	if res.ExitCode == 0 || !strings.Contains(res.Output, "1 more member") {
		t.Fatalf("one member's shares: exit %d\n%s", res.ExitCode, res.Output)
	}
	plain := filepath.Join(dir, "plain")
	res = testnode.Run(t, g.Binary, time.Minute, "recovery", "audit", "--datadir", g.Nodes[0].DataDir(), "--shares", strings.Join(shareFiles, ","), "--out", plain)
	if res.ExitCode != 0 || !strings.Contains(res.Output, "head block") {
		t.Fatalf("audit: exit %d\n%s", res.ExitCode, res.Output)
	}
	kv, err := store.Open(plain, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	db := rawdb.NewDatabase(kv)
	for _, r := range receipts {
		if tx, _, _, _ := rawdb.ReadCanonicalTransaction(db, r.TxHash); tx == nil {
			t.Fatalf("the audited copy lacks transaction %s", r.TxHash)
		}
	}
}

// TestRecoveryOverAttestedTLS: with --rpc.tls the recovering node serves
// recovery_ over HTTPS with its attested certificate, and `recovery share`
// checks and shows the attestation before it sends anything. A dev node has
// no members, so its epochs have no record: the node says so.
func TestRecoveryOverAttestedTLS(t *testing.T) {
	nd := testnode.Start(t, testnode.Options{TLS: true})
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(nd.DataDir(), "cocogeth", "ledger.keys")); err != nil {
		t.Fatal(err)
	}
	nd.StartRecovery()
	key := memberKeyFile(t, "A")
	bin, err := os.ReadFile(nd.Binary())
	if err != nil {
		t.Fatal(err)
	}
	code := fmt.Sprintf("0x%x", sha256.Sum256(bin)) // the simulation's code identity
	share := func(args ...string) testnode.Result {
		return testnode.Run(t, nd.Binary(), time.Minute, append([]string{"recovery", "share", "--rpc", nd.HTTPURL(), "--key", key}, args...)...)
	}
	// Without the manifests to compare with, nothing is sent; the node's
	// attestation is shown.
	var res testnode.Result
	if !waitFor(30*time.Second, 200*time.Millisecond, func() bool {
		res = share()
		return strings.Contains(res.Output, "node attested: ")
	}) {
		t.Fatalf("recovery share over https: exit %d\n%s", res.ExitCode, res.Output)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Output, "nothing sent: name the TEE kinds and code identities") || strings.Contains(res.Output, "no recovery record") {
		t.Fatalf("recovery share without --tee/--code:\n%s", res.Output)
	}
	for _, c := range []struct {
		args    []string
		refusal string
	}{
		{[]string{"--tee", "sgx", "--code", code}, `attested TEE "simulation", not one of --tee [sgx]`},
		{[]string{"--tee", "simulation", "--code", "0x" + strings.Repeat("ab", 32)}, "not one of --code"},
		{[]string{"--tee", "simulation", "--code", "0x1234"}, "invalid --code"},
	} {
		if res := share(c.args...); res.ExitCode == 0 || !strings.Contains(res.Output, c.refusal) {
			t.Errorf("recovery share %v: exit %d, want %q\n%s", c.args, res.ExitCode, c.refusal, res.Output)
		}
	}
	res = share("--tee", "simulation", "--code", code)
	if res.ExitCode != 0 || !strings.HasPrefix(nd.HTTPURL(), "https://") || !strings.Contains(res.Output, "no recovery record") {
		t.Fatalf("recovery share to the attested code over %s: exit %d\n%s", nd.HTTPURL(), res.ExitCode, res.Output)
	}
}
