package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
)

// `cocogeth stop` closes a node cleanly through its IPC socket, with no OS
// signal (as nodes in an SGX enclave must be stopped): the process exits
// with status 0 and the next start finds no unclean shutdown. The method
// is not offered over HTTP, even with the admin API listed.
func TestStopOverIPC(t *testing.T) {
	bin := testnode.Build(t)
	n := testnode.Start(t, testnode.Options{Binary: bin, Args: []string{"--http.api", "eth,net,web3,admin"}})
	if n.IPCPath() == "" {
		t.Fatal("the node has no IPC socket (path too long?)")
	}
	// Over HTTP the method does not exist.
	body := `{"jsonrpc":"2.0","id":1,"method":"admin_shutdown","params":[]}`
	resp, err := http.Post(n.HTTPURL(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(answer), "does not exist") {
		t.Fatalf("admin_shutdown over HTTP answered %s", answer)
	}
	out := cliOK(t, bin, "stop", "--datadir", n.DataDir())
	if !strings.Contains(out, "Node stopped") {
		t.Errorf("cocogeth stop printed %q", out)
	}
	select {
	case <-n.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not exit after cocogeth stop")
	}
	if err := n.Stop(); err != nil {
		t.Fatalf("exit after cocogeth stop: %v", err)
	}
	if !strings.Contains(n.LastLog(), "Shutdown requested over IPC") {
		t.Errorf("the log does not say why the node stopped:\n%s", testnode.Tail(n.LastLog(), 20))
	}
	n.StartAgain()
	if strings.Contains(n.LastLog(), "Unclean shutdown") {
		t.Errorf("the next start reports an unclean shutdown:\n%s", testnode.Tail(n.LastLog(), 20))
	}
	var head string
	if err := n.RPC().CallContext(context.Background(), &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	cliFails(t, bin, "no node IPC socket", "stop", "--datadir", t.TempDir())
}
