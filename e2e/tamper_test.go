package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// devWithBlocks starts a dev node, commits n transfers (one block each),
// and restarts it so its chain database holds tables, not only a journal.
func devWithBlocks(t *testing.T, n int) (*testnode.Node, []*types.Receipt) {
	t.Helper()
	nd := startDev(t)
	w := nd.Wallet(t)
	to := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	var rs []*types.Receipt
	for i := 0; i < n; i++ {
		rs = append(rs, w.Transfer(t, to, testnode.Gwei(int64(i+1))))
	}
	nd.Restart()
	return nd, rs
}

// chainFiles lists the chain database's files matching pattern.
func chainFiles(t *testing.T, nd *testnode.Node, pattern string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(nd.DataDir(), "cocogeth", "chaindata", pattern))
	if len(m) == 0 {
		t.Fatalf("no chaindata/%s", pattern)
	}
	return m
}

// refusesToStart runs the node on its datadir and expects it to exit with
// an error naming file.
func refusesToStart(t *testing.T, nd *testnode.Node, file, why string) {
	t.Helper()
	res := testnode.Run(t, nd.Binary(), time.Minute, "--datadir", nd.DataDir(), "--dev", "--ipcdisable", "--http.port", "0", "--ws.port", "0")
	if res.ExitCode == 0 {
		t.Fatalf("the node started on a damaged %s:\n%s", file, res.Output)
	}
	if !strings.Contains(res.Output, filepath.Base(file)) || !strings.Contains(res.Output, why) {
		t.Fatalf("the refusal does not name %s and say %q:\n%s", filepath.Base(file), why, testnode.Tail(res.Output, 10))
	}
	t.Logf("refused: %s", lastLine(res.Output))
}

// TestTamperedDataDirRefusesToStart: a flipped byte, a truncated file, a
// file from another node: the node refuses to start and names the file;
// with the file restored it starts and serves everything.
func TestTamperedDataDirRefusesToStart(t *testing.T) {
	nd, rs := devWithBlocks(t, 20)
	other, _ := devWithBlocks(t, 3)
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := other.Stop(); err != nil {
		t.Fatal(err)
	}
	type damage struct {
		name, pattern, why string
		edit               func(t *testing.T, b []byte, path string) []byte
	}
	for _, d := range []damage{
		{"flipped byte in a table", "*.ldb", "fails authentication", func(_ *testing.T, b []byte, _ string) []byte {
			b[len(b)/2] ^= 0x04
			return b
		}},
		{"flipped byte in the journal", "*.log", "", func(_ *testing.T, b []byte, _ string) []byte {
			b[len(b)-5] ^= 0x04
			return b
		}},
		{"truncated table", "*.ldb", "cut short", func(_ *testing.T, b []byte, _ string) []byte {
			return b[:4096*2]
		}},
		{"manifest from another node", "MANIFEST-*", "", func(t *testing.T, _ []byte, path string) []byte {
			m, _ := filepath.Glob(filepath.Join(other.DataDir(), "cocogeth", "chaindata", "MANIFEST-*"))
			if len(m) == 0 {
				t.Fatal("no manifest on the other node")
			}
			b, err := os.ReadFile(m[0])
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			path := chainFiles(t, nd, d.pattern)[0]
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, d.edit(t, bytes.Clone(orig), path), 0o600); err != nil {
				t.Fatal(err)
			}
			refusesToStart(t, nd, path, d.why)
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Restored, nothing was lost.
	nd.StartAgain()
	for _, r := range rs {
		got, err := nd.Client().TransactionReceipt(ctx(t), r.TxHash)
		if err != nil || got.BlockHash != r.BlockHash {
			t.Fatalf("receipt of %s after the restores: %v", r.TxHash, err)
		}
	}
}

// TestTamperedWhileRunningStopsTheNode: a table damaged under a running
// node. Reading every block and receipt meets the damage: the node stops
// rather than answer, and no answer it gave was wrong.
func TestTamperedWhileRunningStopsTheNode(t *testing.T) {
	nd, rs := devWithBlocks(t, 40)
	tables := chainFiles(t, nd, "*.ldb")
	for _, path := range tables {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 3*4096 {
			continue
		}
		for off := 4096 + 100; off < len(b); off += 4096 {
			b[off] ^= 0x10 // one byte in every block
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stopped := false
	for _, r := range rs {
		got, err := nd.Client().TransactionReceipt(ctx(t), r.TxHash)
		if err != nil {
			stopped = true
			break
		}
		if got.BlockHash != r.BlockHash || got.Status != r.Status || got.GasUsed != r.GasUsed {
			t.Fatalf("a wrong receipt was served for %s", r.TxHash)
		}
		blk, err := nd.Client().BlockByNumber(ctx(t), r.BlockNumber)
		if err != nil {
			stopped = true
			break
		}
		if blk.Hash() != r.BlockHash {
			t.Fatalf("a wrong block %d was served", r.BlockNumber)
		}
	}
	if !stopped {
		t.Fatal("every read succeeded on a damaged table")
	}
	select {
	case <-nd.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the node kept running after meeting a damaged file")
	}
	if !strings.Contains(nd.Log(), "failed authentication") {
		t.Fatalf("the node did not say why it stopped:\n%s", testnode.Tail(nd.Log(), 10))
	}
}

// TestRolledBackChainRefused: the chain database replaced by an older copy
// of itself (taken at an earlier stop) is refused: the sealed ledger
// secrets record how far the node applied the ledger.
func TestRolledBackChainRefused(t *testing.T) {
	nd, _ := devWithBlocks(t, 3)
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	chain := filepath.Join(nd.DataDir(), "cocogeth", "chaindata")
	old := filepath.Join(t.TempDir(), "chaindata")
	if err := os.CopyFS(old, os.DirFS(chain)); err != nil {
		t.Fatal(err)
	}
	nd.StartAgain()
	w := nd.Wallet(t)
	for i := 0; i < 3; i++ {
		w.Transfer(t, common.HexToAddress("0x00000000000000000000000000000000000b0b0b"), testnode.Gwei(1))
	}
	if err := nd.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(chain); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(chain, os.DirFS(old)); err != nil {
		t.Fatal(err)
	}
	res := testnode.Run(t, nd.Binary(), time.Minute, "--datadir", nd.DataDir(), "--dev", "--ipcdisable", "--http.port", "0", "--ws.port", "0")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "replaced by an older copy") {
		t.Fatalf("a rolled-back chain database: exit %d\n%s", res.ExitCode, testnode.Tail(res.Output, 10))
	}
}
