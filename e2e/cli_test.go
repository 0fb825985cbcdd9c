package e2e

import (
	"bufio"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

const cliTimeout = 30 * time.Second

// devAlloc is an alloc section funding the dev account with 1000 ether.
var devAlloc = `"alloc": {"` + testnode.DevAddress.Hex() + `": {"balance": "0x3635C9ADC5DEA00000"}}`

// dirEmpty reports whether dir does not exist or has no entries.
func dirEmpty(t *testing.T, dir string) (bool, []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return true, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return len(entries) == 0, names
}

func TestInitInvalidGenesis(t *testing.T) {
	bin := testnode.Build(t)
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name, content, msg string
	}{
		{"bad JSON", `{"config": {"chainId": 1337}, "difficulty": "0x0",`, "invalid JSON"},
		{"not an object", `[1, 2, 3]`, "genesis"},
		{"empty file", ``, "empty"},
		{"missing chainId", `{"config": {"homesteadBlock": 0}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "chainId"},
		{"zero chainId", `{"config": {"chainId": 0}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "chainId"},
		{"negative balance", `{"config": {"chainId": 1337}, "difficulty": "0x0", "gasLimit": "0x1000000", "alloc": {"` + testnode.DevAddress.Hex() + `": {"balance": "-1"}}}`, "negative balance"},
		{"negative hex balance", `{"config": {"chainId": 1337}, "difficulty": "0x0", "gasLimit": "0x1000000", "alloc": {"` + testnode.DevAddress.Hex() + `": {"balance": "-0x10"}}}`, "-0x10"},
		{"unreleased fork amsterdamTime", `{"config": {"chainId": 1337, "amsterdamTime": 0}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "amsterdamTime"},
		{"block fork after genesis", `{"config": {"chainId": 1337, "londonBlock": 5}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "block 0"},
		{"unknown coco setting", `{"config": {"chainId": 1337, "coco": {"blockTime": "50ms", "bogus": 1}}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "bogus"},
		{"bad coco blockTime", `{"config": {"chainId": 1337, "coco": {"blockTime": "soon"}}, "difficulty": "0x0", "gasLimit": "0x1000000", ` + devAlloc + `}`, "config.coco"},
	}
	datadir := filepath.Join(dir, "datadir")
	if err := os.Mkdir(datadir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "genesis-"+strconv.Itoa(i)+".json")
			writeFile(t, file, tc.content)
			res := testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, file)
			if res.ExitCode == 0 {
				t.Errorf("init accepted the genesis; output:\n%s", res.Output)
			}
			if !strings.Contains(res.Output, tc.msg) {
				t.Errorf("init output does not mention %q:\n%s", tc.msg, res.Output)
			} else {
				t.Logf("exit %d: %s", res.ExitCode, lastLine(res.Output))
			}
			if empty, names := dirEmpty(t, datadir); !empty {
				t.Errorf("failed init wrote into the data directory: %v", names)
			}
		})
	}
	// A missing file.
	res := testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, filepath.Join(dir, "nope.json"))
	if res.ExitCode == 0 || !strings.Contains(res.Output, "nope.json") {
		t.Errorf("init of a missing file: exit %d, output %q", res.ExitCode, res.Output)
	}

	// A valid genesis on the same data directory works and the node runs it.
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, `{"config": {"chainId": 4242, "coco": {"blockTime": "20ms"}}, "difficulty": "0x0", "gasLimit": "0x2000000", `+devAlloc+`}`)
	res = testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, good)
	if res.ExitCode != 0 {
		t.Fatalf("valid init failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	// Initialising again with the same file is fine, a different chain is not.
	if res = testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, good); res.ExitCode != 0 {
		t.Errorf("second init with the same genesis failed (exit %d):\n%s", res.ExitCode, res.Output)
	}
	// A genesis with another alloc is another chain: refused.
	other := filepath.Join(dir, "other.json")
	writeFile(t, other, `{"config": {"chainId": 4242}, "difficulty": "0x0", "gasLimit": "0x2000000", "alloc": {}}`)
	if res = testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, other); res.ExitCode == 0 {
		t.Errorf("init with a different genesis block over an existing chain succeeded:\n%s", res.Output)
	} else {
		t.Logf("different genesis block: %s", lastLine(res.Output))
	}
	// Only the chain id differs (the genesis block hash is the same). geth
	// would rewrite the stored chain config; refusing is fine too. Either
	// way, a successful init must mean the node then runs the file's chain.
	wantID := int64(4242)
	rechain := filepath.Join(dir, "rechain.json")
	writeFile(t, rechain, `{"config": {"chainId": 4243, "coco": {"blockTime": "20ms"}}, "difficulty": "0x0", "gasLimit": "0x2000000", `+devAlloc+`}`)
	if res = testnode.Run(t, bin, cliTimeout, "init", "--datadir", datadir, rechain); res.ExitCode == 0 {
		wantID = 4243
		t.Logf("init with only the chain id changed succeeded: %s", lastLine(res.Output))
	} else {
		t.Logf("init with only the chain id changed refused: %s", lastLine(res.Output))
	}

	n := testnode.Start(t, testnode.Options{DataDir: datadir, NoDev: true, NoIPC: true, Args: []string{
		"--http", "--http.addr", "127.0.0.1", "--ws", "--ws.addr", "127.0.0.1",
	}})
	id, err := n.Client().ChainID(ctx(t))
	if err != nil {
		t.Fatalf("eth_chainId: %v", err)
	}
	if id.Int64() != wantID {
		t.Errorf("eth_chainId = %v, want %d (the chain id of the last successful init)", id, wantID)
	}
	w := n.Wallet(t)
	head, err := n.Client().HeaderByNumber(ctx(t), big.NewInt(0))
	if err != nil || head.GasLimit != 0x2000000 {
		t.Fatalf("genesis header gas limit %v (%v), want 0x2000000", head, err)
	}
	r := w.Transfer(t, common.HexToAddress("0x0000000000000000000000000000000000004242"), big.NewInt(5))
	if r.BlockNumber.Uint64() < 1 {
		t.Errorf("transfer in block %v", r.BlockNumber)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestBadFlags(t *testing.T) {
	bin := testnode.Build(t)
	t.Parallel()
	dir := t.TempDir()
	ports, err := testnode.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	// Flags that would otherwise start a node, confined to a temp dir and
	// free ports in case the bad flag is accepted.
	safe := []string{"--dev", "--datadir", filepath.Join(dir, "dd"), "--ipcdisable",
		"--http.port", strconv.Itoa(ports[0]), "--ws.port", strconv.Itoa(ports[1])}
	badTOML := filepath.Join(dir, "bad.toml")
	writeFile(t, badTOML, "[Node]\nNoSuchField = 1\n")
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown flag", []string{"--no-such-flag"}, "flag provided but not defined"},
		{"port out of range", []string{"--dev", "--datadir", filepath.Join(dir, "dd"), "--ipcdisable", "--http.port", "70000"}, "http.port"},
		{"port not a number", []string{"--http.port", "abc"}, "invalid value"},
		{"verbosity out of range", append([]string{"--verbosity", "9"}, safe...), "verbosity"},
		{"unknown log format", append([]string{"--log.format", "xml"}, safe...), "log.format"},
		{"cache too small", append([]string{"--cache", "1"}, safe...), "cache"},
		{"unknown command", []string{"frobnicate"}, "frobnicate"},
		{"missing config file", append([]string{"--config", filepath.Join(dir, "none.toml")}, safe...), "none.toml"},
		{"unknown config field", append([]string{"--config", badTOML}, safe...), "NoSuchField"},
		{"init without file", []string{"init", "--datadir", filepath.Join(dir, "dd")}, "genesis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := testnode.Run(t, bin, cliTimeout, tc.args...)
			if res.ExitCode == 0 {
				t.Errorf("%v: exit 0, want non-zero; output:\n%s", tc.args, res.Output)
				return
			}
			if !strings.Contains(res.Output, tc.msg) {
				t.Errorf("%v: output does not mention %q:\n%s", tc.args, tc.msg, testnode.Tail(res.Output, 10))
				return
			}
			t.Logf("exit %d: %s", res.ExitCode, lastLine(res.Output))
		})
	}
}

func TestVersionAndDumpConfig(t *testing.T) {
	bin := testnode.Build(t)
	dir := t.TempDir()

	res := testnode.Run(t, bin, cliTimeout, "version")
	if res.ExitCode != 0 {
		t.Fatalf("version: exit %d\n%s", res.ExitCode, res.Output)
	}
	var version string
	sc := bufio.NewScanner(strings.NewReader(res.Stdout))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Version: "); ok {
			version = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(res.Stdout, "cocogeth") || version == "" {
		t.Errorf("version output lacks the name or a \"Version: \" line:\n%s", res.Stdout)
	}
	if res := testnode.Run(t, bin, cliTimeout, "--version"); res.ExitCode != 0 || !strings.Contains(res.Output, version) {
		t.Errorf("--version: exit %d, output %q, want %q", res.ExitCode, res.Output, version)
	}

	// dumpconfig prints the configuration the flags make ...
	ports, err := testnode.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	datadir := filepath.Join(dir, "datadir")
	res = testnode.Run(t, bin, cliTimeout, "dumpconfig", "--dev", "--datadir", datadir, "--ipcdisable",
		"--http.port", strconv.Itoa(ports[0]), "--ws.port", strconv.Itoa(ports[1]),
		"--rpc.gascap", "12345678", "--txpool.pricebump", "25", "--raft.heartbeat", "1500ms", "--raft.trailing-logs", "777")
	if res.ExitCode != 0 {
		t.Fatalf("dumpconfig: exit %d\n%s", res.ExitCode, res.Output)
	}
	cfg := res.Stdout
	for _, want := range []string{
		"HTTPPort = " + strconv.Itoa(ports[0]), "WSPort = " + strconv.Itoa(ports[1]),
		"RPCGasCap = 12345678", "PriceBump = 25", `DataDir = "` + datadir + `"`,
		"[Raft]", "HeartbeatTimeout = 1500000000", "TrailingLogs = 777", "InsecurePlaintext = false",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("dumpconfig output lacks %q:\n%s", want, cfg)
		}
	}
	file := filepath.Join(dir, "config.toml")
	writeFile(t, file, cfg)
	// ... also into a file named as argument.
	file2 := filepath.Join(dir, "config2.toml")
	if res := testnode.Run(t, bin, cliTimeout, "dumpconfig", "--config", file, file2); res.ExitCode != 0 {
		t.Errorf("dumpconfig --config %s %s: exit %d\n%s", file, file2, res.ExitCode, res.Output)
	} else if data, err := os.ReadFile(file2); err != nil || string(data) != cfg {
		t.Errorf("dumpconfig of the dumped config differs from it (%v):\n%s\nvs\n%s", err, data, cfg)
	}

	// A node started from the file alone uses its ports, data directory
	// and settings.
	n := testnode.Start(t, testnode.Options{
		Bare: true, DataDir: datadir, HTTPPort: ports[0], WSPort: ports[1],
		Args: []string{"--config", file, "--dev"},
	})
	if _, err := os.Stat(filepath.Join(datadir, "cocogeth", "chaindata")); err != nil {
		t.Errorf("node started from the config did not use its DataDir: %v", err)
	}
	var clientVersion string
	if err := n.RPC().CallContext(ctx(t), &clientVersion, "web3_clientVersion"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(clientVersion, version) {
		t.Errorf("web3_clientVersion %q does not contain the version %q", clientVersion, version)
	}
	if _, err := n.DialWS(t).ChainID(ctx(t)); err != nil {
		t.Errorf("WS on the configured port: %v", err)
	}
	// PriceBump = 25 from the file: a 15% bump does not replace, 30% does.
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000b0b0")
	tip, feeCap := w.Fees(t)
	nonce := w.PendingNonce(t) + 5 // gapped, so it stays in the pool
	bump := func(x *big.Int, pct int64) *big.Int {
		return new(big.Int).Div(new(big.Int).Mul(x, big.NewInt(100+pct)), big.NewInt(100))
	}
	mk := func(pct int64) *types.Transaction {
		return w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: nonce, GasTipCap: bump(tip, pct), GasFeeCap: bump(feeCap, pct), Gas: params.TxGas, To: &to})
	}
	w.Send(t, mk(0))
	wantErr(t, "15% bump with PriceBump 25", sendErr(t, n, mk(15)), "replacement transaction underpriced")
	if err := sendErr(t, n, mk(30)); err != nil {
		t.Errorf("30%% bump with PriceBump 25: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// metric reads one unlabelled sample from the Prometheus endpoint.
func metric(t *testing.T, url, name string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			return v, err == nil
		}
	}
	return 0, false
}

// metricsDump returns the chain_ and txpool_ samples, for failure messages.
func metricsDump(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if (strings.HasPrefix(line, "chain_head") || strings.HasPrefix(line, "chain_txs") ||
			strings.HasPrefix(line, "chain_blocks") || strings.HasPrefix(line, "txpool_")) && !strings.Contains(line, "quantile") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetrics(t *testing.T) {
	n := testnode.Start(t, testnode.Options{Metrics: true})
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000abcd")
	if v, ok := metric(t, n.MetricsURL(), "chain_head_block"); !ok || v != 0 {
		t.Errorf("chain_head_block at genesis = %v (found %v), want 0", v, ok)
	}
	var last *big.Int
	for i := 0; i < 3; i++ {
		last = w.Transfer(t, to, big.NewInt(1)).BlockNumber
	}
	var head float64
	if !waitFor(3*time.Second, 20*time.Millisecond, func() bool {
		head, _ = metric(t, n.MetricsURL(), "chain_head_block")
		return head >= float64(last.Uint64())
	}) {
		t.Errorf("chain_head_block stayed at %v after blocks up to #%v were mined; samples:\n%s", head, last, metricsDump(t, n.MetricsURL()))
	}
	if v, ok := metric(t, n.MetricsURL(), "chain_txs_committed"); !ok || v < 3 {
		t.Errorf("chain_txs_committed = %v (found %v), want >= 3", v, ok)
	}
	resp, err := http.Get(n.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"txpool_pending", "rpc_duration_all", "rpc_requests"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("metrics lack %s", name)
		}
	}
}

func TestAttachExec(t *testing.T) {
	// A short data directory path keeps the IPC socket path usable.
	dir, err := os.MkdirTemp("", "cgat")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // runs after the node has stopped
	n := testnode.Start(t, testnode.Options{DataDir: dir})
	if n.IPCPath() == "" {
		t.Fatalf("IPC disabled for %s", dir)
	}
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000a77a")
	w.Transfer(t, to, big.NewInt(1))
	r := w.Transfer(t, to, big.NewInt(1))
	want := r.BlockNumber.String()
	bin := n.Binary()

	for _, args := range [][]string{
		{"attach", "--exec", "eth.blockNumber", n.IPCPath()},
		{"attach", "--datadir", dir, "--exec", "eth.blockNumber"},
		{"attach", "--exec", "eth.blockNumber", n.HTTPURL()},
		// The documented order: endpoint first, then --exec.
		{"attach", n.IPCPath(), "--exec", "eth.blockNumber"},
		{"attach", n.HTTPURL(), "--exec", "eth.blockNumber"},
	} {
		res := testnode.Run(t, bin, cliTimeout, args...)
		if res.ExitCode != 0 {
			t.Errorf("%v: exit %d\n%s", args, res.ExitCode, res.Output)
			continue
		}
		if got := strings.TrimSpace(res.Stdout); got != want {
			t.Errorf("%v printed %q, want %q", args, got, want)
		}
	}
	res := testnode.Run(t, bin, cliTimeout, "attach", "--exec", "eth.getBalance('"+to.Hex()+"').toString()", n.IPCPath())
	if got := strings.TrimSpace(res.Stdout); res.ExitCode != 0 || got != `"2"` {
		t.Errorf("attach eth.getBalance: exit %d printed %q, want \"2\"\n%s", res.ExitCode, got, res.Output)
	}
	res = testnode.Run(t, bin, cliTimeout, "attach", "--exec", "eth.blockNumber", filepath.Join(dir, "nothere.ipc"))
	if res.ExitCode == 0 {
		t.Errorf("attach to a missing socket exited 0:\n%s", res.Output)
	}
}
