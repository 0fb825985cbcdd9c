package testnode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
)

// Defaults of Options.
const (
	DefaultReadyTimeout = 30 * time.Second
	DefaultStopTimeout  = 30 * time.Second
	// maxIPCPath keeps the socket path under the 108-byte limit of
	// sun_path with a margin.
	maxIPCPath = 100
	// logTailLines is how much of the node's output a failed test prints.
	logTailLines = 80
)

// Options configure Start.
type Options struct {
	// DataDir is the node's data directory; empty means a fresh t.TempDir().
	DataDir string
	// Genesis is the path of a genesis file. When set, `cocogeth init` runs
	// on the first start and the node runs without --dev.
	Genesis string
	// NoDev runs the node without --dev on a data directory that already
	// holds a chain (set implicitly by Genesis).
	NoDev bool
	// Bare passes only Args on the command line: no --datadir, --dev,
	// port, IPC or metrics flags are added (for example to run from a
	// --config file). DataDir, HTTPPort and WSPort must then match what the
	// node is told by Args.
	Bare bool
	// Args are extra command-line flags, appended last.
	Args []string
	// HTTPPort and WSPort fix the node's ports; 0 picks free ones.
	HTTPPort, WSPort int
	// NoIPC disables the IPC endpoint. IPC is also disabled when the socket
	// path would be too long for a Unix socket.
	NoIPC bool
	// Metrics enables --metrics on a free port (see MetricsURL).
	Metrics bool
	// Binary is the cocogeth executable; empty means Build(t).
	Binary string
	// ReadyTimeout bounds the wait for eth_chainId after a start
	// (default 30 s).
	ReadyTimeout time.Duration
	// NoWait returns from Start as soon as the process runs, without
	// waiting for its RPC (a joining node fetches the ledger secrets
	// first, once it is voted in); see WaitReady.
	NoWait bool
	// StopTimeout is how long Stop waits after SIGTERM before it sends
	// SIGKILL (default 30 s).
	StopTimeout time.Duration
	// TLS runs the node with --rpc.tls: HTTPURL is https:// and the test's
	// clients accept the node's self-signed (attested) certificate.
	TLS bool
	// SignInAs, if set, makes RPC, Client and DialWS present a session of
	// this key's account (coco_login on first use): on a governed network
	// only actors read.
	SignInAs *ecdsa.PrivateKey
}

// Node is a cocogeth process started by Start.
type Node struct {
	t       testing.TB
	bin     string
	opts    Options
	dataDir string
	logDir  string
	ipc     bool

	httpPort, wsPort, metricsPort int

	mu       sync.Mutex
	proc     *process
	runs     int
	logFiles []string
	rpc      *rpc.Client
	eth      *ethclient.Client
	session  string   // token of opts.SignInAs, once signed in
	extra    []string // flags of the launch in progress only (StartRecovery)
}

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // result of Wait, valid after done
	log  *os.File
	// paused is set while the process is stopped by Pause (SIGSTOP).
	paused atomic.Bool
}

// Start starts a node and waits until it answers eth_chainId. The node is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	bin := opts.Binary
	if bin == "" {
		bin = Build(t)
	}
	n := &Node{t: t, bin: bin, opts: opts, dataDir: opts.DataDir, logDir: t.TempDir()}
	if n.dataDir == "" {
		n.dataDir = t.TempDir()
	}
	n.ipc = !opts.NoIPC && len(n.IPCPathFor()) <= maxIPCPath
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	n.httpPort, n.wsPort, n.metricsPort = ports[0], ports[1], ports[2]
	if opts.HTTPPort != 0 {
		n.httpPort = opts.HTTPPort
	}
	if opts.WSPort != 0 {
		n.wsPort = opts.WSPort
	}

	// Cleanups run last-registered first: stop the node, then print its log.
	t.Cleanup(func() {
		if t.Failed() && n.Log() != "" {
			t.Logf("testnode: last %d lines of the node's output (%s):\n%s", logTailLines, n.logDir, Tail(n.Log(), logTailLines))
		}
	})
	t.Cleanup(n.cleanup)

	if opts.Genesis != "" {
		res := Run(t, bin, time.Minute, "init", "--datadir", n.dataDir, opts.Genesis)
		if res.ExitCode != 0 {
			t.Fatalf("testnode: cocogeth init %s failed (exit %d):\n%s", opts.Genesis, res.ExitCode, res.Output)
		}
	}
	if err := n.start(); err != nil {
		t.Fatalf("testnode: %v", err)
	}
	return n
}

