// Command cocobench measures the committed throughput and inclusion latency
// of a running node over JSON-RPC.
//
// A run has an unmeasured setup phase (derive sender keys from a seed, fund
// them, for erc20 deploy and distribute a token) and a measured phase:
// pre-sign every transaction, submit them with eth_sendRawTransaction in
// batches over persistent HTTP connections, follow new blocks and read their
// receipts. A transaction's latency is the time its block was first observed
// minus the time its batch was sent.
package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/params"
	"github.com/urfave/cli/v2"
)

// devKey is the well-known prefunded key of `cocogeth --dev`.
const devKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

var (
	rpcFlag = &cli.StringSliceFlag{
		Name:  "rpc",
		Usage: "HTTP JSON-RPC endpoint; repeat to spread senders over several nodes round-robin",
		Value: cli.NewStringSlice("http://127.0.0.1:8545"),
	}
	wsFlag = &cli.StringFlag{
		Name:  "ws",
		Usage: "WebSocket endpoint of the first node, for a newHeads subscription (optional; polling otherwise)",
	}
	keyFlag = &cli.StringFlag{
		Name:  "key",
		Usage: "private key (hex) of the funder",
		Value: devKey,
	}
	modeFlag = &cli.StringFlag{
		Name:  "mode",
		Usage: "load: transfer (plain ETH transfers) or erc20 (token transfer calls)",
		Value: modeTransfer,
	}
	sendersFlag = &cli.IntFlag{
		Name:  "senders",
		Usage: "number of sender accounts",
		Value: 500,
	}
	txsFlag = &cli.IntFlag{
		Name:  "txs",
		Usage: "total transactions of the measured phase",
		Value: 50000,
	}
	rateFlag = &cli.Float64Flag{
		Name:  "rate",
		Usage: "submission rate in tx/s (0 = as fast as possible)",
	}
	batchFlag = &cli.IntFlag{
		Name:  "batch",
		Usage: "transactions per JSON-RPC batch request",
		Value: 100,
	}
	connsFlag = &cli.IntFlag{
		Name:  "conns",
		Usage: "concurrent HTTP connections for submission",
		Value: 8,
	}
	durationFlag = &cli.DurationFlag{
		Name:  "duration",
		Usage: "cap on the measured phase (0 = none)",
	}
	windowFlag = &cli.DurationFlag{
		Name:  "window",
		Usage: "also report latency per window of this length of submission time (0 = no)",
	}
	timeoutFlag = &cli.DurationFlag{
		Name:  "timeout",
		Usage: "give up when no transaction was sent or included for this long",
		Value: 60 * time.Second,
	}
	jsonFlag = &cli.StringFlag{
		Name:  "json",
		Usage: "write the result as JSON to this file",
	}
	labelFlag = &cli.StringFlag{
		Name:  "label",
		Usage: "name of the run in the report",
	}
	seedFlag = &cli.StringFlag{
		Name:  "seed",
		Usage: "seed of the sender keys and recipients",
		Value: "cocobench",
	}
	recipientsFlag = &cli.IntFlag{
		Name:  "recipients",
		Usage: "number of distinct recipient addresses",
		Value: 10000,
	}
	valueFlag = &cli.Uint64Flag{
		Name:  "value",
		Usage: "wei sent by each transfer (transfer mode)",
		Value: 1,
	}
	tipFlag = &cli.Float64Flag{
		Name:  "tip",
		Usage: "max priority fee per gas, gwei",
		Value: 1,
	}
	maxFeeFlag = &cli.Float64Flag{
		Name:  "maxfee",
		Usage: "max fee per gas, gwei (0 = generous automatic value)",
	}
	erc20GasFlag = &cli.Uint64Flag{
		Name:  "erc20.gas",
		Usage: "fixed gas limit of every erc20 transfer call (0 = estimate a transfer to a fresh holder, plus 25%)",
	}
	inflightFlag = &cli.IntFlag{
		Name:  "inflight",
		Usage: "most transactions sent but not yet included at once (0 = unlimited)",
	}
	pollFlag = &cli.DurationFlag{
		Name:  "poll",
		Usage: "eth_blockNumber polling interval",
		Value: 20 * time.Millisecond,
	}
	setupTimeoutFlag = &cli.DurationFlag{
		Name:  "setup.timeout",
		Usage: "how long to wait for each chunk of setup transactions",
		Value: 5 * time.Minute,
	}
	pprofFlag = &cli.StringFlag{
		Name:  "node.pprof",
		Usage: "pprof base URL of the node (e.g. http://127.0.0.1:6060); with --node.cpuprofile, a CPU profile is taken during the measured phase",
	}
	cpuProfileFlag = &cli.StringFlag{
		Name:  "node.cpuprofile",
		Usage: "file to write the node's CPU profile to",
	}
	cpuProfileSecondsFlag = &cli.IntFlag{
		Name:  "node.cpuprofile.seconds",
		Usage: "length of the node CPU profile",
		Value: 10,
	}
	nodePIDFlag = &cli.IntSliceFlag{
		Name:  "node-pid",
		Usage: "Process id of a node whose CPU time per committed transaction to report (repeat for a cluster)",
	}
	nodeNameFlag = &cli.StringSliceFlag{
		Name:  "node-name",
		Usage: "Names of the --node-pid processes, in order (default: pid N)",
	}
	verbosityFlag = &cli.IntFlag{
		Name:  "verbosity",
		Usage: "log level: 0=silent 1=error 2=warn 3=info 4=debug",
		Value: 3,
	}
)

