// Package leakcheck makes a package's tests fail when a goroutine they
// started is still running after the last test: call Main from TestMain.
package leakcheck

import (
	"fmt"
	"os"
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
	// (discard) a test binary would die without a word. Say why.
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(os.Stderr, log.LevelCrit, false)))
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
