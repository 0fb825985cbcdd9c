package e2e

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// The member tooling against a real governed network (members A, B, C,
// participant D, policy 2-of-3): the governance commands of the cocogeth
// binary signing with a keystore, eth_sendTransaction with an account the
// node unlocked (--unlock, over IPC), and the console's coco object.

// cliRun runs the cocogeth binary and returns its result.
func cliRun(t *testing.T, bin string, args ...string) testnode.Result {
	t.Helper()
	res := testnode.Run(t, bin, 2*time.Minute, args...)
	t.Logf("$ cocogeth %s\n%s", strings.Join(args, " "), res.Output)
	return res
}

// cliOK runs the binary and fails the test unless it succeeds.
func cliOK(t *testing.T, bin string, args ...string) string {
	t.Helper()
	res := cliRun(t, bin, args...)
	if res.ExitCode != 0 {
		t.Fatalf("cocogeth %s: exit %d:\n%s", strings.Join(args, " "), res.ExitCode, res.Output)
	}
	return res.Stdout
}

// cliFails runs the binary and fails the test unless it exits non-zero
// with an error containing want.
func cliFails(t *testing.T, bin, want string, args ...string) {
	t.Helper()
	res := cliRun(t, bin, args...)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, want) {
		t.Errorf("cocogeth %s: exit %d, want a failure with %q; output:\n%s", strings.Join(args, " "), res.ExitCode, want, res.Output)
	}
}

// cliKeystore imports the keys of the given governed actors into a new
// keystore (light scrypt) and returns its directory and password file.
func cliKeystore(t *testing.T, bin string, actors ...string) (dir, pwFile string) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "keystore")
	pwFile = filepath.Join(tmp, "password")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, a := range actors {
		keyFile := filepath.Join(tmp, a+".key")
		if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(testnode.GovKey(a)))), 0o600); err != nil {
			t.Fatal(err)
		}
		out := cliOK(t, bin, "account", "import", "--keystore", dir, "--password", pwFile, "--lightkdf", keyFile)
		if want := strings.ToLower(testnode.GovAddress(a).Hex()[2:]); !strings.Contains(out, want) {
			t.Fatalf("account import of %s printed %q", a, out)
		}
	}
	return dir, pwFile
}

var proposalCreated = regexp.MustCompile(`Proposal (\d+) created by (\w+)`)

