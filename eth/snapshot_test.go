package eth

import (
	"testing"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
)

// A crash in the middle of a snapshot install leaves a chain database that
// cannot open; the next start returns it to genesis (the ledger then
// installs the snapshot again) instead of failing.
func TestInterruptedRestoreRestartsFromGenesis(t *testing.T) {
	dir := t.TempDir()
	kv, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := rawdb.NewDatabase(kv)
	if _, err := InitChain(db, genesis.Dev()); err != nil {
		t.Fatal(err)
	}
	s, err := NewService(nil, db, kv, DefaultConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	buildAndCommit(t, s, []*types.Transaction{transfer(t, keyA, 0, addrB, 1)})
	s.chain.Close()

	// What Restore leaves when killed after its wipe began: the marker,
	// and a database without its head block.
	if err := db.Put(restoringKey, hdrBytes(7)); err != nil {
		t.Fatal(err)
	}
	head := rawdb.ReadHeadBlockHash(db)
	rawdb.DeleteBlock(db, head, 1)
	if _, err := NewChain(db, ChainConfig{}); err == nil {
		t.Fatal("half-restored database opened as if whole")
	}

	s2, err := NewService(nil, db, kv, DefaultConfig, nil)
	if err != nil {
		t.Fatalf("restart after an interrupted install: %v", err)
	}
	if n := s2.chain.CurrentHeader().Number.Uint64(); n != 0 || s2.chain.AppliedIndex() != 0 {
		t.Fatalf("restart at block %d, applied %d; want genesis, 0", n, s2.chain.AppliedIndex())
	}
	if ok, _ := db.Has(restoringKey); ok {
		t.Fatal("restore marker left behind")
	}
	if s2.chain.Genesis().Hash() != s.chain.Genesis().Hash() {
		t.Fatal("different genesis after recovery")
	}
	s2.chain.Close()
	kv.Close()
}
