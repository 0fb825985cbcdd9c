package eth

import (
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

// Every test of the package must leave no goroutine running once it
// stopped what it started: services, in-memory clusters, builders.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m))
}
