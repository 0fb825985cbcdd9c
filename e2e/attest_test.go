package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// The node's TEE is labelled everywhere and its attestation verifies: on a
// --dev node (simulation TEE) the log, coco_nodeInfo and the metrics say
// SIMULATION/INSECURE, and `cocogeth verify` checks the report against the
// node key and prints the code identity, the SHA-256 of the binary. On a
// governed network it also checks the constitution: the node key is
// listed, the TEE kind and the code identity admitted (the nodes attest
// to each other with the same report on the node-to-node channel). --tee
// sgx outside an enclave refuses to start.
func TestAttestationAndLabels(t *testing.T) {
	bin := testnode.Build(t)
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(exe)
	codeID := "0x" + hex.EncodeToString(sum[:])

	n := testnode.Start(t, testnode.Options{Binary: bin, Metrics: true})
	if !strings.Contains(n.LastLog(), "TEE: SIMULATION, not an enclave") {
		t.Errorf("no TEE banner in the log:\n%s", testnode.Tail(n.LastLog(), 30))
	}
	var info struct {
		TEE string `json:"tee"`
	}
	if err := n.RPC().CallContext(context.Background(), &info, "coco_nodeInfo"); err != nil || !strings.Contains(info.TEE, "simulation (INSECURE") {
		t.Errorf("coco_nodeInfo.tee = %q (%v)", info.TEE, err)
	}
	resp, err := http.Get(n.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "tee_simulation 1") {
		t.Errorf("metrics lack tee_simulation 1")
	}
	out := cliOK(t, bin, "verify", n.HTTPURL())
	for _, want := range []string{"simulation (INSECURE", "report       verified, bound to the node key", "code id      " + codeID, "constitution none"} {
		if !strings.Contains(out, want) {
			t.Errorf("cocogeth verify lacks %q:\n%s", want, out)
		}
	}

	g := testnode.StartGoverned(t, testnode.GovernedOptions{Binary: bin})
	f := g.Nodes[(g.Leader()+1)%3]
	var att struct {
		NodeKey string `json:"nodeKey"`
	}
	if err := f.RPC().CallContext(context.Background(), &att, "coco_attestation"); err != nil {
		t.Fatal(err)
	}
	// coco_attestation is open to anyone, like eth_chainId.
	anon := postOne(t, f.HTTPURL(), `{"jsonrpc":"2.0","id":1,"method":"coco_attestation","params":[]}`)
	if anon.Error != nil || !strings.Contains(string(anon.Result), att.NodeKey[2:]) {
		t.Errorf("anonymous coco_attestation on a governed network: %s %+v", anon.Result, anon.Error)
	}
	res := testnode.Run(t, bin, time.Minute, "verify", f.HTTPURL(), "--session", f.Session())
	for _, want := range []string{"node listed  ok", "TEE kind     ok", "code id      ok", "not debug    ok"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("cocogeth verify on a governed node lacks %q:\n%s", want, res.Output)
		}
	}
	if res.ExitCode != 0 {
		t.Errorf("cocogeth verify failed a node the constitution admits:\n%s", res.Output)
	}
	// The nodes attested to each other over the node-to-node channel.
	if !strings.Contains(f.Log(), "tee=\"simulation (INSECURE)\"") {
		t.Errorf("no attested node-to-node connection in the follower's log")
	}

	res = testnode.Run(t, bin, time.Minute, "--dev", "--datadir", t.TempDir(), "--tee", "sgx", "--http.port", "0", "--ws.port", "0")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "not running inside an enclave") {
		t.Errorf("--tee sgx outside an enclave: exit %d\n%s", res.ExitCode, res.Output)
	}
}

