// Package leakcheck makes a package's tests fail when a goroutine they
// started is still running after the last test: call Main from TestMain.
package leakcheck

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/log"
	"go.uber.org/goleak"
)

// settle is how long Main waits before looking: goleveldb ends a closed
// database's pool drainer up to a second after Close.
const settle = 1200 * time.Millisecond

// Main runs the tests and then, if they passed, fails the run when
// goroutines other than those opts ignore are still running. It returns
// the exit code for os.Exit.
func Main(m *testing.M, opts ...goleak.Option) int {
	// go-ethereum's log.Crit exits the process; with its default logger
	// (discard) a test binary would die without a word. Say why, and
	// where every goroutine was.
	log.SetDefault(log.NewLogger(critHandler{log.NewTerminalHandlerWithLevel(os.Stderr, log.LevelCrit, false)}))
	code := m.Run()
	if code != 0 {
		return code
	}
	time.Sleep(settle)
	if err := goleak.Find(opts...); err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		return 1
	}
	return 0
}

// critHandler writes critical records and then every goroutine's stack.
type critHandler struct{ slog.Handler }

func (h critHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	buf := make([]byte, 1<<20)
	os.Stderr.Write(buf[:runtime.Stack(buf, true)])
	return err
}
