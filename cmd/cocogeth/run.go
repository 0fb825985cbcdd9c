package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with --pprof
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/confidential"
	"github.com/cocogeth/cocogeth/dashboard"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/keyring"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/metrics"
	"github.com/ethereum/go-ethereum/metrics/exp"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

// makeConfig assembles defaults, the --config file and flags.
func makeConfig(ctx *cli.Context) (Config, error) {
	cfg := defaultConfig()
	if file := ctx.String(configFlag.Name); file != "" {
		if err := loadConfigFile(file, &cfg); err != nil {
			return cfg, err
		}
	}
	if ctx.Bool(devFlag.Name) {
		applyDevDefaults(ctx, &cfg)
	}
	if err := applyFlags(ctx, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// applyDevDefaults makes --dev ready for wallets: HTTP and WS on
// 127.0.0.1:8545/8546 with the txpool API, unless flags say otherwise.
func applyDevDefaults(ctx *cli.Context, cfg *Config) {
	n := &cfg.Node
	if n.HTTPHost == "" {
		n.HTTPHost = "127.0.0.1"
	}
	if n.WSHost == "" {
		n.WSHost = "127.0.0.1"
	}
	n.HTTPModules = []string{"eth", "net", "web3", "txpool", "coco"}
	n.WSModules = []string{"eth", "net", "web3", "txpool", "coco"}
}

func runNode(ctx *cli.Context) error {
	if args := ctx.Args().Slice(); len(args) > 0 {
		return fmt.Errorf("invalid command: %q (see `cocogeth --help`)", args[0])
	}
	cfg, err := makeConfig(ctx)
	if err != nil {
		return err
	}
	dev := ctx.Bool(devFlag.Name)
	if dev && !ctx.IsSet(dataDirFlag.Name) && ctx.String(configFlag.Name) == "" {
		dir, err := os.MkdirTemp("", "cocogeth-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.Node.DataDir = dir
		log.Info("Development chain in a temporary directory, removed on exit", "datadir", dir)
	}
	// Open the keystore and unlock --unlock accounts before the node, so
	// a refused unlock or a wrong password stops before anything opens.
	ks, err := nodeKeystore(ctx, &cfg)
	if err != nil {
		return err
	}
	// The node keeps IPC; HTTP and WebSocket are ours (rpcserver.go).
	servers := newRPCServers(&cfg.Node)
	if ctx.Bool(dashboardFlag.Name) && servers.cfg.HTTPHost == "" {
		return errDashboardNoHTTP
	}
	stack, err := node.New(&cfg.Node)
	if err != nil {
		return fmt.Errorf("failed to create the node: %v", err)
	}
	defer stack.Close()
	if ks != nil {
		stack.AccountManager().AddBackend(ks)
	}
	enclave, err := startTEE(cfg.TEE.Kind, stack.ResolvePath(teeSecretFile))
	if err != nil {
		return err
	}
	if dev && !ctx.Bool(recoveryModeFlag.Name) {
		if err := initDatabase(stack, genesis.Dev(), enclave); err != nil {
			return err
		}
		log.Warn("Development mode: the prefunded account's key is public, never use it for value",
			"address", genesis.DevAddress, "chainid", genesis.DevChainID)
	}
	if cfg.Metrics.Enabled {
		metrics.Enable()
		exp.Setup(net.JoinHostPort(cfg.Metrics.Addr, strconv.Itoa(cfg.Metrics.Port)))
	}
	if ctx.Bool(pprofEnabled.Name) {
		addr := net.JoinHostPort(ctx.String(pprofAddr.Name), strconv.Itoa(ctx.Int(pprofPort.Name)))
		log.Info("Starting pprof server", "addr", "http://"+addr+"/debug/pprof")
		go func() {
			if err := http.ListenAndServe(addr, http.DefaultServeMux); err != nil {
				log.Error("pprof server failed", "err", err)
			}
		}()
	}
	// Every store encrypts under the ledger secrets; a node's first start
	// may have to fetch them (and write its genesis) first.
	var rpcCert *tls.Certificate
	if cfg.TEE.RPCTLS {
		// Clients check the report in it, not a CA: cocogeth verify.
		if rpcCert, err = nodetls.AttestedCertificate(enclave, "cocogeth node", time.Now(), rpcCertLifetime); err != nil {
			return err
		}
		servers.tls = &tls.Config{Certificates: []tls.Certificate{*rpcCert}, MinVersion: tls.VersionTLS12}
	}
	var keys *keyring.Keyring
	if plaintextStorage() {
		warnPlaintext()
	} else {
		if ctx.Bool(recoveryModeFlag.Name) {
			if keys, err = openOrResetKeys(stack, enclave); err != nil {
				return err
			}
			rctx, stop := signal.NotifyContext(ctx.Context, os.Interrupt, syscall.SIGTERM)
			err = runRecovery(rctx, stack, &servers.cfg, servers.tls, keys)
			stop()
			if err != nil {
				return err
			}
		} else if keys, err = openLedgerKeys(stack, enclave); err != nil {
			return err
		}
		if err := prepareChain(ctx.Context, stack, keys, enclave, cfg.Raft.InsecurePlaintext, ctx.String(raftID.Name)); err != nil {
			return err
		}
	}
	cfg.Eth.Storage = nodeStorage(stack, keys)
	cfg.Eth.Storage.Local = cfg.Raft.InsecurePlaintext
	svc, err := eth.New(stack, cfg.Eth, ledgerFactory(ctx, stack, cfg.Raft, servers, enclave, keys))
	if err != nil {
		return err
	}
	// Registered after the chain, the RPC service stops before it, and the
	// servers before both.
	backend := svc.RPCBackend()
	verifier := confidential.NewVerifier(backend.ChainConfig().ChainID,
		confidential.ConstitutionLifetime(backend, backend.Spec().Coco.Governed()))
	gate := confidential.NewGate(verifier, backend)
	rcfg := rpcConfig(cfg.Eth)
	rcfg.TEE = tee.Label(enclave.Kind())
	rpcs := ethapi.New(backend, rcfg, gate)
	servers.register(stack, rpcs.APIs())
	servers.register(stack, []rpc.API{{Namespace: "coco", Service: confidential.NewAPI(verifier)}})
	attestation, err := newAttestationAPI(enclave, &stack.Config().NodeKey().PublicKey, rpcCert)
	if err != nil {
		return err
	}
	servers.register(stack, []rpc.API{{Namespace: "coco", Service: attestation}})
	servers.front = gate.Handler
	if ctx.Bool(dashboardFlag.Name) {
		chainID, governed := backend.ChainConfig().ChainID, backend.Spec().Coco.Governed()
		page := dashboard.Handler(func() dashboard.Config {
			rpcURL, wsURL := servers.dashboardURLs()
			return dashboard.Config{RPC: rpcURL, WS: wsURL, ChainID: chainID, Governed: governed}
		}, governance.Address, servers.cfg.HTTPVirtualHosts)
		if err := servers.serveDashboard(page); err != nil {
			return err
		}
	}
	stack.RegisterLifecycle(rpcs)
	stack.RegisterLifecycle(servers)
	// admin_shutdown on IPC only: the servers never get it.
	control := newControlAPI()
	stack.RegisterAPIs([]rpc.API{{Namespace: "admin", Service: control}})
	// Catch signals before starting, so a stop during start-up is clean.
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigc)
	if err := stack.Start(); err != nil {
		return fmt.Errorf("failed to start the node: %v", err)
	}
	select {
	case sig := <-sigc:
		log.Info("Got signal, shutting down", "signal", sig)
	case <-control.stop:
		log.Info("Shutdown requested over IPC, shutting down")
	}
	go func() {
		// A second signal while closing forces the exit.
		<-sigc
		log.Warn("Forced exit")
		os.Exit(1)
	}()
	return nil
}

var initCommand = &cli.Command{
	Name:      "init",
	Usage:     "Bootstrap and initialize a new chain from a genesis file",
	ArgsUsage: "<genesisPath>",
	Flags:     []cli.Flag{dataDirFlag, teeFlag},
	Action: func(ctx *cli.Context) error {
		if ctx.Args().Len() != 1 {
			return errors.New("need exactly one argument: the genesis file")
		}
		file := ctx.Args().First()
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read genesis: %v", err)
		}
		spec, err := genesis.Parse(data)
		if err != nil {
			return fmt.Errorf("%s: %v", filepath.Base(file), err)
		}
		cfg := defaultConfig()
		cfg.Node.DataDir = ctx.String(dataDirFlag.Name)
		cfg.Node.IPCPath, cfg.Node.HTTPHost, cfg.Node.WSHost = "", "", ""
		stack, err := node.New(&cfg.Node)
		if err != nil {
			return err
		}
		defer stack.Close()
		enclave, err := startTEE(ctx.String(teeFlag.Name), stack.ResolvePath(teeSecretFile))
		if err != nil {
			return err
		}
		if err := initDatabase(stack, spec, enclave); err != nil {
			return err
		}
		log.Info("Successfully wrote genesis state", "datadir", cfg.Node.DataDir)
		return nil
	},
}

var dumpConfigCommand = &cli.Command{
	Name:      "dumpconfig",
	Usage:     "Export the configuration (defaults, --config file and flags) as TOML",
	ArgsUsage: "<dumpfile>",
	Flags:     nodeFlags,
	Action: func(ctx *cli.Context) error {
		cfg, err := makeConfig(ctx)
		if err != nil {
			return err
		}
		out, err := tomlSettings.Marshal(&cfg)
		if err != nil {
			return err
		}
		dump := os.Stdout
		if ctx.NArg() > 0 {
			if dump, err = os.OpenFile(ctx.Args().Get(0), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
				return err
			}
			defer dump.Close()
		}
		_, err = dump.Write(out)
		return err
	},
}
