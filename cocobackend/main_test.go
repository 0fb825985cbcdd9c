package cocobackend

import (
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

// Every test of the package, in-memory Raft clusters, cluster nodes over
// TCP and muxes included, must leave no goroutine running once it stopped
// what it started.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
