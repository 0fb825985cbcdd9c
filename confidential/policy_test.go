package confidential

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/holiman/uint256"
)

// A state the gate cannot read (its trie nodes pruned or missing) shows
// nothing: the contract counts as confidential, never as public. An
// account read from an intact state is public when it holds no code.
func TestConfidentialFailsClosed(t *testing.T) {
	db := rawdb.NewMemoryDatabase()
	tdb := triedb.NewDatabase(db, nil)
	st, err := state.New(types.EmptyRootHash, state.NewDatabase(tdb, nil))
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]common.Address, 64)
	for i := range addrs {
		addrs[i] = common.BigToAddress(big.NewInt(int64(i + 1)))
		st.SetBalance(addrs[i], uint256.NewInt(1), 0)
	}
	rules := params.TestChainConfig.Rules(common.Big0, true, 0)
	root, err := st.Commit(rules, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := tdb.Commit(root, false); err != nil {
		t.Fatal(err)
	}
	p := newPolicy(nil)
	header := &types.Header{Number: common.Big1, Root: root}
	open := func() *state.StateDB {
		st, err := state.New(root, state.NewDatabase(triedb.NewDatabase(db, nil), nil))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if p.confidential(open(), header, addrs[0]) {
		t.Fatal("an account without code in an intact state counts as confidential")
	}
	// Every trie node but the root goes, as pruning takes an old state.
	it := db.NewIterator(nil, nil)
	var gone int
	for it.Next() {
		if k := it.Key(); len(k) == common.HashLength && common.BytesToHash(k) != root {
			db.Delete(common.CopyBytes(k))
			gone++
		}
	}
	it.Release()
	if gone == 0 {
		t.Fatal("no trie node below the root to delete")
	}
	st2 := open()
	if !p.confidential(st2, header, addrs[0]) {
		t.Fatal("a contract in an unreadable state counts as public")
	}
	if st2.Error() == nil {
		t.Fatal("the read did not meet the missing nodes")
	}
}
