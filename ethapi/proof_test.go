package ethapi

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
)

// eth_getProof's proofs verify against the header's state root: the
// account (balance, nonce, storage root) and a storage slot.
func TestGetProofVerifies(t *testing.T) {
	s := newDevChain(t)
	b := commit(t, s, create(t, keyA, 0))
	contract := crypto.CreateAddress(addrA, 0)
	res, err := (&EthAPI{b: s.RPCBackend(), cfg: testConfig()}).GetProof(context.Background(), contract, []string{"0x0", "0x01"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(root common.Hash, key []byte, proof []string) []byte {
		db := memorydb.New()
		for _, n := range proof {
			blob := hexutil.MustDecode(n)
			db.Put(crypto.Keccak256(blob), blob)
		}
		v, err := trie.VerifyProof(root, crypto.Keccak256(key), db)
		if err != nil {
			t.Fatalf("proof does not verify: %v", err)
		}
		return v
	}
	enc := verify(b.Root(), contract.Bytes(), res.AccountProof)
	var acc types.StateAccount
	if err := rlp.DecodeBytes(enc, &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Root != res.StorageHash || acc.Nonce != uint64(res.Nonce) || acc.Balance.ToBig().Cmp(res.Balance.ToInt()) != 0 {
		t.Fatalf("proved account %+v differs from the answer %+v", acc, res)
	}
	slot := verify(res.StorageHash, common.Hash{}.Bytes(), res.StorageProof[0].Proof)
	var v []byte
	rlp.DecodeBytes(slot, &v)
	if res.StorageProof[0].Value.ToInt().Int64() != 42 || common.BytesToHash(v).Big().Int64() != 42 {
		t.Fatalf("slot 0 = %v (proved %x), want 42", res.StorageProof[0].Value, v)
	}
	if res.StorageProof[0].Key != "0x0" || res.StorageProof[1].Value.ToInt().Sign() != 0 {
		t.Fatalf("storage proof answers %+v", res.StorageProof)
	}
}
