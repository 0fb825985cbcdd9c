package eth

import (
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
)

var (
	keyA, _  = crypto.HexToECDSA(genesis.DevKeyHex)
	addrA    = crypto.PubkeyToAddress(keyA.PublicKey)
	keyB, _  = crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	addrB    = crypto.PubkeyToAddress(keyB.PublicKey)
	testSig  = types.LatestSignerForChainID(big.NewInt(genesis.DevChainID))
	gwei     = big.NewInt(1e9)
	feeCap   = big.NewInt(5e9)
	recvAddr = common.HexToAddress("0x00000000000000000000000000000000000000aa")
)

// newTestService opens a service on an in-memory database initialised with
// the dev genesis, without RPC servers.
func newTestService(t testing.TB) (*Service, ethdb.Database) {
	t.Helper()
	db := rawdb.NewMemoryDatabase()
	if _, err := InitChain(db, genesis.Dev()); err != nil {
		t.Fatal(err)
	}
	s, err := newService(nil, db, db, DefaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func transfer(t testing.TB, key *ecdsa.PrivateKey, nonce uint64, to common.Address, value int64) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(key, testSig, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: gwei, GasFeeCap: feeCap,
		Gas: 21000, To: &to, Value: big.NewInt(value),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// storeCode is init code that stores 42 in slot 0 and deploys a one-byte
// runtime (STOP).
var storeCode = common.FromHex("602a60005560016000f3")

func create(t testing.TB, key *ecdsa.PrivateKey, nonce uint64) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(key, testSig, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: gwei, GasFeeCap: feeCap,
		Gas: 200000, Data: storeCode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// buildAndCommit executes txs on the head and commits the block through the
// ledger, as the builder does.
func buildAndCommit(t testing.TB, s *Service, txs []*types.Transaction) (*builtBlock, []byte) {
	t.Helper()
	head := s.chain.CurrentHeader()
	b, err := s.chain.executeBlock(head, head.Time+1, txs)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := encodeBlockEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	s.fsm.remember(b)
	if _, err := s.ledger.Propose(entry).Wait(); err != nil {
		t.Fatal(err)
	}
	return b, entry
}

// closeUnstarted ends what a service that was never started runs: the
// loops of the filter APIs its APIs() made stop with the chain's and the
// pool's subscriptions.
func closeUnstarted(s *Service) {
	close(s.quit)
	s.pool.Close()
	s.chain.Close()
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
