package ethapi

import (
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/ethtest"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/node"
)

// The shared test accounts and transactions (internal/ethtest).
var (
	keyA, addrA = ethtest.KeyA, ethtest.AddrA
	keyB, addrB = ethtest.KeyB, ethtest.AddrB
	keyC, addrC = ethtest.KeyC, ethtest.AddrC
	testSig     = ethtest.Signer
	gwei        = ethtest.Gwei
	feeCap      = ethtest.FeeCap
	recvAddr    = common.HexToAddress("0x00000000000000000000000000000000000000aa")

	transfer        = ethtest.Transfer
	create          = ethtest.Create
	govTx           = ethtest.GovTx
	governedGenesis = ethtest.GovernedGenesis
)

// testConfig is the node's default RPC configuration.
func testConfig() Config {
	d := eth.DefaultConfig
	return Config{
		NetworkID: d.NetworkID, GasCap: d.RPCGasCap, EVMTimeout: d.RPCEVMTimeout, TxFeeCap: d.RPCTxFeeCap,
		FilterTimeout: d.FilterTimeout, LogQueryLimit: d.LogQueryLimit, RangeLimit: d.RangeLimit,
		LogResultLimit: d.LogResultLimit,
	}
}

// newChain opens a service on an in-memory chain with spec, not started
// (blocks come from commit); stack, if not nil, lends it accounts. It is
// stopped when the test ends.
func newChain(t testing.TB, spec *genesis.Spec, stack *node.Node) *eth.Service {
	t.Helper()
	db := rawdb.NewMemoryDatabase()
	if _, err := eth.InitChain(db, spec); err != nil {
		t.Fatal(err)
	}
	s, err := eth.NewService(stack, db, db, eth.DefaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// newDevChain is newChain on the dev genesis.
func newDevChain(t testing.TB) *eth.Service { return newChain(t, genesis.Dev(), nil) }

// commit commits a block of exactly txs.
func commit(t testing.TB, s *eth.Service, txs ...*types.Transaction) *types.Block {
	t.Helper()
	b, err := s.CommitBlock(txs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
