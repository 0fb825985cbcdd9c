package main

import (
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// The Web3 Secret Storage test vectors (as in go-ethereum's
// accounts/keystore/testdata/v3_test_vector.json).
var secretStorageVectors = map[string]string{
	"scrypt": `{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"83dbcc02d8ccb40e466191a123791e0e"},
		"ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt",
		"kdfparams":{"dklen":32,"n":262144,"r":1,"p":8,"salt":"ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"},
		"mac":"2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"},
		"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}`,
	"pbkdf2": `{"crypto":{"cipher":"aes-128-ctr","cipherparams":{"iv":"6087dab2f9fdbbfaddc31a909735c1e6"},
		"ciphertext":"5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46","kdf":"pbkdf2",
		"kdfparams":{"c":262144,"dklen":32,"prf":"hmac-sha256","salt":"ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"},
		"mac":"517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"},
		"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}`,
}

func TestDecryptTestVectors(t *testing.T) {
	const priv = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
	for name, js := range secretStorageVectors {
		key, err := decryptKeyJSON([]byte(js), "testpassword")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := hex.EncodeToString(crypto.FromECDSA(key)); got != priv {
			t.Errorf("%s: key %s, want %s", name, got, priv)
		}
		if _, err := decryptKeyJSON([]byte(js), "wrong"); !errors.Is(err, errDecrypt) {
			t.Errorf("%s: wrong password: %v, want %v", name, err, errDecrypt)
		}
	}
}

func TestKeyStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keystore")
	ks := newKeyStore(dir, true)
	if keys, err := ks.keys(); err != nil || len(keys) != 0 {
		t.Fatalf("missing directory: %v %v", keys, err)
	}
	a, err := ks.newAccount("pw a")
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	b, err := ks.importKey(priv, "pw b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.importKey(priv, "again"); !errors.Is(err, errAccountExists) {
		t.Errorf("second import: %v, want %v", err, errAccountExists)
	}
	// geth's file name and permissions.
	name := regexp.MustCompile(`^UTC--\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{9}Z--[0-9a-f]{40}$`)
	for _, k := range []keyFile{a, b} {
		if !name.MatchString(filepath.Base(k.Path)) || !strings.HasSuffix(k.Path, hex.EncodeToString(k.Address[:])) {
			t.Errorf("key file name %s", filepath.Base(k.Path))
		}
		if fi, err := os.Stat(k.Path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v (%v)", fi.Mode(), err)
		}
	}
	// Files that are not keys are skipped.
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a key"), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden"), []byte(`{"address":"`+hex.EncodeToString(a.Address[:])+`"}`), 0o644)
	keys, err := ks.keys()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	got, err := ks.decrypt(b, "pw b")
	if err != nil || got.D.Cmp(priv.D) != 0 {
		t.Fatalf("decrypt imported key: %v", err)
	}
	if _, err := ks.decrypt(a, "pw b"); !errors.Is(err, errDecrypt) {
		t.Errorf("wrong password: %v", err)
	}
	// Index (files sort by creation time) and address resolve to the
	// same account.
	for _, s := range []string{"1", b.Address.Hex(), strings.ToLower(b.Address.Hex())} {
		if addr, err := resolveAccount(ks, s); err != nil || addr != b.Address {
			t.Errorf("resolve %s: %v %v", s, addr, err)
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

// TestKeyStoreWallets checks the node's view of the keystore: locked and
// unlocked signing with geth's errors, and accounts arriving later.
func TestKeyStoreWallets(t *testing.T) {
	ks := newKeyStore(t.TempDir(), true)
	k, err := ks.newAccount("pw")
	if err != nil {
		t.Fatal(err)
	}
	backend := newKSBackend(ks)
	am := accounts.NewManager(nil, backend)
	defer am.Close()
	if got := am.Accounts(); len(got) != 1 || got[0] != k.Address {
		t.Fatalf("accounts %v", got)
	}
	w, err := am.Find(accounts.Account{Address: k.Address})
	if err != nil {
		t.Fatal(err)
	}
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(1337), Gas: 21000, GasFeeCap: big.NewInt(1), To: &k.Address})
	acc := accounts.Account{Address: k.Address}
	if _, err := w.SignTx(acc, tx, big.NewInt(1337)); err == nil || err.Error() != "authentication needed: password or unlock" {
		t.Errorf("locked: %v", err)
	}
	if st, _ := w.Status(); st != "Locked" {
		t.Errorf("status %s", st)
	}
	if _, err := w.SignTxWithPassphrase(acc, "bad", tx, big.NewInt(1337)); !errors.Is(err, errDecrypt) {
		t.Errorf("bad passphrase: %v", err)
	}
	if err := ks.unlock(k.Address, "pw"); err != nil {
		t.Fatal(err)
	}
	signed, err := w.SignTx(acc, tx, big.NewInt(1337))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := types.Sender(types.LatestSignerForChainID(big.NewInt(1337)), signed); err != nil || from != k.Address {
		t.Errorf("signed by %v (%v)", from, err)
	}
	if _, err := am.Find(accounts.Account{Address: common.HexToAddress("0x01")}); !errors.Is(err, accounts.ErrUnknownAccount) {
		t.Errorf("unknown account: %v", err)
	}
	// A key file added later shows up.
	k2, err := ks.newAccount("pw")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * keystoreRefresh)
	for len(am.Accounts()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("new account %s not listed: %v", k2.Address.Hex(), am.Accounts())
		}
		time.Sleep(50 * time.Millisecond)
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
