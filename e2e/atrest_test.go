package e2e

import (
	"bytes"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Markers of the at-rest test: code, a storage value, calldata and log
// data no node has any other reason to hold. Each is 32 bytes without
// zero bytes (trie encodings trim leading zeros).
var (
	codeMarker    = bytes.Repeat([]byte{0xc0, 0xde, 0x5e, 0xc2}, 8)
	storageMarker = bytes.Repeat([]byte{0x5a, 0x1e, 0x57, 0x0e}, 8)
	logMarker     = bytes.Repeat([]byte{0x10, 0x6d, 0xa7, 0xa1}, 8)
)

// markerInitCode deploys a contract whose runtime code holds codeMarker
// (after its STOP) and which, called with 64 bytes, stores the first word
// in slot 0 and logs the second:
//
//	CALLDATALOAD(0) PUSH0 SSTORE; MSTORE(0, CALLDATALOAD(32)); LOG0(0, 32); STOP; PUSH32 marker
func markerInitCode() []byte {
	runtime := append([]byte{
		0x60, 0x00, 0x35, 0x60, 0x00, 0x55, // sstore(0, calldataload(0))
		0x60, 0x20, 0x35, 0x60, 0x00, 0x52, // mstore(0, calldataload(32))
		0x60, 0x20, 0x60, 0x00, 0xa0, // log0(0, 32)
		0x00, // stop
		0x7f, // push32 marker (never run)
	}, codeMarker...)
	n := byte(len(runtime))
	init := []byte{0x60, n, 0x80, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3}
	return append(init, runtime...)
}

// writeMarkers deploys the marker contract through node i's client and
// calls it; it checks the node serves the markers back (so they really
// are in the chain) and returns the calldata.
func writeMarkers(t *testing.T, n *testnode.Node) []byte {
	t.Helper()
	w := n.Wallet(t)
	r := w.SendAndWait(t, w.DynamicTx(t, nil, nil, 200_000, markerInitCode()))
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("marker deploy failed: %+v", r)
	}
	addr := r.ContractAddress
	calldata := append(bytes.Clone(storageMarker), logMarker...)
	r = w.SendAndWait(t, w.DynamicTx(t, &addr, nil, 100_000, calldata))
	if r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 || !bytes.Equal(r.Logs[0].Data, logMarker) {
		t.Fatalf("marker call: status %d, logs %+v", r.Status, r.Logs)
	}
	code, err := n.Client().CodeAt(ctx(t), addr, nil)
	if err != nil || !bytes.Contains(code, codeMarker) {
		t.Fatalf("code at %s: %x %v", addr, code, err)
	}
	v, err := n.Client().StorageAt(ctx(t), addr, common.Hash{}, nil)
	if err != nil || !bytes.Equal(v, storageMarker) {
		t.Fatalf("storage at %s: %x %v", addr, v, err)
	}
	return calldata
}

// grepDataDir returns every file under dir holding one of the needles, in
// binary or as hex text.
func grepDataDir(t *testing.T, dir string, needles map[string][]byte) []string {
	t.Helper()
	var hits []string
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		lower := bytes.ToLower(b)
		for name, needle := range needles {
			if bytes.Contains(b, needle) || bytes.Contains(lower, []byte(hex.EncodeToString(needle))) {
				rel, _ := filepath.Rel(dir, path)
				hits = append(hits, rel+" holds the "+name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files under %s: the check would prove nothing", files, dir)
	}
	return hits
}

func markerNeedles(calldata []byte) map[string][]byte {
	return map[string][]byte{
		"contract code": codeMarker, "storage value": storageMarker, "log data": logMarker,
		"calldata": calldata, "calldata (first half)": calldata[:40], "calldata (second half)": calldata[24:],
	}
}

// TestDataAtRestSingleNode: after a run that deployed code, wrote storage,
// sent calldata and emitted logs, no byte of them is in the datadir, while
// the node still serves them after a restart.
func TestDataAtRestSingleNode(t *testing.T) {
	n := startDev(t)
	calldata := writeMarkers(t, n)
	// The node has written its journal; the check runs on a live node
	// (what a thief of the disk sees) and again after a clean stop.
	if hits := grepDataDir(t, n.DataDir(), markerNeedles(calldata)); len(hits) > 0 {
		t.Fatalf("plaintext in the datadir of a running node:\n%s", strings.Join(hits, "\n"))
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if hits := grepDataDir(t, n.DataDir(), markerNeedles(calldata)); len(hits) > 0 {
		t.Fatalf("plaintext in the datadir of a stopped node:\n%s", strings.Join(hits, "\n"))
	}
	n.StartAgain()
	if b, err := n.Client().BlockNumber(ctx(t)); err != nil || b < 2 {
		t.Fatalf("after restart: block %d, %v", b, err)
	}
}

// TestDataAtRestCluster: the same on a 3-VN cluster whose Raft log and
// snapshots hold the blocks too; the followers fetched the ledger secret
// over the attested channel at their first start.
func TestDataAtRestCluster(t *testing.T) {
	c := startCluster(t, testnode.ClusterOptions{
		BlockTime: "1ms", MaxTxs: 1,
		Args: []string{"--raft.snapshot-threshold", "40", "--raft.trailing-logs", "10", "--raft.snapshot-interval", "1s"},
	})
	lead := c.Leader()
	calldata := writeMarkers(t, c.Nodes[c.Others(lead)[0]])
	// Enough blocks for a snapshot after the markers.
	w := c.Nodes[lead].Wallet(t)
	to := crypto.PubkeyToAddress(clusterKeys("atrest", 1)[0].PublicKey)
	var last common.Hash
	for i := 0; i < 60; i++ {
		tx := w.DynamicTx(t, &to, testnode.Gwei(1), 21_000, nil)
		w.Send(t, tx)
		last = tx.Hash()
	}
	w.Wait(t, last)
	c.WaitSameHead(30 * time.Second)
	if !waitFor(2*time.Minute, 200*time.Millisecond, func() bool {
		for _, nd := range c.Nodes {
			m, _ := filepath.Glob(filepath.Join(nd.DataDir(), "cocogeth", "raft", "snapshots", "*", "state.bin"))
			if len(m) == 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("not every node took a raft snapshot")
	}
	for i, nd := range c.Nodes {
		if _, err := os.Stat(filepath.Join(nd.DataDir(), "cocogeth", "ledger.keys")); err != nil {
			t.Fatalf("%s holds no sealed ledger secrets: %v", c.IDs[i], err)
		}
		if hits := grepDataDir(t, nd.DataDir(), markerNeedles(calldata)); len(hits) > 0 {
			t.Fatalf("plaintext in the datadir of %s:\n%s", c.IDs[i], strings.Join(hits, "\n"))
		}
	}
	if !c.Nodes[0].WaitLog("Sent the ledger secrets", 0) || !c.Nodes[1].WaitLog("Received the network's ledger secrets", 0) {
		t.Fatal("the followers did not fetch the ledger secrets")
	}
}
