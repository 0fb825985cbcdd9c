package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/cocogeth/cocogeth/dashboard"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
)

// rpcServers serve the node's JSON-RPC APIs over HTTP and WebSocket with
// geth's settings (--http.*, --ws.*: address, port, modules, CORS,
// virtual hosts, origins, timeouts), behind a handler of ours: the session
// handler, which go-ethereum's node offers no place for. The node itself
// keeps only IPC. HTTP and WebSocket share a port when both name the same
// address and port.
type rpcServers struct {
	cfg     node.Config
	apis    []rpc.API
	front   func(http.Handler) http.Handler
	servers []*http.Server
	rpcs    []*rpc.Server
	httpURL string
	// wsURL is read by the dashboard's requests while Start may still be
	// setting it.
	urlMu sync.Mutex
	wsURL string
	// tls, if set, is served on every listener (https://, wss://).
	tls *tls.Config
	// dashboard, if set, serves dashboard.Path of the HTTP server, in
	// front of the session gate (static files only: its page reads
	// through the RPC like any client).
	dashboard http.Handler
}

var errDashboardNoHTTP = errors.New("--dashboard needs the HTTP-RPC server (--http)")

// serveDashboard serves the members' dashboard on the HTTP server, with
// the eth and coco APIs its page reads, and lets its page open the
// WebSocket: its origin joins --ws.origins (with geth's defaults kept when
// none were given).
func (s *rpcServers) serveDashboard(h http.Handler) error {
	c := &s.cfg
	if c.HTTPHost == "" {
		return errDashboardNoHTTP
	}
	s.dashboard = h
	// Its page reads through eth_ and coco_ (sign-in, network,
	// constitution): serve them wherever it connects.
	for _, mods := range []*[]string{&c.HTTPModules, &c.WSModules} {
		var added []string
		for _, m := range []string{"eth", "coco"} {
			// An empty list already serves every module.
			if len(*mods) > 0 && !slices.Contains(*mods, m) {
				*mods = append(*mods, m)
				added = append(added, m)
			}
		}
		if len(added) > 0 {
			log.Warn("The dashboard's page reads these APIs: serving them", "added", strings.Join(added, ","), "apis", strings.Join(*mods, ","))
		}
	}
	for _, o := range c.WSOrigins {
		if o == "*" {
			return nil
		}
	}
	if len(c.WSOrigins) == 0 {
		c.WSOrigins = []string{"http://localhost"}
		if host, err := os.Hostname(); err == nil {
			c.WSOrigins = append(c.WSOrigins, "http://"+host)
		}
	}
	if ip := net.ParseIP(c.HTTPHost); ip != nil && ip.IsUnspecified() {
		log.Warn("The dashboard is served on every address: allow its origin with --ws.origins (the URL browsers open it at, e.g. http://HOST:PORT), or its page polls over HTTP instead of the WebSocket")
		return nil
	}
	origin := s.scheme("http") + net.JoinHostPort(c.HTTPHost, strconv.Itoa(c.HTTPPort))
	c.WSOrigins = append(c.WSOrigins, origin)
	return nil
}

// dashboardURLs is what the dashboard's page is told of the servers: the
// path of the HTTP JSON-RPC on the page's own origin (however the browser
// named the host) and the WebSocket URL.
func (s *rpcServers) dashboardURLs() (rpcPath, wsURL string) {
	rpcPath = "/"
	if p := strings.Trim(s.cfg.HTTPPathPrefix, "/"); p != "" {
		rpcPath += p + "/"
	}
	s.urlMu.Lock()
	defer s.urlMu.Unlock()
	return rpcPath, s.wsURL
}

// web3API is the web3_ namespace, which go-ethereum's node serves only on
// its own servers.
type web3API struct{ version string }

// ClientVersion returns the node's name and version.
func (w *web3API) ClientVersion() string { return w.version }

// Sha3 returns the Keccak-256 of input.
func (w *web3API) Sha3(input hexutil.Bytes) hexutil.Bytes { return crypto.Keccak256(input) }

// newRPCServers takes over HTTP and WebSocket from cfg (clearing them in
// it, so the node opens only IPC). Call it before node.New.
func newRPCServers(cfg *node.Config) *rpcServers {
	s := &rpcServers{cfg: *cfg, front: func(h http.Handler) http.Handler { return h }}
	s.apis = []rpc.API{{Namespace: "web3", Service: &web3API{cfg.NodeName()}}}
	cfg.HTTPHost, cfg.WSHost = "", ""
	return s
}

