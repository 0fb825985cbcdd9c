package cocobackend

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package, in-memory Raft clusters and muxes included,
// must leave no goroutine running once it stopped what it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
