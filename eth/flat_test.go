package eth

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// flatTestBlocks is more than flatLayers, so layers are flattened to disk.
const flatTestBlocks = flatLayers + 8

// flatBlockTxs is block n of the flat-state tests: a transfer to a fresh
// account and, every fifth block, a contract that writes a storage slot.
func flatBlockTxs(t *testing.T, n uint64, nonce *uint64) []*types.Transaction {
	txs := []*types.Transaction{transfer(t, keyA, *nonce, common.BigToAddress(big.NewInt(int64(1000+n))), int64(n+1))}
	*nonce++
	if n%5 == 0 {
		txs = append(txs, create(t, keyA, *nonce))
		*nonce++
	}
	return txs
}

// trieOnly opens the state at root through the trie alone, the reference
// the flat state must agree with.
func trieOnly(t *testing.T, c *Chain, root common.Hash) *state.StateDB {
	t.Helper()
	st, err := state.New(root, state.NewMPTDatabase(c.triedb, nil))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkFlat asserts that the head has a flat layer and that every account
// and slot the blocks touched reads the same through it as through the
// trie, and that the flat state, once generated, hashes to the head root.
func checkFlat(t *testing.T, c *Chain, accounts []common.Address) {
	t.Helper()
	root := c.CurrentHeader().Root
	snap := c.flat.tree.Snapshot(root)
	if snap == nil {
		t.Fatalf("no flat layer for the head root %s", root)
	}
	// A regenerating flat state answers "not covered yet" until its
	// generator has passed a key: wait for it to verify first.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.flat.tree.Verify(root)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flat state does not verify against root %s: %v", root, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	flat, err := c.StateAt(root)
	if err != nil {
		t.Fatal(err)
	}
	ref := trieOnly(t, c, root)
	for _, a := range accounts {
		if flat.GetBalance(a).Cmp(ref.GetBalance(a)) != 0 || flat.GetNonce(a) != ref.GetNonce(a) || flat.GetCodeHash(a) != ref.GetCodeHash(a) {
			t.Errorf("account %s: flat state and trie differ", a)
		}
		if flat.GetState(a, common.Hash{}) != ref.GetState(a, common.Hash{}) {
			t.Errorf("slot 0 of %s: flat state and trie differ", a)
		}
		// The account is answered by the flat state itself, not by the
		// trie behind it.
		acct, err := snap.Account(crypto.Keccak256Hash(a[:]))
		if err != nil {
			t.Errorf("flat state cannot answer %s: %v", a, err)
		} else if ref.Exist(a) != (acct != nil) {
			t.Errorf("flat state has %s: %v, trie: %v", a, acct != nil, ref.Exist(a))
		}
	}
}

// The leader's and a follower's flat state follow every block (the
// follower's from the entry's flat change, without executing), flatten old
// layers to disk and agree with the trie; after a restart the journal
// brings the layers back.
func TestFlatStateFollowsTheChain(t *testing.T) {
	leader, _ := newTestService(t)
	follower, _ := newTestService(t)
	var nonce uint64
	var touched []common.Address
	touched = append(touched, addrA, leader.chain.spec.Coco.Coinbase)
	for n := uint64(1); n <= flatTestBlocks; n++ {
		txs := flatBlockTxs(t, n, &nonce)
		for _, tx := range txs {
			if tx.To() != nil {
				touched = append(touched, *tx.To())
			} else {
				touched = append(touched, crypto.CreateAddress(addrA, tx.Nonce()))
			}
		}
		b, entry := buildAndCommit(t, leader, txs)
		if len(b.block.Transactions()) != len(txs) {
			t.Fatalf("block %d: %d of %d txs included: %v", n, len(b.block.Transactions()), len(txs), b.rejected)
		}
		if len(b.writes.Accounts) == 0 {
			t.Fatalf("block %d: write set carries no flat change", n)
		}
		if err := follower.fsm.Apply(n, entry); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*Chain{"leader": leader.chain, "follower": follower.chain} {
		t.Run(name, func(t *testing.T) {
			checkFlat(t, c, touched)
			if disk := c.flat.tree.DiskRoot(); disk == c.genesis.Root() {
				t.Errorf("no layer was flattened to disk after %d blocks", flatTestBlocks)
			}
		})
	}
	// Restart the follower's chain on the same database.
	c := follower.chain
	db := c.db
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := NewChain(db, ChainConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	if gen, _ := reopened.flat.tree.Snapshot(reopened.CurrentHeader().Root).(interface{ Root() common.Hash }); gen == nil {
		t.Fatal("the journal did not bring the head's flat layer back")
	}
	checkFlat(t, reopened, touched)
}

// Entries of the first format carry no flat change: a follower then reads
// through the trie, right if slower, and regenerates its flat state when
// entries with the change arrive again.
func TestFlatStateWithoutFlatChanges(t *testing.T) {
	leader, _ := newTestService(t)
	follower, _ := newTestService(t)
	var nonce uint64
	touched := []common.Address{addrA}
	for n := uint64(1); n <= 6; n++ {
		txs := flatBlockTxs(t, n, &nonce)
		touched = append(touched, *txs[0].To())
		_, entry := buildAndCommit(t, leader, txs)
		if n <= 3 {
			entry = asFirstFormat(t, entry)
		}
		if err := follower.fsm.Apply(n, entry); err != nil {
			t.Fatal(err)
		}
		c := follower.chain
		root := c.CurrentHeader().Root
		if n <= 3 && c.flat.tree.Snapshot(root) != nil {
			t.Fatalf("block %d: flat layer without a flat change", n)
		}
		flat, _ := c.StateAt(root)
		ref := trieOnly(t, c, root)
		for _, a := range touched {
			if flat.GetBalance(a).Cmp(ref.GetBalance(a)) != 0 || flat.GetNonce(a) != ref.GetNonce(a) {
				t.Fatalf("block %d: %s reads differently from the trie", n, a)
			}
		}
	}
	checkFlat(t, follower.chain, touched)
}

// asFirstFormat rewrites a block entry as entryBlockV1, without the flat
// change.
func asFirstFormat(t *testing.T, entry []byte) []byte {
	t.Helper()
	var e blockEntry
	if err := rlp.DecodeBytes(entry[entryHeaderLen:], &e); err != nil {
		t.Fatal(err)
	}
	e.Accounts, e.Storage = nil, nil
	body, err := rlp.EncodeToBytes(&e)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{entryBlockV1}, entry[1:entryHeaderLen]...)
	return append(out, body...)
}
