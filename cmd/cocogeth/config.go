package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/naoina/toml"
)

const clientName = "cocogeth"

// clientVersion is the release; the VCS revision is appended when known.
const clientVersion = "0.1.0"

// Config is the whole configuration of a node, as read from --config and
// printed by dumpconfig.
type Config struct {
	Node    node.Config
	Eth     eth.Config
	Raft    cocobackend.ClusterSettings
	Metrics MetricsConfig
	TEE     TEEConfig
}

// TEEConfig chooses the node's trusted execution environment.
type TEEConfig struct {
	// Kind is "sgx" (inside an enclave built with make enclave) or
	// "simulation" (anywhere else; labelled insecure).
	Kind string
	// RPCTLS serves HTTP and WebSocket over TLS with the node's attested
	// certificate.
	RPCTLS bool `toml:",omitempty"`
}

// defaultMetrics is the Prometheus endpoint's default place (off).
var defaultMetrics = MetricsConfig{Addr: "127.0.0.1", Port: 6060}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	Enabled bool
	Addr    string
	Port    int
}

func vcsRevision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 8 {
			return s.Value[:8]
		}
	}
	return ""
}

func versionString() string {
	if rev := vcsRevision(); rev != "" {
		return clientVersion + "-" + rev
	}
	return clientVersion
}

func defaultConfig() Config {
	n := node.DefaultConfig
	n.Name = clientName
	n.Version = versionString()
	n.IPCPath = clientName + ".ipc"
	n.HTTPModules = []string{"eth", "net", "web3"}
	n.WSModules = []string{"eth", "net", "web3"}
	n.HTTPTimeouts.ReadTimeout = 30 * time.Second
	// No devp2p: validating nodes talk over their own channel.
	n.P2P = p2p.Config{MaxPeers: 0, NoDiscovery: true, NoDial: true, ListenAddr: ""}
	return Config{
		Node:    n,
		Eth:     eth.DefaultConfig,
		Raft:    cocobackend.DefaultClusterSettings(),
		Metrics: defaultMetrics,
		TEE:     TEEConfig{Kind: tee.KindSimulation},
	}
}

var tomlSettings = toml.Config{
	NormFieldName: func(rt reflect.Type, key string) string { return key },
	FieldToKey:    func(rt reflect.Type, field string) string { return field },
	MissingField: func(rt reflect.Type, field string) error {
		return fmt.Errorf("field '%s' is not defined in %s", field, rt.String())
	},
}

func loadConfigFile(file string, cfg *Config) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	err = tomlSettings.NewDecoder(bufio.NewReader(f)).Decode(cfg)
	var lerr *toml.LineError
	if errors.As(err, &lerr) {
		return fmt.Errorf("%s, %v", file, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	return nil
}

// The chain's backend is what the JSON-RPC layer reads.
var _ ethapi.Backend = (*eth.RPCBackend)(nil)

// rpcConfig is the JSON-RPC service's part of the [Eth] section, where
// geth keeps these limits too.
func rpcConfig(c eth.Config) ethapi.Config {
	return ethapi.Config{
		NetworkID:      c.NetworkID,
		GasCap:         c.RPCGasCap,
		EVMTimeout:     c.RPCEVMTimeout,
		TxFeeCap:       c.RPCTxFeeCap,
		FilterTimeout:  c.FilterTimeout,
		LogQueryLimit:  c.LogQueryLimit,
		RangeLimit:     c.RangeLimit,
		LogResultLimit: c.LogResultLimit,
	}
}
