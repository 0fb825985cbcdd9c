package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/urfave/cli/v2"
)

// Flags keep geth's names and defaults.
var (
	configFlag  = &cli.StringFlag{Name: "config", Usage: "TOML configuration file"}
	dataDirFlag = &cli.StringFlag{Name: "datadir", Usage: "Data directory for the databases and keystore", Value: defaultDataDir()}
	devFlag     = &cli.BoolFlag{Name: "dev", Usage: "Ephemeral single-node development network with a prefunded account (see README)"}
	verbosity   = &cli.IntFlag{Name: "verbosity", Usage: "Logging verbosity: 0=silent, 1=error, 2=warn, 3=info, 4=debug, 5=detail", Value: 3}
	logFormat   = &cli.StringFlag{Name: "log.format", Usage: "Log format: terminal, logfmt or json", Value: "terminal"}
	networkID   = &cli.Uint64Flag{Name: "networkid", Usage: "Network identifier answered by net_version (default: the chain id)"}
	identity    = &cli.StringFlag{Name: "identity", Usage: "Custom node name"}
	keystoreDir = &cli.StringFlag{Name: "keystore", Usage: "Directory for the keystore (default = inside the datadir)"}

	dashboardFlag = &cli.BoolFlag{Name: "dashboard", Usage: "Serve the members' dashboard at /dashboard/ of the HTTP-RPC server (needs --http)"}
	rpcTLS        = &cli.BoolFlag{Name: "rpc.tls", Usage: "Serve HTTP and WebSocket over TLS with the node's attested certificate (https://, wss://; clients check it with cocogeth verify or coco_attestation)"}
	teeFlag       = &cli.StringFlag{Name: "tee", Usage: "Trusted execution environment: sgx (inside an enclave, make enclave) or simulation (anywhere, INSECURE)", Value: "simulation"}
	httpEnabled   = &cli.BoolFlag{Name: "http", Usage: "Enable the HTTP-RPC server"}
	httpAddr      = &cli.StringFlag{Name: "http.addr", Usage: "HTTP-RPC server listening interface", Value: node.DefaultHTTPHost}
	httpPort      = &cli.IntFlag{Name: "http.port", Usage: "HTTP-RPC server listening port", Value: node.DefaultHTTPPort}
	httpAPI       = &cli.StringFlag{Name: "http.api", Usage: "API's offered over the HTTP-RPC interface", Value: "eth,net,web3"}
	httpCors      = &cli.StringFlag{Name: "http.corsdomain", Usage: "Comma separated list of domains from which to accept cross origin requests (browser enforced)"}
	httpVhosts    = &cli.StringFlag{Name: "http.vhosts", Usage: "Comma separated list of virtual hostnames from which to accept requests (server enforced). Accepts '*' wildcard.", Value: "localhost"}
	wsEnabled     = &cli.BoolFlag{Name: "ws", Usage: "Enable the WS-RPC server"}
	wsAddr        = &cli.StringFlag{Name: "ws.addr", Usage: "WS-RPC server listening interface", Value: node.DefaultWSHost}
	wsPort        = &cli.IntFlag{Name: "ws.port", Usage: "WS-RPC server listening port", Value: node.DefaultWSPort}
	wsAPI         = &cli.StringFlag{Name: "ws.api", Usage: "API's offered over the WS-RPC interface", Value: "eth,net,web3"}
	wsOrigins     = &cli.StringFlag{Name: "ws.origins", Usage: "Origins from which to accept websockets requests"}
	ipcDisable    = &cli.BoolFlag{Name: "ipcdisable", Usage: "Disable the IPC-RPC server"}
	ipcPath       = &cli.StringFlag{Name: "ipcpath", Usage: "Filename for IPC socket/pipe within the datadir (explicit paths escape it)"}
	batchLimit    = &cli.IntFlag{Name: "rpc.batch-request-limit", Usage: "Maximum number of requests in a batch", Value: node.DefaultConfig.BatchRequestLimit}
	batchSize     = &cli.IntFlag{Name: "rpc.batch-response-max-size", Usage: "Maximum number of bytes returned from a batched call", Value: node.DefaultConfig.BatchResponseMaxSize}
	gasCap        = &cli.Uint64Flag{Name: "rpc.gascap", Usage: "Gas cap of eth_call and eth_estimateGas (0 = infinite)", Value: eth.DefaultConfig.RPCGasCap}
	evmTimeout    = &cli.DurationFlag{Name: "rpc.evmtimeout", Usage: "Timeout of eth_call (0 = infinite)", Value: eth.DefaultConfig.RPCEVMTimeout}
	txFeeCap      = &cli.Float64Flag{Name: "rpc.txfeecap", Usage: "Largest transaction fee (in ether) accepted over RPC (0 = no cap)", Value: eth.DefaultConfig.RPCTxFeeCap}
	allowUnprot   = &cli.BoolFlag{Name: "rpc.allow-unprotected-txs", Usage: "Allow transactions without EIP-155 replay protection over RPC"}

	logQueryLimit  = &cli.IntFlag{Name: "rpc.logquerylimit", Usage: "Maximum number of addresses, or of alternative topics per position, in the criteria of eth_getLogs and eth_newFilter (0 = no cap)", Value: eth.DefaultConfig.LogQueryLimit}
	logRangeLimit  = &cli.Uint64Flag{Name: "rpc.rangelimit", Usage: "Maximum block range (end - begin) of eth_getLogs and eth_getFilterLogs (0 = unlimited)", Value: eth.DefaultConfig.RangeLimit}
	logResultLimit = &cli.IntFlag{Name: "rpc.logresultlimit", Usage: "Maximum number of logs returned by eth_getLogs and eth_getFilterLogs; larger queries fail with code -32005 (0 = unlimited)", Value: eth.DefaultConfig.LogResultLimit}

	metricsEnabled = &cli.BoolFlag{Name: "metrics", Usage: "Enable metrics collection and the Prometheus endpoint"}
	metricsAddr    = &cli.StringFlag{Name: "metrics.addr", Usage: "Metrics HTTP server listening interface", Value: defaultMetrics.Addr}
	metricsPort    = &cli.IntFlag{Name: "metrics.port", Usage: "Metrics HTTP server listening port", Value: defaultMetrics.Port}
	pprofEnabled   = &cli.BoolFlag{Name: "pprof", Usage: "Enable the pprof HTTP server"}
	pprofAddr      = &cli.StringFlag{Name: "pprof.addr", Usage: "pprof HTTP server listening interface", Value: "127.0.0.1"}
	pprofPort      = &cli.IntFlag{Name: "pprof.port", Usage: "pprof HTTP server listening port", Value: 6061}

	cacheFlag    = &cli.IntFlag{Name: "cache", Usage: "Megabytes of memory allocated to database caching", Value: eth.DefaultConfig.DatabaseCache}
	gcModeFlag   = &cli.StringFlag{Name: "gcmode", Usage: `State garbage collection: "full" keeps the states of the last 128 blocks, "archive" every block's`, Value: eth.GCModeFull}
	gcInterval   = &cli.DurationFlag{Name: "gc.interval", Usage: "How often a full node looks for state no recent block reaches", Value: eth.DefaultGCInterval}
	poolSlots    = &cli.IntFlag{Name: "txpool.globalslots", Usage: "Maximum number of transactions in the pool", Value: eth.DefaultPoolConfig.GlobalSlots}
	poolAccount  = &cli.IntFlag{Name: "txpool.accountslots", Usage: "Maximum number of pooled transactions per account", Value: eth.DefaultPoolConfig.AccountSlots}
	poolQueue    = &cli.IntFlag{Name: "txpool.accountqueue", Usage: "Maximum number of gapped (future) transactions per account", Value: eth.DefaultPoolConfig.AccountQueue}
	poolPriceMin = &cli.Uint64Flag{Name: "txpool.pricelimit", Usage: "Minimum gas tip to accept a transaction (wei)", Value: eth.DefaultPoolConfig.PriceLimit}
	poolBump     = &cli.Uint64Flag{Name: "txpool.pricebump", Usage: "Price bump percentage to replace a pooled transaction", Value: eth.DefaultPoolConfig.PriceBump}
)

