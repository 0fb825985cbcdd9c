package e2e

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/rpc"
)

func TestMain(m *testing.M) { os.Exit(testnode.Main(m)) }

// startDev starts a --dev node with extra flags.
func startDev(t *testing.T, args ...string) *testnode.Node {
	t.Helper()
	return testnode.Start(t, testnode.Options{Args: args})
}

// ctx returns a context bounded by d (default 30 s), cancelled when the
// test ends.
func ctx(t *testing.T, d ...time.Duration) context.Context {
	timeout := 30 * time.Second
	if len(d) > 0 {
		timeout = d[0]
	}
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// wantErr fails unless err is non-nil and its message contains substr.
func wantErr(t *testing.T, what string, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want one containing %q", what, substr)
		return
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("%s: got error %q, want one containing %q", what, err.Error(), substr)
		return
	}
	t.Logf("%s: %v", what, err)
}

// rpcCode returns the JSON-RPC error code of err, or 0.
func rpcCode(err error) int {
	var e rpc.Error
	if errors.As(err, &e) {
		return e.ErrorCode()
	}
	return 0
}

// rpcData returns the JSON-RPC error data of err and whether there is any.
func rpcData(err error) (any, bool) {
	var e rpc.DataError
	if errors.As(err, &e) {
		return e.ErrorData(), true
	}
	return nil, false
}

// waitFor polls cond every interval until it returns true or the timeout
// passes; it reports whether cond became true.
func waitFor(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}
