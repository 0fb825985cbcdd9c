package main

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func TestDeriveKeyDeterministic(t *testing.T) {
	for i := uint64(0); i < 20; i++ {
		a, b := deriveKey("cocobench", i), deriveKey("cocobench", i)
		if !bytes.Equal(crypto.FromECDSA(a), crypto.FromECDSA(b)) {
			t.Fatalf("key %d differs between calls", i)
		}
	}
}

func TestDeriveKeyFormula(t *testing.T) {
	// keccak256("cocobench/key/" || seed || uint64 index || uint32 counter), counter 0.
	msg := append([]byte("cocobench/key/seed-x"), 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0)
	want := crypto.Keccak256(msg)
	if got := crypto.FromECDSA(deriveKey("seed-x", 7)); !bytes.Equal(got, want) {
		t.Fatalf("key = %x, want %x", got, want)
	}
}

func TestDeriveKeyGolden(t *testing.T) {
	// Changing the derivation changes every benchmark account: do it on
	// purpose only.
	want := []string{
		"0x35015D5fd098be9e0D34928eFD8c62431bb40Eac",
		"0x1f993758A293066eD214b0AF090B8EA6e66191E6",
		"0xFE922ad2ABD94B1194aF19708D97bD74d72F51C9",
	}
	for i, w := range want {
		got := crypto.PubkeyToAddress(deriveKey("cocobench", uint64(i)).PublicKey)
		if got != common.HexToAddress(w) {
			t.Errorf("key %d: address %s, want %s", i, got.Hex(), w)
		}
	}
}

func TestDeriveKeysDistinct(t *testing.T) {
	seen := make(map[common.Address]bool)
	for _, k := range deriveKeys("cocobench", 500) {
		a := crypto.PubkeyToAddress(k.PublicKey)
		if seen[a] {
			t.Fatalf("duplicate sender %s", a.Hex())
		}
		seen[a] = true
	}
	// Another seed gives other keys.
	for _, k := range deriveKeys("other", 50) {
		if seen[crypto.PubkeyToAddress(k.PublicKey)] {
			t.Fatal("seeds share a key")
		}
	}
	// Recipients are distinct, stable, and never senders.
	r1, r2 := recipientAddresses("cocobench", 1000), recipientAddresses("cocobench", 1000)
	rs := make(map[common.Address]bool)
	for i, a := range r1 {
		if a != r2[i] {
			t.Fatalf("recipient %d not deterministic", i)
		}
		if rs[a] || seen[a] {
			t.Fatalf("recipient %s repeated or a sender", a.Hex())
		}
		rs[a] = true
	}
	if seedNumber("a") == seedNumber("b") || seedNumber("a") != seedNumber("a") {
		t.Fatal("seedNumber not a function of the seed")
	}
}

func TestParseKey(t *testing.T) {
	want := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	for _, s := range []string{devKey, devKey[2:], " " + devKey + "\n"} {
		k, err := parseKey(s)
		if err != nil {
			t.Fatalf("parseKey(%q): %v", s, err)
		}
		if a := crypto.PubkeyToAddress(k.PublicKey); a != want {
			t.Fatalf("dev key address %s, want %s", a.Hex(), want.Hex())
		}
	}
	if _, err := parseKey("0x1234"); err == nil {
		t.Fatal("short key accepted")
	}
}
