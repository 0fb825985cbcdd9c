package nodetls

import (
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

// Handshake tests must leave no connection goroutine running.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
