package eth

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Every test of the package must leave no goroutine running once it
// stopped what it started: services, in-memory clusters, builders, the
// filter system's loops (they end with the chain's subscriptions).
// go-ethereum's FilterAPI gives each eth_newFilter log filter a goroutine
// that ends only when the filter is uninstalled or expires (minutes), with
// no way to stop it with the node.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// goleveldb ends a closed database's pool drainer up to a second
		// after Close.
		time.Sleep(1200 * time.Millisecond)
		if err := goleak.Find(goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/eth/filters.(*FilterAPI).NewFilter.func1")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
