package eth

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// fwdItem encodes a forwarded transaction as a follower sends it: the raw
// transaction followed by the sender it claims.
func fwdItem(t *testing.T, tx *types.Transaction, claimed common.Address) []byte {
	t.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return append(raw, claimed.Bytes()...)
}

// newForwardService is newTestService whose chain and database are closed
// when the test ends (the service is never started).
func newForwardService(t *testing.T) *Service {
	t.Helper()
	s, db := newTestService(t)
	t.Cleanup(func() {
		s.chain.Close()
		db.Close()
	})
	return s
}

func pendingOf(s *Service, addr common.Address) []*types.Transaction {
	pending, _ := s.pool.Content()
	return pending[addr]
}

// Over an unauthenticated (plaintext) channel anyone may have sent the
// items, so the sender each claims is checked against its signature: a
// transaction signed by one key cannot be charged to another account.
func TestAddForwardedChecksClaimedSender(t *testing.T) {
	s := newForwardService(t)
	mallory, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	malloryAddr := crypto.PubkeyToAddress(mallory.PublicKey)
	forged := transfer(t, mallory, 0, recvAddr, 1e18) // claims to be the funded dev account
	misattributed := transfer(t, keyA, 0, recvAddr, 2)
	genuine := transfer(t, keyA, 0, recvAddr, 3)
	if nonce := s.pool.Nonce(addrA); nonce != 0 {
		t.Fatalf("dev account starts at pending nonce %d", nonce)
	}

	s.AddForwarded([][]byte{
		fwdItem(t, forged, addrA),
		fwdItem(t, misattributed, addrB), // a real signature, charged to another account
		addrA.Bytes(),                    // no transaction at all
		append([]byte{0xde, 0xad, 0xbe, 0xef}, addrA.Bytes()...), // not a transaction
	}, false)
	for name, tx := range map[string]*types.Transaction{"forged": forged, "misattributed": misattributed} {
		if s.pool.Get(tx.Hash()) != nil {
			t.Errorf("%s transaction admitted", name)
		}
	}
	if nonce := s.pool.Nonce(addrA); nonce != 0 {
		t.Fatalf("dev account's pending nonce is %d after refused items", nonce)
	}
	if p, q := s.pool.Stats(); p != 0 || q != 0 {
		t.Fatalf("pool holds %d pending, %d queued after refused items", p, q)
	}

	s.AddForwarded([][]byte{fwdItem(t, genuine, addrA)}, false)
	if s.pool.Get(genuine.Hash()) == nil {
		t.Fatal("correctly attributed transaction not admitted")
	}
	if nonce := s.pool.Nonce(addrA); nonce != 1 {
		t.Fatalf("dev account's pending nonce is %d, want 1", nonce)
	}
	if txs := pendingOf(s, addrA); len(txs) != 1 || txs[0].Hash() != genuine.Hash() {
		t.Fatalf("dev account's pending transactions: %v", txs)
	}
	if txs := pendingOf(s, malloryAddr); len(txs) != 0 {
		t.Fatalf("signer of the forged transaction has %d pending", len(txs))
	}
	// Forwarded again (a follower resends what was not yet included):
	// nothing changes.
	s.AddForwarded([][]byte{fwdItem(t, genuine, addrA)}, false)
	if p, q := s.pool.Stats(); p != 1 || q != 0 {
		t.Fatalf("pool holds %d pending, %d queued after a duplicate", p, q)
	}
}

// Over an authenticated channel the sender the forwarding node recovered
// is trusted without checking the signature again (each signature is
// checked once in the network). The same forged item as above is then
// charged to the account it names: this is why only a channel whose
// sender is an authenticated, admitted validating node (a mux with a
// Guard, where ServeForwarded hands the handler from != nil) may pass
// authenticated=true; a plaintext channel must pass false.
func TestAddForwardedAuthenticatedTrustsSender(t *testing.T) {
	s := newForwardService(t)
	mallory, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	forged := transfer(t, mallory, 0, recvAddr, 1e18)
	if from, _ := types.Sender(testSig, forged); from == addrA {
		t.Fatal("test transaction is signed by the dev key")
	}

	s.AddForwarded([][]byte{fwdItem(t, forged, addrA)}, true)
	if s.pool.Get(forged.Hash()) == nil {
		t.Fatal("authenticated item not admitted")
	}
	if nonce := s.pool.Nonce(addrA); nonce != 1 {
		t.Fatalf("dev account's pending nonce is %d, want 1: the claimed sender was not trusted", nonce)
	}
	if txs := pendingOf(s, addrA); len(txs) != 1 || txs[0].Hash() != forged.Hash() {
		t.Fatalf("dev account's pending transactions: %v", txs)
	}

	// A genuine item over an authenticated channel is admitted as well,
	// after the forged one that took the dev account's nonce 0.
	genuine := transfer(t, keyA, 1, recvAddr, 1)
	s.AddForwarded([][]byte{fwdItem(t, genuine, addrA)}, true)
	if s.pool.Get(genuine.Hash()) == nil {
		t.Fatal("genuine authenticated item not admitted")
	}
	if nonce := s.pool.Nonce(addrA); nonce != 2 {
		t.Fatalf("dev account's pending nonce is %d, want 2", nonce)
	}
}