// args is the command line of the node.
func (n *Node) args() []string {
	if n.opts.Bare {
		return append([]string(nil), n.opts.Args...)
	}
	a := []string{"--datadir", n.dataDir}
	if n.opts.Genesis == "" && !n.opts.NoDev {
		a = append(a, "--dev")
	} else {
		a = append(a, "--http", "--http.addr", "127.0.0.1", "--http.api", "eth,net,web3,txpool",
			"--ws", "--ws.addr", "127.0.0.1", "--ws.api", "eth,net,web3,txpool")
	}
	a = append(a, "--http.port", strconv.Itoa(n.httpPort), "--ws.port", strconv.Itoa(n.wsPort))
	if !n.ipc {
		a = append(a, "--ipcdisable")
	}
	if n.opts.Metrics {
		a = append(a, "--metrics", "--metrics.addr", "127.0.0.1", "--metrics.port", strconv.Itoa(n.metricsPort))
	}
	if n.opts.TLS {
		a = append(a, "--rpc.tls")
	}
	return append(a, n.opts.Args...)
}

// StartRecovery starts a stopped node with --recovery on the same data
// directory and ports and returns at once: the node serves only recovery_
// on its HTTP port until members' shares recover its ledger secrets, then
// starts as usual (WaitReady).
func (n *Node) StartRecovery() {
	n.t.Helper()
	n.mu.Lock()
	n.extra = []string{"--recovery"}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.extra = nil
		n.mu.Unlock()
	}()
	if err := n.launch(); err != nil {
		n.t.Fatalf("testnode: start in recovery mode: %v", err)
	}
}

// start launches the process and waits until it is ready.
func (n *Node) start() error {
	if err := n.launch(); err != nil {
		return err
	}
	if n.opts.NoWait && n.runs == 1 {
		return nil
	}
	return n.waitReady(n.running())
}

// launch starts the process.
func (n *Node) launch() error {
	n.mu.Lock()
	if n.proc != nil {
		n.mu.Unlock()
		return errors.New("node is already running")
	}
	n.runs++
	logPath := filepath.Join(n.logDir, fmt.Sprintf("run-%d.log", n.runs))
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	n.logFiles = append(n.logFiles, logPath)
	args := append(n.args(), n.extra...)
	fmt.Fprintf(f, "### %s %s\n", n.bin, strings.Join(args, " "))
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		n.mu.Unlock()
		return fmt.Errorf("start %s: %v", n.bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: f}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	n.proc = p
	n.mu.Unlock()
	return nil
}

// WaitReady waits until the running node answers eth_chainId (for a node
// started with NoWait).
func (n *Node) WaitReady() error {
	p := n.running()
	if p == nil {
		return errors.New("node is not running")
	}
	return n.waitReady(p)
}

