package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// whoAmI is init code that returns msg.sender (CALLER, MSTORE, RETURN 32).
const whoAmI = "0x3360005260206000f3"

// `cocogeth session` signs in with a keystore account; the token it prints
// makes calls run as that account over HTTP (header or ?session= URL), and
// `cocogeth attach --session` and the governance commands present it.
func TestSessionCLI(t *testing.T) {
	bin := testnode.Build(t)
	ks, pw := cliKeystore(t, bin, "A")
	a := testnode.GovAddress("A")
	n := testnode.Start(t, testnode.Options{Binary: bin})

	var s struct {
		Token   string         `json:"token"`
		Address common.Address `json:"address"`
		Expires int64          `json:"expires"`
		URL     string         `json:"url"`
	}
	out := cliOK(t, bin, "session", "--rpc", n.HTTPURL(), "--keystore", ks, "--password", pw, "--ttl", "10m", "--json")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("session --json printed %q: %v", out, err)
	}
	if s.Address != a || s.Token == "" || !strings.HasSuffix(s.URL, "?session="+s.Token) {
		t.Fatalf("session %+v", s)
	}
	caller := func(c *rpc.Client) common.Address {
		t.Helper()
		var res hexutil.Bytes
		if err := c.CallContext(context.Background(), &res, "eth_call", map[string]any{"data": whoAmI}, "latest"); err != nil {
			t.Fatal(err)
		}
		return common.BytesToAddress(res)
	}
	for name, dial := range map[string]func() (*rpc.Client, error){
		"bearer": func() (*rpc.Client, error) {
			return rpc.DialOptions(context.Background(), n.HTTPURL(), rpc.WithHeader("Authorization", "Bearer "+s.Token))
		},
		"url": func() (*rpc.Client, error) { return rpc.Dial(s.URL) },
	} {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		if got := caller(c); got != a {
			t.Errorf("%s: a call runs as %v, want %v", name, got, a)
		}
		c.Close()
	}
	if got := caller(n.RPC()); got != (common.Address{}) {
		t.Errorf("anonymous call runs as %v", got)
	}
	out = cliOK(t, bin, "attach", n.HTTPURL(), "--session", s.Token, "--exec", "eth.call({data: '"+whoAmI+"'})")
	if !strings.Contains(out, strings.ToLower(a.Hex()[2:])) {
		t.Errorf("attach --session: eth.call printed %q, want %v", out, a)
	}
	cliFails(t, bin, "session lasts longer than the network allows", "session", "--rpc", n.HTTPURL(), "--keystore", ks, "--password", pw, "--ttl", "48h")
	cliFails(t, bin, "malformed session token", "attach", n.HTTPURL(), "--session", "junk", "--exec", "eth.blockNumber")
}
