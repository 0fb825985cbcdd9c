package eth

import (
	"bytes"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/ethtest"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethdb"
)

// The shared test accounts and transactions (internal/ethtest).
var (
	keyA, addrA = ethtest.KeyA, ethtest.AddrA
	keyB, addrB = ethtest.KeyB, ethtest.AddrB
	addrC       = ethtest.AddrC
	testSig     = ethtest.Signer
	gwei        = ethtest.Gwei
	feeCap      = ethtest.FeeCap
	recvAddr    = common.HexToAddress("0x00000000000000000000000000000000000000aa")

	transfer        = ethtest.Transfer
	create          = ethtest.Create
	govTx           = ethtest.GovTx
	governedGenesis = ethtest.GovernedGenesis
)

// newTestService opens a service on an in-memory database initialised with
// the dev genesis, without RPC servers.
func newTestService(t testing.TB) (*Service, ethdb.Database) {
	t.Helper()
	s := newServiceOn(t, genesis.Dev())
	return s, s.db
}

// newGovernedService opens a service on governedGenesis.
func newGovernedService(t testing.TB) *Service {
	t.Helper()
	return newServiceOn(t, governedGenesis(t))
}

func newServiceOn(t testing.TB, spec *genesis.Spec) *Service {
	t.Helper()
	db := rawdb.NewMemoryDatabase()
	if _, err := InitChain(db, spec); err != nil {
		t.Fatal(err)
	}
	s, err := NewService(nil, db, db, DefaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
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

// persistSnapshot takes a Raft snapshot of s and returns its stream.
func persistSnapshot(t testing.TB, s *Service) *bytes.Buffer {
	t.Helper()
	snap, err := s.fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	return &buf
}
