package testnode

import (
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || p > 65535 || seen[p] {
			t.Fatalf("bad or repeated port %d in %v", p, ports)
		}
		seen[p] = true
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\n", 2); got != "b\nc" {
		t.Errorf("Tail = %q", got)
	}
	if got := Tail("a", 5); got != "a" {
		t.Errorf("Tail = %q", got)
	}
}

// TestNodeLifecycle exercises Start, the wallet, Stop, StartAgain, Kill
// and Restart against the real binary.
func TestNodeLifecycle(t *testing.T) {
	n := Start(t, Options{})
	if n.DataDir() == "" || !strings.HasPrefix(n.HTTPURL(), "http://127.0.0.1:") || !strings.HasPrefix(n.WSURL(), "ws://127.0.0.1:") {
		t.Fatalf("bad endpoints %s %s %s", n.DataDir(), n.HTTPURL(), n.WSURL())
	}
	w := n.Wallet(t)
	if w.Address != DevAddress || w.ChainID.Cmp(DevChainID) != 0 {
		t.Fatalf("dev wallet %s on chain %v", w.Address, w.ChainID)
	}
	to := common.HexToAddress("0x0000000000000000000000000000000000001234")
	r := w.Transfer(t, to, big.NewInt(42))
	if r.BlockNumber.Sign() <= 0 {
		t.Errorf("transfer receipt in block %v", r.BlockNumber)
	}
	n.Restart()
	if err := n.Stop(); err != nil && !isSignalExit(err) {
		t.Errorf("Stop: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	n.StartAgain()
	ws := n.DialWS(t)
	if bal, err := ws.BalanceAt(t.Context(), to, nil); err != nil || bal.Int64() != 42 {
		t.Errorf("balance over WS after restart = %v, %v; want 42", bal, err)
	}
	pid := n.Pid()
	n.Kill()
	select {
	case <-n.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("Exited not closed after Kill")
	}
	n.StartAgain()
	if n.Pid() == pid || n.Pid() == 0 {
		t.Errorf("pid after restart %d (was %d)", n.Pid(), pid)
	}
	if got := strings.Count(n.Log(), "### "); got != 4 {
		t.Errorf("Log has %d runs, want 4", got)
	}
	if !strings.Contains(n.LastLog(), "--datadir "+n.DataDir()) {
		t.Errorf("LastLog lacks the command line")
	}
	if bal, err := n.Client().BalanceAt(t.Context(), to, nil); err != nil || bal.Int64() != 42 {
		t.Errorf("balance after kill and restart = %v, %v; want 42", bal, err)
	}
}

func TestRun(t *testing.T) {
	res := Run(t, Build(t), 30*time.Second, "version")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "Version:") {
		t.Errorf("version: exit %d output %q", res.ExitCode, res.Output)
	}
	res = Run(t, Build(t), 30*time.Second, "--no-such-flag")
	if res.ExitCode == 0 || res.Stderr == "" {
		t.Errorf("--no-such-flag: exit %d stderr %q", res.ExitCode, res.Stderr)
	}
}
