package dashboard

import (
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func serve(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	return serveAs(t, method, path, "127.0.0.1:8545", "ws://127.0.0.1:8546")
}

// serveAs serves a request for path naming host, by a node whose
// WebSocket server is at ws.
func serveAs(t *testing.T, method, path, host, ws string) *httptest.ResponseRecorder {
	t.Helper()
	h := Handler(func() Config {
		return Config{RPC: "/", WS: ws, ChainID: big.NewInt(1337), Governed: true}
	}, common.HexToAddress("0xC0C0"), []string{"localhost"})
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, nil)
	r.Host = host
	h.ServeHTTP(w, r)
	return w
}

// The embedded page and its files are served with a policy that keeps
// them to this node and out of frames.
func TestServesEmbeddedFiles(t *testing.T) {
	for _, f := range []string{"", "app.js", "style.css"} {
		w := serve(t, "GET", Path+f)
		if w.Code != 200 || w.Body.Len() == 0 {
			t.Fatalf("%s: %d, %d bytes", Path+f, w.Code, w.Body.Len())
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self' ws://127.0.0.1:8546", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: policy %q lacks %q", f, csp, want)
			}
		}
		if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", f, w.Header())
		}
	}
	if w := serve(t, "GET", Path); !strings.Contains(w.Body.String(), `src="app.js"`) {
		t.Errorf("index.html does not load app.js:\n%s", w.Body)
	}
}

// config.json tells the page where the RPC is and what the network is.
func TestConfig(t *testing.T) {
	w := serve(t, "GET", Path+"config.json")
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"rpc": "/", "ws": "ws://127.0.0.1:8546", "chainId": "0x539", "governed": true, "governance": "0x000000000000000000000000000000000000c0c0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("config.json %s = %v, want %v", k, got[k], v)
		}
	}
}

// Only reads: anything else is refused; outside the tree nothing is
// served; the bare path redirects into it.
func TestRefusals(t *testing.T) {
	if w := serve(t, "POST", Path); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
	// web/ is the root: its own path is not served (nor anything above).
	if w := serve(t, "GET", Path+"../web/app.js"); w.Code == 200 {
		t.Errorf("a path out of the tree: %d", w.Code)
	}
	if w := serve(t, "GET", Path+"web/app.js"); w.Code == 200 {
		t.Errorf("the embedding directory's path: %d", w.Code)
	}
	if w := serve(t, "GET", Path+"nothing.js"); w.Code != 404 {
		t.Errorf("a missing file: %d", w.Code)
	}
	if w := serve(t, "GET", "/dashboard"); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != Path {
		t.Errorf("/dashboard: %d %s", w.Code, w.Header().Get("Location"))
	}
}

// A page reached through a host name the node does not answer to (DNS
// rebinding) gets nothing; names in --http.vhosts and IP addresses do.
func TestVirtualHosts(t *testing.T) {
	for host, ok := range map[string]bool{"localhost:8545": true, "127.0.0.1:8545": true, "[::1]:8545": true, "attacker.example:8545": false} {
		w := serveAs(t, "GET", Path+"config.json", host, "ws://127.0.0.1:8546")
		if (w.Code == 200) != ok {
			t.Errorf("host %s: %d, want allowed %v", host, w.Code, ok)
		}
	}
}

// A WebSocket server on every address is named as the page's host names
// the node; one on a given address keeps it.
func TestWebSocketURLAsReached(t *testing.T) {
	for _, c := range []struct{ host, ws, want string }{
		{"10.0.0.5:8545", "ws://0.0.0.0:8546", "ws://10.0.0.5:8546"},
		{"localhost:8545", "ws://[::]:8546", "ws://localhost:8546"},
		{"10.0.0.5:8545", "ws://127.0.0.1:8546", "ws://127.0.0.1:8546"},
	} {
		w := serveAs(t, "GET", Path+"config.json", c.host, c.ws)
		var got struct{ WS string }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.WS != c.want {
			t.Errorf("page at %s, server at %s: ws %q (%v), want %q", c.host, c.ws, got.WS, err, c.want)
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+c.want) {
			t.Errorf("page at %s: policy %q does not allow %s", c.host, csp, c.want)
		}
	}
}