// A node with a valid node key but other code (its binary patched, so its
// simulation code identity is not in the code manifest) is refused on the
// node-to-node channel, with the reason in the log, and never gets the
// chain; the network keeps committing, and the node on its voted code
// catches up.
func TestWrongCodeIdentityRefused(t *testing.T) {
	bin := testnode.Build(t)
	g := testnode.StartGoverned(t, testnode.GovernedOptions{Binary: bin})
	lead := g.Leader()
	i := (lead + 1) % 3
	f := g.Nodes[i]
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	patched := t.TempDir() + "/cocogeth"
	if err := os.WriteFile(patched, append(exe, []byte("patched")...), 0o755); err != nil {
		t.Fatal(err)
	}
	impostor := testnode.Start(t, testnode.Options{
		Binary: patched, DataDir: f.DataDir(), Genesis: g.GenesisPath, SignInAs: testnode.GovKey("A"),
		Args: []string{"--http.api", testnode.ClusterAPIs, "--ws.api", testnode.ClusterAPIs, "--raft.addr", g.ListenAddrs[i]},
	})
	head := func(n *testnode.Node) uint64 {
		t.Helper()
		h, err := n.Client().BlockNumber(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := head(impostor)
	// The network commits without it.
	w := testnode.NewWallet(g.Nodes[lead].Client(), testnode.GovKey("A"), testnode.DevChainID)
	r := w.Transfer(t, testnode.GovAddress("D"), big.NewInt(1))
	if err := testnode.Poll(30*time.Second, 200*time.Millisecond, func() error {
		if !strings.Contains(g.Nodes[lead].Log(), "code identity not admitted") {
			return errors.New("the leader has not refused the patched node yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v:\n%s", err, testnode.Tail(g.Nodes[lead].Log(), 30))
	}
	time.Sleep(2 * time.Second)
	if h := head(impostor); h >= r.BlockNumber.Uint64() || h != before {
		t.Errorf("the patched node reached block %d (before %d, committed %d)", h, before, r.BlockNumber)
	}
	impostor.Stop()
	f.StartAgain()
	g.WaitHead(r.BlockNumber.Uint64(), 60*time.Second)
}

// A node's code identity voted out of the code manifest cuts it off: a
// joiner on other code (a patched binary) is admitted once members add
// its code and the node, follows the chain, and is refused by every node
// from the block that removes its code, while the others keep committing.
func TestCodeIdentityVotedOut(t *testing.T) {
	bin := testnode.Build(t)
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	patched := t.TempDir() + "/cocogeth"
	if err := os.WriteFile(patched, append(exe, []byte("release 2")...), 0o755); err != nil {
		t.Fatal(err)
	}
	codeY := common.HexToHash(testnode.CodeID(patched))
	g := testnode.StartGoverned(t, testnode.GovernedOptions{Binary: bin})
	wA, wB := g.Wallet(g.Leader(), "A"), g.Wallet(g.Leader(), "B")
	pass := func(method string, args ...any) {
		t.Helper()
		id := govProposalID(t, govTransact(t, wA, method, args...))
		govTransact(t, wB, "vote", id, true)
	}
	pass("proposeAddCode", [32]byte(codeY))
	j := g.StartJoinerOn(t, "node4", patched)
	pass("proposeAddNode", "node4", "A", j.RaftAddr, hexutil.MustDecode(j.PublicKey), [32]byte{})
	if err := j.WaitReady(); err != nil {
		t.Fatalf("node4 after the vote: %v", err)
	}
	r := wA.Transfer(t, testnode.GovAddress("D"), big.NewInt(1))
	govWaitBlock(t, j.Node, r.BlockNumber.Uint64())

	pass("proposeRemoveCode", [32]byte(codeY))
	lead := g.Leader()
	if err := testnode.Poll(30*time.Second, 200*time.Millisecond, func() error {
		if !strings.Contains(g.Nodes[lead].Log(), "code identity not admitted") {
			return errors.New("the leader has not refused node4 yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v:\n%s", err, testnode.Tail(g.Nodes[lead].Log(), 30))
	}
	r = g.Wallet(g.Leader(), "A").Transfer(t, testnode.GovAddress("D"), big.NewInt(1))
	g.WaitHead(r.BlockNumber.Uint64(), 30*time.Second) // the three nodes on voted code
	time.Sleep(2 * time.Second)
	h, err := j.Client().BlockNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h >= r.BlockNumber.Uint64() {
		t.Errorf("node4, whose code was voted out, reached block %d (committed %d)", h, r.BlockNumber)
	}
}

// With --rpc.tls the node serves HTTPS and WSS with a self-signed
// certificate carrying its TEE report over the certificate's key:
// cocogeth verify accepts it only because the report verifies and binds
// it, and checks it is the certificate coco_attestation names; a client
// that wants a CA refuses it.
func TestClientTLSAttested(t *testing.T) {
	bin := testnode.Build(t)
	n := testnode.Start(t, testnode.Options{Binary: bin, TLS: true})
	if !strings.HasPrefix(n.HTTPURL(), "https://") {
		t.Fatalf("HTTP URL %s", n.HTTPURL())
	}
	for _, url := range []string{n.HTTPURL(), n.WSURL()} {
		out := cliOK(t, bin, "verify", url)
		if !strings.Contains(out, "TLS          certificate attested") || !strings.Contains(out, "report       verified, bound to the node key") {
			t.Errorf("cocogeth verify %s:\n%s", url, out)
		}
	}
	if _, err := http.Post(n.HTTPURL(), "application/json", strings.NewReader(`{}`)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that wants a CA-signed certificate: %v", err)
	}
	var chain string
	if err := n.RPC().CallContext(context.Background(), &chain, "eth_chainId"); err != nil || chain != "0x539" {
		t.Errorf("eth_chainId over HTTPS: %q %v", chain, err)
	}
	if head, err := n.DialWS(t).BlockNumber(context.Background()); err != nil {
		t.Errorf("eth_blockNumber over WSS: %d %v", head, err)
	}
}
