// refnode: a minimal stand-in for `geth --dev` built from go-ethereum's own
// packages, accepting cocogeth's command line, used to check the e2e suite's
// expectations against real geth behaviour.
package main

import (
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/signal"
	"syscall"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/rpc"
)

func main() {
	flag.Bool("dev", false, "")
	datadir := flag.String("datadir", "", "")
	httpPort := flag.Int("http.port", 8545, "")
	wsPort := flag.Int("ws.port", 8546, "")
	gasLimit := flag.Uint64("gaslimit", 1_000_000_000, "")
	// Pool limits (geth's flag names; geth's defaults): the load benchmark
	// raises them to cocogeth's so that the pool does not drop its load.
	globalSlots := flag.Uint64("txpool.globalslots", ethconfig.Defaults.TxPool.GlobalSlots, "")
	accountSlots := flag.Uint64("txpool.accountslots", ethconfig.Defaults.TxPool.AccountSlots, "")
	globalQueue := flag.Uint64("txpool.globalqueue", ethconfig.Defaults.TxPool.GlobalQueue, "")
	accountQueue := flag.Uint64("txpool.accountqueue", ethconfig.Defaults.TxPool.AccountQueue, "")
	flag.Parse()
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(os.Stderr, log.LevelInfo, false)))

	dev := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	mods := []string{"eth", "net", "web3", "txpool"}
	ncfg := node.DefaultConfig
	ncfg.Name, ncfg.Version, ncfg.DataDir = "cocogeth-ref", "1.17.10", *datadir
	ncfg.HTTPHost, ncfg.HTTPPort, ncfg.HTTPModules, ncfg.HTTPVirtualHosts, ncfg.HTTPCors = "127.0.0.1", *httpPort, mods, []string{"localhost"}, []string{"*"}
	ncfg.WSHost, ncfg.WSPort, ncfg.WSModules, ncfg.WSOrigins = "127.0.0.1", *wsPort, mods, []string{"*"}
	ncfg.AuthPort = 0
	ncfg.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0, ListenAddr: ""}
	stack, err := node.New(&ncfg)
	if err != nil {
		panic(err)
	}
	cfg := ethconfig.Defaults
	cfg.Genesis = core.DeveloperGenesisBlock(*gasLimit, &dev)
	cfg.Miner.GasPrice = big.NewInt(1)
	cfg.Miner.PendingFeeRecipient = dev
	cfg.SyncMode = ethconfig.FullSync
	cfg.TxPool.GlobalSlots, cfg.TxPool.AccountSlots = *globalSlots, *accountSlots
	cfg.TxPool.GlobalQueue, cfg.TxPool.AccountQueue = *globalQueue, *accountQueue
	backend, err := eth.New(stack, &cfg)
	if err != nil {
		panic(err)
	}
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{LogCacheSize: cfg.FilterLogCacheSize, LogQueryLimit: cfg.LogQueryLimit, RangeLimit: cfg.RangeLimit})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}})
	sim, err := catalyst.NewSimulatedBeacon(0, dev, backend)
	if err != nil {
		panic(err)
	}
	catalyst.RegisterSimulatedBeaconAPIs(stack, sim)
	stack.RegisterLifecycle(sim)
	if err := stack.Start(); err != nil {
		panic(err)
	}
	fmt.Fprintln(os.Stderr, "refnode started")
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
	stack.Close()
}