func main() {
	app := &cli.App{
		Name:  "cocobench",
		Usage: "measure committed throughput and latency of a node over JSON-RPC",
		Flags: []cli.Flag{
			rpcFlag, wsFlag, keyFlag, modeFlag, sendersFlag, txsFlag, rateFlag, batchFlag,
			connsFlag, durationFlag, windowFlag, timeoutFlag, jsonFlag, labelFlag, seedFlag, recipientsFlag,
			valueFlag, tipFlag, maxFeeFlag, erc20GasFlag, inflightFlag, pollFlag, setupTimeoutFlag,
			pprofFlag, cpuProfileFlag, cpuProfileSecondsFlag, nodePIDFlag, nodeNameFlag, verbosityFlag,
		},
		Action:          run,
		HideHelpCommand: true,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "cocobench:", err)
		os.Exit(1)
	}
}

func setupLogging(verbosity int) {
	lvl := log.FromLegacyLevel(verbosity)
	if verbosity <= 0 {
		lvl = log.LevelCrit + 1
	}
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(os.Stderr, lvl, false)))
}

func gweiToWei(g float64) *big.Int {
	f := new(big.Float).Mul(big.NewFloat(g), big.NewFloat(params.GWei))
	v, _ := f.Int(nil)
	return v
}

func weiToGwei(v *big.Int) float64 {
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(v), big.NewFloat(params.GWei)).Float64()
	return f
}