// register adds apis to the node (IPC) and to these servers.
func (s *rpcServers) register(stack *node.Node, apis []rpc.API) {
	stack.RegisterAPIs(apis)
	s.apis = append(s.apis, apis...)
}

func (s *rpcServers) newRPC(modules []string) (*rpc.Server, error) {
	srv := rpc.NewServer()
	srv.SetBatchLimits(s.cfg.BatchRequestLimit, s.cfg.BatchResponseMaxSize)
	if err := node.RegisterApis(s.apis, modules, srv); err != nil {
		return nil, err
	}
	s.rpcs = append(s.rpcs, srv)
	return srv, nil
}

// Start implements node.Lifecycle: it listens and serves.
func (s *rpcServers) Start() error {
	c := &s.cfg
	var httpH, wsH http.Handler
	if c.HTTPHost != "" {
		srv, err := s.newRPC(c.HTTPModules)
		if err != nil {
			return err
		}
		httpH = node.NewHTTPHandlerStack(srv, c.HTTPCors, c.HTTPVirtualHosts, nil, false)
		if c.HTTPPathPrefix != "" {
			httpH = http.StripPrefix(strings.TrimSuffix(c.HTTPPathPrefix, "/"), httpH)
		}
	}
	if c.WSHost != "" {
		srv, err := s.newRPC(c.WSModules)
		if err != nil {
			return err
		}
		wsH = node.NewWSHandlerStack(srv.WebsocketHandler(c.WSOrigins), nil)
	}
	shared := httpH != nil && wsH != nil && c.HTTPHost == c.WSHost && c.HTTPPort == c.WSPort
	// WebSocket first: once HTTP answers (what clients and tests wait
	// for), every port is open.
	if wsH != nil && !shared {
		addr, err := s.serve(c.WSHost, c.WSPort, wsH, false, nil)
		if err != nil {
			return err
		}
		s.setWSURL(s.scheme("ws") + addr)
	}
	if httpH != nil {
		h := httpH
		if shared {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if confidential.IsWebSocket(r) {
					wsH.ServeHTTP(w, r)
					return
				}
				httpH.ServeHTTP(w, r)
			})
		}
		addr, err := s.serve(c.HTTPHost, c.HTTPPort, h, true, s.dashboard)
		if err != nil {
			return err
		}
		s.httpURL = s.scheme("http") + addr
		log.Info("JSON-RPC over HTTP", "url", s.httpURL)
		if shared {
			s.setWSURL(s.scheme("ws") + addr)
		}
	}
	if s.wsURL != "" {
		log.Info("JSON-RPC over WebSocket", "url", s.wsURL)
	}
	return nil
}

func (s *rpcServers) setWSURL(u string) {
	s.urlMu.Lock()
	defer s.urlMu.Unlock()
	s.wsURL = u
}

// scheme is base (http or ws), with TLS https or wss, and "://".
func (s *rpcServers) scheme(base string) string {
	if s.tls != nil {
		return base + "s://"
	}
	return base + "://"
}

// serve listens on host:port and serves h behind the front handler, and
// dashboard (if not nil) under dashboard.Path beside it.
func (s *rpcServers) serve(host string, port int, h http.Handler, timeouts bool, dash http.Handler) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		s.Stop()
		return "", fmt.Errorf("JSON-RPC server: %w", err)
	}
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	handler := s.front(h)
	if dash != nil {
		front := handler
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == strings.TrimSuffix(dashboard.Path, "/") || strings.HasPrefix(r.URL.Path, dashboard.Path) {
				dash.ServeHTTP(w, r)
				return
			}
			front.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: s.cfg.HTTPTimeouts.ReadHeaderTimeout}
	if timeouts {
		// WebSocket connections live long: only plain HTTP gets geth's
		// read, write and idle timeouts.
		t := s.cfg.HTTPTimeouts
		srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = t.ReadTimeout, t.WriteTimeout, t.IdleTimeout
	}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("JSON-RPC server failed", "addr", ln.Addr(), "err", err)
		}
	}()
	return ln.Addr().String(), nil
}

// Stop implements node.Lifecycle: it closes the listeners and every
// connection, WebSocket ones included.
func (s *rpcServers) Stop() error {
	for _, srv := range s.rpcs {
		srv.Stop()
	}
	for _, srv := range s.servers {
		srv.Close()
	}
	s.rpcs, s.servers = nil, nil
	return nil
}
