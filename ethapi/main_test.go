package ethapi

import (
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
	"go.uber.org/goleak"
)

// Every test of the package must leave no goroutine running once it
// stopped what it started: services, the filter system's loops (they end
// with the chain's subscriptions), the expiry of log filters.
// go-ethereum's FilterAPI gives each eth_newFilter log filter a goroutine
// that ends only when the filter is uninstalled or expires (minutes), with
// no way to stop it with the node.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/eth/filters.(*FilterAPI).NewFilter.func1")))
}