// waitReady polls eth_chainId until it answers, the process exits or the
// deadline passes.
func (n *Node) waitReady(p *process) error {
	deadline := time.Now().Add(n.opts.ReadyTimeout)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`)
	hc := n.httpClient()
	hc.Timeout = 2 * time.Second
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := hc.Post(n.HTTPURL(), "application/json", bytes.NewReader(body))
		if err == nil {
			var out struct {
				Result string `json:"result"`
			}
			derr := json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if derr == nil && resp.StatusCode == http.StatusOK && out.Result != "" {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("node exited before it was ready (%v); output:\n%s", p.err, Tail(n.LastLog(), logTailLines))
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node not ready within %v (eth_chainId at %s: %v); output:\n%s", n.opts.ReadyTimeout, n.HTTPURL(), err, Tail(n.LastLog(), logTailLines))
		}
	}
}

func (n *Node) cleanup() {
	n.mu.Lock()
	if n.rpc != nil {
		n.rpc.Close()
		n.rpc, n.eth = nil, nil
	}
	n.mu.Unlock()
	if err := n.Stop(); err != nil && !isSignalExit(err) {
		n.t.Logf("testnode: node stop: %v", err)
	}
}

// isSignalExit reports whether err is an exit caused by a signal we sent.
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}

// running returns the current process, or nil.
func (n *Node) running() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// Stop sends SIGTERM and waits for the process to exit, sending SIGKILL if
// it has not exited within the stop timeout. It returns the exit error (nil
// for a clean exit with status 0). Stopping a stopped node returns nil.
func (n *Node) Stop() error {
	p := n.running()
	if p == nil {
		return nil
	}
	defer n.clear(p)
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.resume() // a paused process handles SIGTERM only once continued
	timer := time.NewTimer(n.opts.StopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.err
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("node did not stop within %v of SIGTERM and was killed: %v", n.opts.StopTimeout, p.err)
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (n *Node) Kill() {
	p := n.running()
	if p == nil {
		return
	}
	defer n.clear(p)
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (n *Node) clear(p *process) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == p {
		n.proc = nil
	}
}

// Exited returns a channel closed when the current process exits (a closed
// channel if none runs).
func (n *Node) Exited() <-chan struct{} {
	if p := n.running(); p != nil {
		return p.done
	}
	c := make(chan struct{})
	close(c)
	return c
}

// Restart stops the node if it runs (SIGTERM; a failed stop fails the test)
// and starts it again on the same data directory and ports.
func (n *Node) Restart() {
	n.t.Helper()
	if err := n.Stop(); err != nil {
		n.t.Fatalf("testnode: stop before restart: %v", err)
	}
	n.StartAgain()
}

// StartAgain starts a stopped or killed node on the same data directory and
// ports and waits until it is ready.
func (n *Node) StartAgain() {
	n.t.Helper()
	if err := n.start(); err != nil {
		n.t.Fatalf("testnode: restart: %v", err)
	}
}

// HTTPURL is the node's HTTP JSON-RPC endpoint.
func (n *Node) HTTPURL() string {
	if n.opts.TLS {
		return "https://127.0.0.1:" + strconv.Itoa(n.httpPort)
	}
	return "http://127.0.0.1:" + strconv.Itoa(n.httpPort)
}

// httpClient is an HTTP client of the node; with Options.TLS it accepts
// the node's certificate without a CA (what the certificate attests is
// the business of the tests that check it).
func (n *Node) httpClient() *http.Client {
	if !n.opts.TLS {
		return &http.Client{}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// WSURL is the node's WebSocket JSON-RPC endpoint.
func (n *Node) WSURL() string {
	if n.opts.TLS {
		return "wss://127.0.0.1:" + strconv.Itoa(n.wsPort)
	}
	return "ws://127.0.0.1:" + strconv.Itoa(n.wsPort)
}

// MetricsURL is the Prometheus endpoint (served only with Options.Metrics).
func (n *Node) MetricsURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(n.metricsPort) + "/debug/metrics/prometheus"
}

// DataDir is the node's data directory.
func (n *Node) DataDir() string { return n.dataDir }

// IPCPath is the path of the IPC socket, or "" if IPC is disabled.
func (n *Node) IPCPath() string {
	if !n.ipc {
		return ""
	}
	return n.IPCPathFor()
}

// IPCPathFor is where the node puts its IPC socket when IPC is enabled.
func (n *Node) IPCPathFor() string { return filepath.Join(n.dataDir, "cocogeth.ipc") }

// Binary is the executable the node runs.
func (n *Node) Binary() string { return n.bin }

// Pid is the process id of the running node (0 if none runs).
func (n *Node) Pid() int {
	if p := n.running(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// RPC returns an HTTP rpc.Client of the node, shared by the test and
// closed when it ends. It keeps working across restarts.
func (n *Node) RPC() *rpc.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rpc == nil {
		c, err := rpc.DialOptions(context.Background(), n.HTTPURL(), append(n.sessionHeader(), rpc.WithHTTPClient(n.httpClient()))...)
		if err != nil {
			n.t.Fatalf("testnode: dial %s: %v", n.HTTPURL(), err)
		}
		n.rpc, n.eth = c, ethclient.NewClient(c)
	}
	return n.rpc
}

// Session returns the session token of Options.SignInAs ("" without
// one), signing in on first use.
func (n *Node) Session() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sessionHeader()
	return n.session
}

// sessionHeader signs in as Options.SignInAs on first use (coco_login is
// open to anyone) and returns the client option presenting the session;
// n.mu is held.
func (n *Node) sessionHeader() []rpc.ClientOption {
	if n.opts.SignInAs == nil {
		return nil
	}
	if n.session == "" {
		anon, err := rpc.DialContext(context.Background(), n.HTTPURL())
		if err != nil {
			n.t.Fatalf("testnode: dial %s: %v", n.HTTPURL(), err)
		}
		defer anon.Close()
		msg, sig, err := confidential.SignIn(n.opts.SignInAs, DevChainID, n.HTTPURL(), 23*time.Hour)
		if err != nil {
			n.t.Fatal(err)
		}
		var res confidential.LoginResult
		if err := anon.CallContext(context.Background(), &res, "coco_login", msg, sig); err != nil {
			n.t.Fatalf("testnode: sign in at %s: %v", n.HTTPURL(), err)
		}
		n.session = res.Token
	}
	return []rpc.ClientOption{rpc.WithHeader("Authorization", "Bearer "+n.session)}
}

// Client returns an ethclient over RPC().
func (n *Node) Client() *ethclient.Client {
	n.RPC()
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.eth
}

// DialWS opens a WebSocket client, closed when the test ends.
func (n *Node) DialWS(t testing.TB) *ethclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.mu.Lock()
	opts := n.sessionHeader()
	n.mu.Unlock()
	if n.opts.TLS {
		opts = append(opts, rpc.WithWebsocketDialer(websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}))
	}
	c, err := rpc.DialOptions(ctx, n.WSURL(), opts...)
	if err != nil {
		t.Fatalf("testnode: dial %s: %v", n.WSURL(), err)
	}
	t.Cleanup(c.Close)
	return ethclient.NewClient(c)
}

// Log returns the output of every run of the node so far, oldest first.
func (n *Node) Log() string {
	n.mu.Lock()
	files := append([]string(nil), n.logFiles...)
	n.mu.Unlock()
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// LastLog returns the output of the current (or last) run only.
func (n *Node) LastLog() string {
	n.mu.Lock()
	var f string
	if len(n.logFiles) > 0 {
		f = n.logFiles[len(n.logFiles)-1]
	}
	n.mu.Unlock()
	if f == "" {
		return ""
	}
	data, _ := os.ReadFile(f)
	return string(data)
}

// WaitLog polls the current run's output until it contains substr or the
// timeout passes.
func (n *Node) WaitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(n.LastLog(), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1. The listeners
// are held open together so that the ports differ, then closed for the
// caller to reuse.
func FreePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Result is the outcome of a command run by Run.
type Result struct {
	Output   string // stdout and stderr, interleaved
	Stdout   string
	Stderr   string
	ExitCode int // -1 if the command did not exit normally
	Err      error
}

// Run runs the cocogeth binary bin with args to completion (killing it
// after timeout) and returns its output and exit code.
func Run(t testing.TB, bin string, timeout time.Duration, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = sysProcAttr()
	var out, stdout, stderr bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout = &lockedWriter{mu: &mu, ws: []*bytes.Buffer{&out, &stdout}}
	cmd.Stderr = &lockedWriter{mu: &mu, ws: []*bytes.Buffer{&out, &stderr}}
	err := cmd.Run()
	res := Result{Output: out.String(), Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	} else {
		res.ExitCode = -1
	}
	if ctx.Err() != nil {
		t.Fatalf("testnode: %s %s did not finish within %v; output:\n%s", bin, strings.Join(args, " "), timeout, res.Output)
	}
	return res
}

type lockedWriter struct {
	mu *sync.Mutex
	ws []*bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.ws {
		b.Write(p)
	}
	return len(p), nil
}
