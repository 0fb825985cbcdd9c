package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/node"
)

// Path is where the dashboard is served.
const Path = "/dashboard/"

//go:embed web
var embedded embed.FS

// Config is what the page needs to know of the node that serves it.
type Config struct {
	// RPC is the path of the HTTP JSON-RPC on the page's origin, WS the
	// URL of the WebSocket server ("" if there is none: the page polls
	// over HTTP).
	RPC, WS  string
	ChainID  *big.Int
	Governed bool
}

type pageConfig struct {
	RPC        string         `json:"rpc"`
	WS         string         `json:"ws"`
	ChainID    *hexutil.Big   `json:"chainId"`
	Governed   bool           `json:"governed"`
	Governance common.Address `json:"governance"`
}

// Handler serves the dashboard under Path. config is called per request
// for config.json (the servers' URLs are known only once they listen);
// governance is the address of the governance contract; vhosts are the
// host names requests may name (--http.vhosts), checked by go-ethereum's
// handler exactly as for the JSON-RPC ("*" any, IP addresses always), so a
// page reached through another name (DNS rebinding) gets nothing.
func Handler(config func() Config, governance common.Address, vhosts []string) http.Handler {
	web, err := fs.Sub(embedded, "web")
	if err != nil {
		panic("dashboard: " + err.Error())
	}
	files := http.StripPrefix(Path, http.FileServer(http.FS(web)))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !strings.HasPrefix(r.URL.Path, Path) {
			http.Redirect(w, r, Path, http.StatusMovedPermanently)
			return
		}
		cfg := config()
		cfg.WS = reachableWS(cfg.WS, r.Host)
		h := w.Header()
		h.Set("Content-Security-Policy", contentPolicy(cfg.WS))
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == Path+"config.json" {
			h.Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(pageConfig{RPC: cfg.RPC, WS: cfg.WS, ChainID: (*hexutil.Big)(cfg.ChainID), Governed: cfg.Governed, Governance: governance})
			return
		}
		files.ServeHTTP(w, r)
	})
	return node.NewHTTPHandlerStack(page, nil, vhosts, nil, true)
}

// contentPolicy allows the page's own files and connections to this
// node's servers only, and no framing.
func contentPolicy(ws string) string {
	connect := "'self'"
	if u, err := url.Parse(ws); err == nil && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// reachableWS is the WebSocket URL as the browser can reach it: a server
// listening on every address is named by the host the page was loaded
// from.
func reachableWS(ws, pageHost string) string {
	u, err := url.Parse(ws)
	if err != nil || u.Host == "" {
		return ws
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsUnspecified() {
		return ws
	}
	host := pageHost
	if h, _, err := net.SplitHostPort(pageHost); err == nil {
		host = h
	}
	if host == "" {
		return ws
	}
	u.Host = net.JoinHostPort(strings.Trim(host, "[]"), u.Port())
	return u.String()
}
