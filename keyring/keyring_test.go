package keyring

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/tee"
)

func simTEE(t *testing.T, seed byte) tee.TEE {
	t.Helper()
	cfg := tee.DefaultConfig()
	cfg.Secret = tee.NewSecret(bytes.Repeat([]byte{seed}, tee.SecretSize))
	tt, err := tee.New(tee.KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func TestGenerateReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.keys")
	tt := simTEE(t, 7)
	k, err := Open(path, tt)
	if err != nil || !k.Empty() {
		t.Fatalf("open missing: %v, empty %t", err, k.Empty())
	}
	e1, s1, err := k.Generate()
	if err != nil || e1 != 1 || len(s1) != SecretSize {
		t.Fatalf("generate: %d %v", e1, err)
	}
	e2, s2, err := k.Generate()
	if err != nil || e2 != 2 || bytes.Equal(s1, s2) {
		t.Fatalf("second generate: %d %v", e2, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, s1) || bytes.Contains(raw, s2) {
		t.Fatal("a secret is in the file in plaintext")
	}
	k2, err := Open(path, tt)
	if err != nil {
		t.Fatal(err)
	}
	if e, s := k2.Current(); e != 2 || !bytes.Equal(s, s2) {
		t.Fatalf("reopened current %d", e)
	}
	if s, err := k2.Secret(1); err != nil || !bytes.Equal(s, s1) {
		t.Fatalf("reopened epoch 1: %v", err)
	}
	if _, err := k2.Secret(3); err == nil {
		t.Fatal("secret of an unknown epoch")
	}
}

func TestUnsealRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.keys")
	k, _ := Open(path, simTEE(t, 7))
	if _, _, err := k.Generate(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, simTEE(t, 8)); err == nil || !strings.Contains(err.Error(), "cannot be unsealed") {
		t.Fatalf("another TEE opened the keyring: %v", err)
	}
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 1
	os.WriteFile(path, raw, 0o600)
	if _, err := Open(path, simTEE(t, 7)); err == nil {
		t.Fatal("an altered keyring opened")
	}
}

func TestExportImportAdd(t *testing.T) {
	dir := t.TempDir()
	a, _ := Open(filepath.Join(dir, "a"), simTEE(t, 1))
	a.Generate()
	a.Generate()
	x, err := a.Export()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Open(filepath.Join(dir, "b"), simTEE(t, 2))
	if err := b.Import(x); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(b.Epochs()) != "[1 2]" {
		t.Fatalf("imported epochs %v", b.Epochs())
	}
	// Sealed before Import returned.
	b2, err := Open(filepath.Join(dir, "b"), simTEE(t, 2))
	if err != nil || fmt.Sprint(b2.Epochs()) != "[1 2]" {
		t.Fatalf("reopened import: %v %v", b2, err)
	}
	s1, _ := a.Secret(1)
	if err := b.Add(1, s1); err != nil {
		t.Fatalf("adding a held secret again: %v", err)
	}
	if err := b.Add(1, bytes.Repeat([]byte{9}, SecretSize)); err == nil {
		t.Fatal("a second secret for epoch 1 was accepted")
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, append(bytes.Clone(x), 0)} {
		if err := b.Import(bad); err == nil {
			t.Fatalf("imported garbage %x", bad)
		}
	}
	if err := b.Add(0, s1); err == nil {
		t.Fatal("epoch 0 accepted")
	}
	if err := b.Add(5, []byte{1}); err == nil {
		t.Fatal("short secret accepted")
	}
	if e, _ := b.Current(); e != 2 {
		t.Fatalf("current %d after refused adds", e)
	}
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a)} {
		if strings.Contains(s, fmt.Sprintf("%x", s1)) || strings.Contains(s, fmt.Sprint(s1)) {
			t.Fatalf("formatting leaks a secret: %s", s)
		}
	}
}

func TestMarkRisesAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.keys")
	k, _ := Open(path, simTEE(t, 3))
	if err := k.SetMark(5); err != nil || k.Mark() != 0 {
		t.Fatalf("an empty keyring recorded a mark: %d %v", k.Mark(), err)
	}
	k.Generate()
	for _, m := range []uint64{10, 7, 12} {
		if err := k.SetMark(m); err != nil {
			t.Fatal(err)
		}
	}
	if k.Mark() != 12 {
		t.Fatalf("mark %d, want 12 (it only rises)", k.Mark())
	}
	k2, err := Open(path, simTEE(t, 3))
	if err != nil || k2.Mark() != 12 {
		t.Fatalf("reopened mark %d %v", k2.Mark(), err)
	}
}