func TestGovernanceCLI(t *testing.T) {
	bin := testnode.Build(t)
	ks, pw := cliKeystore(t, bin, "A", "B", "D")
	a, b, d := testnode.GovAddress("A"), testnode.GovAddress("B"), testnode.GovAddress("D")
	// Every node serves the keystore with A unlocked (B stays locked).
	// The nodes also serve HTTP, hence --allow-insecure-unlock.
	g := testnode.StartGoverned(t, testnode.GovernedOptions{
		Binary: bin,
		Args:   []string{"--keystore", ks, "--unlock", a.Hex(), "--password", pw, "--allow-insecure-unlock"},
	})
	n0, n1, n2 := g.Nodes[0], g.Nodes[1], g.Nodes[2]
	signAs := func(node *testnode.Node, actor common.Address) []string {
		return []string{"--rpc", node.HTTPURL(), "--keystore", ks, "--account", actor.Hex(), "--password", pw}
	}

	t.Run("accounts", func(t *testing.T) {
		out := cliOK(t, bin, "account", "list", "--keystore", ks)
		for _, addr := range []common.Address{a, b, d} {
			if !strings.Contains(out, strings.ToLower(addr.Hex()[2:])) {
				t.Errorf("account list lacks %s", addr.Hex())
			}
		}
	})

	// Only actors read a governed network: over HTTP the read commands
	// present a session of D (a participant), signed in with the CLI.
	var sess struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(cliOK(t, bin, "session", "--rpc", n1.HTTPURL(), "--keystore", ks, "--account", d.Hex(), "--password", pw, "--json")), &sess); err != nil {
		t.Fatal(err)
	}
	t.Run("constitution", func(t *testing.T) {
		cliFails(t, bin, "only to its members and participants", "constitution", "--rpc", n1.HTTPURL())
		out := cliOK(t, bin, "constitution", "--rpc", n1.HTTPURL(), "--session", sess.Token)
		for _, want := range []string{"Constitution version 1", "Voting policy: 2-of-n (2 of 3 members approve)", "Members (3):", "Participants (1):", "Validating nodes (3):", "node2", "TEE manifest: simulation"} {
			if !strings.Contains(out, want) {
				t.Errorf("constitution lacks %q", want)
			}
		}
		var c struct {
			Version uint64 `json:"version"`
			Members []struct {
				ID string `json:"id"`
			} `json:"members"`
		}
		if err := json.Unmarshal([]byte(cliOK(t, bin, "constitution", "--json", "--rpc", n0.IPCPath())), &c); err != nil || c.Version != 1 || len(c.Members) != 3 {
			t.Errorf("constitution --json over IPC: %+v %v", c, err)
		}
	})

	// A proposes through node 1, B approves through node 2: it passes.
	e := common.HexToAddress("0x00000000000000000000000000000000000e0e0e")
	out := cliOK(t, bin, append([]string{"propose", "add-participant", "E", e.Hex()}, signAs(n1, a)...)...)
	m := proposalCreated.FindStringSubmatch(out)
	if m == nil || m[1] != "1" || m[2] != "A" {
		t.Fatalf("propose printed no proposal 1 by A:\n%s", out)
	}
	g.WaitSameHead(30 * time.Second)
	out = cliOK(t, bin, "proposals", "--rpc", n2.HTTPURL(), "--session", sess.Token)
	if !strings.Contains(out, `#1 add-participant: add participant "E" (1 account(s))`) || !strings.Contains(out, "1 of 2 approvals") {
		t.Errorf("proposals:\n%s", out)
	}
	// Flags may follow the arguments.
	out = cliOK(t, bin, append([]string{"vote", "1", "yes"}, signAs(n2, b)...)...)
	for _, want := range []string{"Proposal 1: B voted yes", "Proposal 1 passed", `participant "E" added`, "Constitution changed to version 2 by proposal 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("vote output lacks %q", want)
		}
	}
	g.WaitSameHead(30 * time.Second)

	t.Run("refusals", func(t *testing.T) {
		cliFails(t, bin, "proposal 1 is passed", append([]string{"vote", "1", "no"}, signAs(n0, b)...)...)
		cliFails(t, bin, "only members may propose", append([]string{"propose", "remove-member", "C"}, signAs(n0, d)...)...)
		cliFails(t, bin, "add-member takes ID ACCOUNT[,ACCOUNT…] PUBKEY [RECOVERYKEY] (got 1 argument(s))", append([]string{"propose", "add-member", "F"}, signAs(n0, a)...)...)
		cliFails(t, bin, `unknown action "promote"`, append([]string{"propose", "promote", "D"}, signAs(n0, a)...)...)
		cliFails(t, bin, `invalid ballot "maybe"`, append([]string{"vote", "1", "maybe"}, signAs(n0, a)...)...)
		cliFails(t, bin, "could not decrypt key with given password", "vote", "1", "yes", "--rpc", n0.HTTPURL(), "--keystore", ks, "--account", b.Hex(), "--password", os.DevNull)
		cliFails(t, bin, "keystore "+ks+" holds 3 accounts: choose one with --account", "vote", "1", "yes", "--rpc", n0.HTTPURL(), "--keystore", ks, "--password", pw)
		cliFails(t, bin, "this network has no constitution", "constitution", "--rpc", startDev(t).HTTPURL())
	})

	t.Run("withdraw", func(t *testing.T) {
		out := cliOK(t, bin, append([]string{"propose", "set-policy", "majority"}, signAs(n0, a)...)...)
		m := proposalCreated.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no proposal created:\n%s", out)
		}
		out = cliOK(t, bin, append([]string{"withdraw", m[1]}, signAs(n0, a)...)...)
		if !strings.Contains(out, "Proposal "+m[1]+" withdrawn") {
			t.Errorf("withdraw printed:\n%s", out)
		}
		out = cliOK(t, bin, "proposals", "--all", "--rpc", n0.HTTPURL(), "--session", sess.Token)
		if !strings.Contains(out, "#1 add-participant") || !strings.Contains(out, "#"+m[1]+" set-policy: set voting policy to majority") || !strings.Contains(out, "withdrawn") {
			t.Errorf("proposals --all:\n%s", out)
		}
	})

	// Node-side signing over IPC with the account unlocked at start.
	t.Run("eth_sendTransaction", func(t *testing.T) {
		client, err := rpc.Dial(n0.IPCPath())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		var accounts []common.Address
		if err := client.Call(&accounts, "eth_accounts"); err != nil || len(accounts) != 3 {
			t.Fatalf("eth_accounts: %v %v", accounts, err)
		}
		var hash common.Hash
		tx := map[string]any{"from": a, "to": d, "value": hexutil.Big(*testnode.Ether(1))}
		if err := client.Call(&hash, "eth_sendTransaction", tx); err != nil {
			t.Fatal(err)
		}
		r, err := testnode.WaitReceipt(ctx(t), ethclient.NewClient(client), hash)
		if err != nil || r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("receipt %+v: %v", r, err)
		}
		err = client.Call(&hash, "eth_sendTransaction", map[string]any{"from": b, "to": d, "value": "0x1"})
		wantErr(t, "locked account", err, "authentication needed: password or unlock")
		err = client.Call(&hash, "eth_sendTransaction", map[string]any{"from": e, "to": d, "value": "0x1"})
		wantErr(t, "unknown account", err, "unknown account")
		// A refused governance call answers the contract's reason.
		err = client.Call(&hash, "eth_sendTransaction", map[string]any{"from": a, "to": "0x000000000000000000000000000000000000C0C0", "input": hexutil.Bytes(cliPack(t, "vote", big.NewInt(1), true))})
		wantErr(t, "vote on a decided proposal", err, "proposal 1 is passed")
		// The CLI signs on the node with --node-sign.
		out := cliOK(t, bin, "propose", "add-code", "0x"+strings.Repeat("c0", 32), "--rpc", n0.IPCPath(), "--node-sign", "--account", a.Hex())
		m := proposalCreated.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("propose --node-sign:\n%s", out)
		}
		cliFails(t, bin, "authentication needed: password or unlock", "vote", m[1], "no", "--rpc", n0.IPCPath(), "--node-sign", "--account", b.Hex())
	})

	t.Run("console", func(t *testing.T) {
		attach := func(node *testnode.Node, js string) string {
			t.Helper()
			return strings.TrimSpace(cliOK(t, bin, "attach", "--exec", js, node.IPCPath()))
		}
		if got := attach(n0, "coco.constitution().version"); got != "2" {
			t.Errorf("coco.constitution().version = %s, want 2", got)
		}
		if got := attach(n1, "raft.role()"); got != `"leader"` && got != `"follower"` {
			t.Errorf("raft.role() = %s", got)
		}
		if got := attach(n2, "coco.proposal(1).state"); got != `"passed"` {
			t.Errorf("coco.proposal(1).state = %s", got)
		}
		// A proposes from the console with its unlocked account, B
		// approves with the CLI; the TEE manifest then lists sgx.
		id := attach(n0, `coco.propose('add-tee', 'sgx', {from: '`+a.Hex()+`'})`)
		if !regexp.MustCompile(`^\d+$`).MatchString(id) {
			t.Fatalf("coco.propose returned %s", id)
		}
		// B's account is locked on the node.
		res := cliRun(t, bin, "attach", "--exec", "coco.gov.vote("+id+", true, {from: '"+b.Hex()+"'})", n0.IPCPath())
		if !strings.Contains(res.Output, "authentication needed: password or unlock") {
			t.Errorf("coco.gov.vote from the locked B: %s", res.Output)
		}
		g.WaitSameHead(30 * time.Second)
		out := cliOK(t, bin, append([]string{"vote", id, "yes"}, signAs(n1, b)...)...)
		if !strings.Contains(out, "Proposal "+id+" passed") {
			t.Errorf("vote on the console's proposal:\n%s", out)
		}
		g.WaitSameHead(30 * time.Second)
		if got := attach(n0, "coco.constitution().teeManifest.join(',')"); got != `"sgx,simulation"` {
			t.Errorf("TEE manifest %s", got)
		}
		if got := attach(n0, "coco.gov.isMember('"+b.Hex()+"')"); got != "true" {
			t.Errorf("coco.gov.isMember = %s", got)
		}
	})
}

func cliPack(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	data, err := governance.ABI().Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
