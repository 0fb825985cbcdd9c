package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/gorilla/websocket"
)

// get fetches url and returns the response and its body.
func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// The node serves the dashboard from its embedded files beside the
// JSON-RPC, with a policy that keeps the page to this node and out of
// frames; its page may open the WebSocket (its origin is allowed), a
// foreign page may not; coco_network answers for the node.
func TestDashboardServed(t *testing.T) {
	n := startDev(t, "--dashboard", "--http.api", "eth,net,web3", "--ws.api", "eth")
	base := n.HTTPURL() + "/dashboard/"

	resp, body := get(t, base)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "app.js") {
		t.Fatalf("GET /dashboard/: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "connect-src 'self' " + n.WSURL()} {
		if !strings.Contains(csp, strings.TrimSuffix(want, "/")) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}
	if resp, _ := get(t, base+"app.js"); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, base+"missing.js"); resp.StatusCode != 404 {
		t.Errorf("a missing file: %d", resp.StatusCode)
	}
	if resp, err := http.Post(base, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`)); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the dashboard: %v %v", resp, err)
	}

	_, body = get(t, base+"config.json")
	var cfg struct {
		RPC, WS, ChainID, Governance string
		Governed                     bool
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("config.json %q: %v", body, err)
	}
	if cfg.RPC != "/" || strings.TrimSuffix(cfg.WS, "/") != strings.TrimSuffix(n.WSURL(), "/") || cfg.ChainID != "0x539" || cfg.Governed ||
		!strings.EqualFold(cfg.Governance, governance.Address.Hex()) {
		t.Errorf("config.json: %+v", cfg)
	}

	// The JSON-RPC beside it is unchanged.
	if _, err := n.Client().BlockNumber(ctx(t)); err != nil {
		t.Fatal(err)
	}
	var view []cocobackend.NodeStatus
	if err := n.RPC().CallContext(ctx(t), &view, "coco_network"); err != nil {
		t.Fatal(err)
	}
	if len(view) != 1 || !view[0].Self || view[0].Role != "leader" || !view[0].Reachable || view[0].TEE != "simulation" || len(view[0].Code) != 32 {
		t.Errorf("coco_network of a single node: %+v", view)
	}

	// The page's own origin may open the WebSocket; another site's may not.
	page, _ := url.Parse(n.HTTPURL())
	for origin, ok := range map[string]bool{"http://" + page.Host: true, "http://evil.example": false} {
		c, resp, err := websocket.DefaultDialer.Dial(n.WSURL(), http.Header{"Origin": {origin}})
		if c != nil {
			c.Close()
		}
		if (err == nil) != ok {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("WebSocket from origin %s: err %v (status %d), want allowed %v", origin, err, status, ok)
		}
	}
}

// --dashboard without the HTTP server it lives on is refused at start.
func TestDashboardNeedsHTTP(t *testing.T) {
	res := testnode.Run(t, testnode.Build(t), 30*time.Second, "--datadir", t.TempDir(), "--dashboard", "--ipcdisable")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "--dashboard needs the HTTP-RPC server") {
		t.Fatalf("cocogeth --dashboard without --http: exit %d\n%s", res.ExitCode, res.Output)
	}
}