func run(c *cli.Context) error {
	setupLogging(c.Int(verbosityFlag.Name))
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var (
		mode     = c.String(modeFlag.Name)
		nSenders = c.Int(sendersFlag.Name)
		nTxs     = c.Int(txsFlag.Name)
		batch    = c.Int(batchFlag.Name)
		conns    = c.Int(connsFlag.Name)
		rate     = c.Float64(rateFlag.Name)
		seed     = c.String(seedFlag.Name)
	)
	var urls []string
	for _, u := range c.StringSlice(rpcFlag.Name) {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	switch {
	case mode != modeTransfer && mode != modeERC20:
		return fmt.Errorf("--mode must be %s or %s", modeTransfer, modeERC20)
	case len(urls) == 0:
		return errors.New("no --rpc endpoint")
	case nSenders < 1 || nTxs < 1 || batch < 1 || conns < 1:
		return errors.New("--senders, --txs, --batch and --conns must be positive")
	case rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
		return errors.New("--rate must be >= 0")
	case c.Int(recipientsFlag.Name) < 1:
		return errors.New("--recipients must be positive")
	}
	funder, err := parseKey(c.String(keyFlag.Name))
	if err != nil {
		return err
	}

	// Connections: one client per node for submission, a separate one for
	// setup and following blocks so they never queue behind submissions.
	timeout := 60 * time.Second
	clients := make([]*rpcClient, len(urls))
	for i, u := range urls {
		clients[i] = newRPCClient(u, newHTTPClient(conns, timeout))
	}
	ctl := newRPCClient(urls[0], newHTTPClient(4, timeout))

	id, err := chainID(ctx, ctl)
	if err != nil {
		return fmt.Errorf("node %s: %w", urls[0], err)
	}
	for i, rc := range clients[1:] {
		other, err := chainID(ctx, rc)
		if err != nil {
			return fmt.Errorf("node %s: %w", urls[i+1], err)
		}
		if other.Cmp(id) != 0 {
			return fmt.Errorf("node %s has chain id %v, %s has %v", urls[i+1], other, urls[0], id)
		}
	}
	funderAddr := crypto.PubkeyToAddress(funder.PublicKey)
	log.Info("Connected", "nodes", len(urls), "chainid", id, "funder", funderAddr)

	// Fees.
	head, err := latestBlock(ctx, ctl)
	if err != nil {
		return err
	}
	baseFee := new(big.Int)
	if head.BaseFee != nil {
		baseFee = head.BaseFee.ToInt()
	}
	_, fb, err := queryAccounts(ctx, ctl, []common.Address{funderAddr})
	if err != nil {
		return err
	}
	spec := &txSpec{
		Mode:        mode,
		ChainID:     id,
		TipCap:      gweiToWei(c.Float64(tipFlag.Name)),
		Value:       new(big.Int).SetUint64(c.Uint64(valueFlag.Name)),
		GasLimit:    transferGas,
		TokenAmount: big.NewInt(1),
	}
	var art testcontracts.Artifact
	if mode == modeERC20 {
		if art, err = testcontracts.Load("TestToken"); err != nil {
			return err
		}
		spec.GasLimit = c.Uint64(erc20GasFlag.Name)
		if spec.GasLimit == 0 {
			spec.GasLimit = 100_000 // provisional, for choosing the fee cap
		}
		spec.Value = new(big.Int)
		spec.TokenABI = &art.ABI
	}
	spec.FeeCap = chooseFeeCap(gweiToWei(c.Float64(maxFeeFlag.Name)), baseFee, spec.TipCap, fb[0], spec.GasLimit, uint64(nTxs)*spec.GasLimit)
	if spec.FeeCap.Cmp(spec.TipCap) < 0 {
		return fmt.Errorf("--maxfee (%v wei) below --tip (%v wei)", spec.FeeCap, spec.TipCap)
	}
	log.Info("Fees", "basefee", baseFee, "tip", spec.TipCap, "feecap", spec.FeeCap)

	// Setup: senders, token, funding.
	t0 := time.Now()
	senders := newSenders(deriveKeys(seed, nSenders), len(urls))
	addrs := make([]common.Address, len(senders))
	for i, s := range senders {
		addrs[i] = s.addr
	}
	nonces, balances, err := queryAccounts(ctx, ctl, addrs)
	if err != nil {
		return err
	}
	for i, s := range senders {
		s.nonce = nonces[i]
	}
	counts := splitCounts(nTxs, nSenders)
	recipients := recipientAddresses(seed, c.Int(recipientsFlag.Name))
	e := &env{
		ctl: ctl, chainID: id, signer: types.LatestSignerForChainID(id),
		funder: funder, funderAddr: funderAddr, tip: spec.TipCap, feeCap: spec.FeeCap,
		batch: batch, timeout: c.Duration(setupTimeoutFlag.Name),
	}
	if mode == modeERC20 {
		if spec.Token, err = e.deployToken(ctx, spec.TokenABI, art.Bytecode); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		if c.Uint64(erc20GasFlag.Name) == 0 {
			// Estimated towards a fresh recipient, the most expensive case.
			if spec.GasLimit, err = e.tokenTransferGas(ctx, spec.TokenABI, spec.Token, recipients[0]); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			log.Info("Token transfer gas limit", "gas", spec.GasLimit)
		}
	}
	if err := e.fund(ctx, senders, counts, spec, balances); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	log.Info("Setup done", "senders", nSenders, "elapsed", time.Since(t0).Round(time.Millisecond))

	// Pre-sign and encode every batch.
	t0 = time.Now()
	perSender, err := presign(senders, counts, spec, recipients, seedNumber(seed), runtime.NumCPU())
	if err != nil {
		return fmt.Errorf("pre-signing: %w", err)
	}
	flat, batches := planBatches(perSender, senders, len(urls), batch)
	log.Info("Transactions pre-signed", "txs", len(flat), "batches", len(batches), "elapsed", time.Since(t0).Round(time.Millisecond))

	// Measured phase.
	var startBlock hexutil.Uint64
	if err := ctl.Call(ctx, &startBlock, "eth_blockNumber"); err != nil {
		return err
	}
	tr := newTracker(flat, batches)
	mc := &measureConfig{
		clients:        clients,
		follow:         newRPCClient(urls[0], newHTTPClient(4, timeout)),
		wsURL:          c.String(wsFlag.Name),
		conns:          conns,
		rate:           rate,
		inflight:       c.Int(inflightFlag.Name),
		poll:           max(c.Duration(pollFlag.Name), time.Millisecond),
		duration:       c.Duration(durationFlag.Name),
		timeout:        c.Duration(timeoutFlag.Name),
		profileURL:     c.String(pprofFlag.Name),
		profileOut:     c.String(cpuProfileFlag.Name),
		profileSeconds: c.Int(cpuProfileSecondsFlag.Name),
	}
	log.Info("Measured phase starting", "mode", mode, "txs", len(flat), "rate", rate, "batch", batch, "conns", conns, "startblock", uint64(startBlock))
	var recovery float64
	meter := newCPUMeter(c.IntSlice(nodePIDFlag.Name), c.StringSlice(nodeNameFlag.Name))
	if len(meter.pids) > 0 {
		if busy := meter.waitQuiet(10 * time.Second); busy >= 0.1 {
			log.Warn("Nodes still busy: the recovery measured now may be slowed", "cores", fmt.Sprintf("%.2f", busy))
		}
		recovery = recoveryMicros()
		log.Info("One signature recovery measured", "micros", fmt.Sprintf("%.1f", recovery))
		if err := meter.start(); err != nil {
			return err
		}
	}
	reason := measure(ctx, mc, tr, batches, uint64(startBlock))

	res := tr.resultWindows(c.Duration(windowFlag.Name))
	if len(meter.pids) > 0 {
		res.RecoveryMicros = recovery
		res.NodeCPU = meter.finish(res.Committed, recovery)
	}
	res.Label = c.String(labelFlag.Name)
	res.Mode = mode
	res.Nodes = urls
	res.ChainID = id.Uint64()
	res.Senders = nSenders
	res.Txs = nTxs
	res.Rate = rate
	res.Batch = batch
	res.Conns = conns
	res.GasLimit = spec.GasLimit
	res.FeeCapGwei = weiToGwei(spec.FeeCap)
	res.TipGwei = weiToGwei(spec.TipCap)
	res.Stop = reason
	res.explainMissing(spec.FeeCap)
	printSummary(os.Stdout, res)
	if path := c.String(jsonFlag.Name); path != "" {
		if err := writeJSON(path, res); err != nil {
			return err
		}
		log.Info("Result written", "file", path)
	}
	if reason == "interrupted" {
		return errors.New("interrupted")
	}
	return nil
}
