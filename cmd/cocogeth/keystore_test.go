package main

import (
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/node"
	"github.com/urfave/cli/v2"
)

// TestLightKDF checks that --lightkdf writes key files with geth's light
// scrypt parameters.
func TestLightKDF(t *testing.T) {
	ks := newKeyStore(t.TempDir(), true)
	a, err := ks.NewAccount("pw")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(a.URL.Path)
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Crypto struct {
			KDFParams struct{ N, P int } `json:"kdfparams"`
		} `json:"crypto"`
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	if p := kf.Crypto.KDFParams; p.N != keystore.LightScryptN || p.P != keystore.LightScryptP {
		t.Errorf("scrypt n=%d p=%d, want n=%d p=%d", p.N, p.P, keystore.LightScryptN, keystore.LightScryptP)
	}
}

// TestResolveAccount checks --unlock / --account resolution: by address
// or by index in the order of `account list`.
func TestResolveAccount(t *testing.T) {
	ks := newKeyStore(filepath.Join(t.TempDir(), "keystore"), true)
	if accs := ks.Accounts(); len(accs) != 0 {
		t.Fatalf("missing directory: %v", accs)
	}
	a, err := ks.NewAccount("pw a")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	b, err := ks.ImportECDSA(priv, "pw b")
	if err != nil {
		t.Fatal(err)
	}
	// Key file names start with the creation time, so a is #0 and b #1.
	for s, want := range map[string]common.Address{
		"0": a.Address, "1": b.Address, b.Address.Hex(): b.Address, strings.ToLower(b.Address.Hex()): b.Address,
	} {
		if got, err := resolveAccount(ks, s); err != nil || got.Address != want {
			t.Errorf("resolve %s: %v %v, want %v", s, got.Address, err, want)
		}
	}
	for s, want := range map[string]string{
		"2":                               "index 2 higher than number of accounts 2",
		"-1":                              "invalid account address or index",
		"0x01":                            "invalid account address or index",
		common.HexToAddress("0x01").Hex(): "no key for given address or file",
	} {
		if _, err := resolveAccount(ks, s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resolve %s: %v, want %q", s, err, want)
		}
	}
}

// testContext is the command line of the node: nodeFlags parsed from args.
func testContext(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet("cocogeth", flag.ContinueOnError)
	for _, f := range nodeFlags {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(newApp(), set, nil)
}

// TestNodeKeystore checks the node's view of the keystore: the keystore
// directory of the node, with the --unlock accounts unlocked.
func TestNodeKeystore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	cfg := Config{Node: node.Config{DataDir: t.TempDir(), KeyStoreDir: dir, UseLightweightKDF: true}}
	ks := newKeyStore(dir, true)
	unlocked, err := ks.NewAccount("pw")
	if err != nil {
		t.Fatal(err)
	}
	locked, err := ks.NewAccount("pw")
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// nodeAccounts is the account manager of a node wired as runNode
	// wires it: the keystore of nodeKeystore added after node.New.
	nodeAccounts := func(args ...string) *accounts.Manager {
		t.Helper()
		nks, err := nodeKeystore(testContext(t, args...), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		if nks == nil {
			t.Fatal("no keystore")
		}
		nodeCfg := cfg.Node
		nodeCfg.DataDir = t.TempDir() // a node each
		stack, err := node.New(&nodeCfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stack.Close() })
		stack.AccountManager().AddBackend(nks)
		return stack.AccountManager()
	}

	// Without --unlock the node serves its keystore directory, locked.
	am := nodeAccounts()
	if got := am.Accounts(); len(got) != 2 {
		t.Fatalf("accounts %v", got)
	}
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(1337), Gas: 21000, GasFeeCap: big.NewInt(1), To: &unlocked.Address})
	sign := func(am *accounts.Manager, a accounts.Account) (*types.Transaction, error) {
		w, err := am.Find(accounts.Account{Address: a.Address})
		if err != nil {
			return nil, err
		}
		return w.SignTx(accounts.Account{Address: a.Address}, tx, big.NewInt(1337))
	}
	if _, err := sign(am, unlocked); !errors.Is(err, keystore.ErrLocked) {
		t.Errorf("without --unlock: %v, want %v", err, keystore.ErrLocked)
	}

	// With --unlock it serves the keystore that unlocked them.
	am2 := nodeAccounts("--unlock", unlocked.Address.Hex(), "--password", pwFile)
	signed, err := sign(am2, unlocked)
	if err != nil {
		t.Fatal(err)
	}
	if from, err := types.Sender(types.LatestSignerForChainID(big.NewInt(1337)), signed); err != nil || from != unlocked.Address {
		t.Errorf("signed by %v (%v)", from, err)
	}
	if _, err := sign(am2, locked); err == nil || err.Error() != "authentication needed: password or unlock" {
		t.Errorf("locked: %v", err)
	}
	if _, err := sign(am2, accounts.Account{Address: common.HexToAddress("0x01")}); !errors.Is(err, accounts.ErrUnknownAccount) {
		t.Errorf("unknown account: %v", err)
	}

	// Refusals happen in nodeKeystore, before any node is built.
	badPw := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(badPw, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpCfg := cfg
	httpCfg.Node.HTTPHost = "127.0.0.1"
	for _, c := range []struct {
		cfg  *Config
		args []string
		want string
	}{
		{&cfg, []string{"--unlock", unlocked.Address.Hex(), "--password", badPw}, "failed to unlock account " + unlocked.Address.Hex()},
		{&cfg, []string{"--unlock", "7", "--password", pwFile}, `could not unlock "7"`},
		{&cfg, []string{"--unlock", "0", "--password", filepath.Join(t.TempDir(), "missing")}, "failed to read password file"},
		{&httpCfg, []string{"--unlock", "0", "--password", pwFile}, "account unlock with HTTP access is forbidden"},
		{&Config{}, []string{"--unlock", "0", "--password", pwFile}, "--unlock needs a --datadir or --keystore"},
	} {
		if _, err := nodeKeystore(testContext(t, c.args...), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if ks, err := nodeKeystore(testContext(t, "--unlock", unlocked.Address.Hex(), "--password", pwFile, "--allow-insecure-unlock"), &httpCfg); err != nil || ks == nil {
		t.Errorf("--allow-insecure-unlock: %v", err)
	}
	if ks, err := nodeKeystore(testContext(t), &Config{}); err != nil || ks != nil {
		t.Errorf("no keystore directory: %v %v", ks, err)
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string][]string{
		"one\n":          {"one"},
		"one":            {"one"},
		"one\r\ntwo\r\n": {"one", "two"},
		"a\n\nc":         {"a", "", "c"},
		"\n":             {""},
	} {
		path := filepath.Join(dir, "pw")
		os.WriteFile(path, []byte(content), 0o600)
		got, err := readPasswordFile(path)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%q: %q (%v), want %q", content, got, err, want)
		}
	}
	if got := passwordAt([]string{"a", "b"}, 5); got != "b" {
		t.Errorf("password after the last line: %q", got)
	}
	if _, err := readPasswordFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "failed to read password file") {
		t.Errorf("missing file: %v", err)
	}
}