var nodeFlags = []cli.Flag{
	configFlag, dataDirFlag, devFlag, verbosity, logFormat, networkID, identity, keystoreDir,
	httpEnabled, httpAddr, httpPort, httpAPI, httpCors, httpVhosts, dashboardFlag,
	wsEnabled, wsAddr, wsPort, wsAPI, wsOrigins, ipcDisable, ipcPath,
	batchLimit, batchSize, gasCap, evmTimeout, txFeeCap, allowUnprot,
	logQueryLimit, logRangeLimit, logResultLimit, teeFlag, rpcTLS, recoveryModeFlag,
	metricsEnabled, metricsAddr, metricsPort, pprofEnabled, pprofAddr, pprofPort,
	cacheFlag, gcModeFlag, gcInterval, poolSlots, poolAccount, poolQueue, poolPriceMin, poolBump,
	raftAddr, raftID, raftHeartbeat, raftSnapshot, raftSnapEvery, raftTrailing, raftPlaintext,
	unlockFlag, passwordFlag, insecureUnlockFlag,
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// setupLogging installs go-ethereum's key/value logger at the requested
// verbosity.
func setupLogging(ctx *cli.Context) error {
	v := ctx.Int(verbosity.Name)
	if v < 0 || v > 5 {
		return fmt.Errorf("invalid --verbosity %d: want 0..5", v)
	}
	var out io.Writer = os.Stderr
	glog := log.NewGlogHandler(log.NewTerminalHandler(out, false))
	switch ctx.String(logFormat.Name) {
	case "terminal", "":
	case "logfmt":
		glog = log.NewGlogHandler(log.LogfmtHandler(out))
	case "json":
		glog = log.NewGlogHandler(log.JSONHandler(out))
	default:
		return fmt.Errorf("invalid --log.format %q: want terminal, logfmt or json", ctx.String(logFormat.Name))
	}
	glog.Verbosity(log.FromLegacyLevel(v))
	log.SetDefault(log.NewLogger(glog))
	return nil
}

// applyFlags overrides cfg with the flags given on the command line. Flags
// left at their defaults do not override a config file.
func applyFlags(ctx *cli.Context, cfg *Config) error {
	n := &cfg.Node
	set := ctx.IsSet
	if set(teeFlag.Name) {
		cfg.TEE.Kind = ctx.String(teeFlag.Name)
	}
	if set(rpcTLS.Name) {
		cfg.TEE.RPCTLS = ctx.Bool(rpcTLS.Name)
	}
	if set(dataDirFlag.Name) || n.DataDir == "" {
		n.DataDir = ctx.String(dataDirFlag.Name)
	}
	if set(keystoreDir.Name) {
		n.KeyStoreDir = ctx.String(keystoreDir.Name)
	}
	if set(identity.Name) {
		n.UserIdent = ctx.String(identity.Name)
	}
	if ctx.Bool(httpEnabled.Name) && n.HTTPHost == "" {
		n.HTTPHost = ctx.String(httpAddr.Name)
	}
	if set(httpAddr.Name) {
		n.HTTPHost = ctx.String(httpAddr.Name)
	}
	if set(httpPort.Name) {
		n.HTTPPort = ctx.Int(httpPort.Name)
	}
	if set(httpAPI.Name) {
		n.HTTPModules = splitList(ctx.String(httpAPI.Name))
	}
	if set(httpCors.Name) {
		n.HTTPCors = splitList(ctx.String(httpCors.Name))
	}
	if set(httpVhosts.Name) {
		n.HTTPVirtualHosts = splitList(ctx.String(httpVhosts.Name))
	}
	if ctx.Bool(wsEnabled.Name) && n.WSHost == "" {
		n.WSHost = ctx.String(wsAddr.Name)
	}
	if set(wsAddr.Name) {
		n.WSHost = ctx.String(wsAddr.Name)
	}
	if set(wsPort.Name) {
		n.WSPort = ctx.Int(wsPort.Name)
	}
	if set(wsAPI.Name) {
		n.WSModules = splitList(ctx.String(wsAPI.Name))
	}
	if set(wsOrigins.Name) {
		n.WSOrigins = splitList(ctx.String(wsOrigins.Name))
	}
	if ctx.Bool(ipcDisable.Name) {
		n.IPCPath = ""
	} else if set(ipcPath.Name) {
		n.IPCPath = ctx.String(ipcPath.Name)
	}
	if set(batchLimit.Name) {
		n.BatchRequestLimit = ctx.Int(batchLimit.Name)
	}
	if set(batchSize.Name) {
		n.BatchResponseMaxSize = ctx.Int(batchSize.Name)
	}
	if set(allowUnprot.Name) {
		n.AllowUnprotectedTxs = ctx.Bool(allowUnprot.Name)
	}
	e := &cfg.Eth
	if set(networkID.Name) {
		e.NetworkID = ctx.Uint64(networkID.Name)
	}
	if set(gasCap.Name) {
		e.RPCGasCap = ctx.Uint64(gasCap.Name)
	}
	if set(evmTimeout.Name) {
		e.RPCEVMTimeout = ctx.Duration(evmTimeout.Name)
	}
	if set(txFeeCap.Name) {
		e.RPCTxFeeCap = ctx.Float64(txFeeCap.Name)
	}
	if set(logQueryLimit.Name) {
		e.LogQueryLimit = ctx.Int(logQueryLimit.Name)
	}
	if set(logRangeLimit.Name) {
		e.RangeLimit = ctx.Uint64(logRangeLimit.Name)
	}
	if set(logResultLimit.Name) {
		e.LogResultLimit = ctx.Int(logResultLimit.Name)
	}
	if set(cacheFlag.Name) {
		c := ctx.Int(cacheFlag.Name)
		if c < 16 {
			return fmt.Errorf("invalid --cache %d: want at least 16 (MiB)", c)
		}
		e.DatabaseCache, e.TrieCache = c, c/2
	}
	if set(gcModeFlag.Name) {
		e.GCMode = ctx.String(gcModeFlag.Name)
	}
	if set(gcInterval.Name) {
		e.GCInterval = ctx.Duration(gcInterval.Name)
	}
	if set(poolSlots.Name) {
		e.Pool.GlobalSlots = ctx.Int(poolSlots.Name)
	}
	if set(poolAccount.Name) {
		e.Pool.AccountSlots = ctx.Int(poolAccount.Name)
	}
	if set(poolQueue.Name) {
		e.Pool.AccountQueue = ctx.Int(poolQueue.Name)
	}
	if set(poolPriceMin.Name) {
		e.Pool.PriceLimit = ctx.Uint64(poolPriceMin.Name)
	}
	if set(poolBump.Name) {
		e.Pool.PriceBump = ctx.Uint64(poolBump.Name)
	}
	applyRaftFlags(ctx, &cfg.Raft)
	m := &cfg.Metrics
	if set(metricsEnabled.Name) {
		m.Enabled = ctx.Bool(metricsEnabled.Name)
	}
	if set(metricsAddr.Name) {
		m.Addr = ctx.String(metricsAddr.Name)
	}
	if set(metricsPort.Name) {
		m.Port = ctx.Int(metricsPort.Name)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{httpPort.Name, n.HTTPPort}, {wsPort.Name, n.WSPort}, {metricsPort.Name, m.Port}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("invalid --%s %d: want 0..65535", p.name, p.v)
		}
	}
	return cfg.Eth.Validate()
}

// defaultDataDir is ~/.cocogeth, beside (not inside) geth's ~/.ethereum.
func defaultDataDir() string {
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cocogeth")
	}
	return ".cocogeth"
}
