package cocobackend

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Every test of the package, in-memory Raft clusters, cluster nodes over
// TCP and muxes included, must leave no goroutine running once it stopped
// what it started.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// goleveldb ends a closed database's pool drainer up to a second
		// after Close.
		time.Sleep(1200 * time.Millisecond)
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
