package ethapi

import (
	"context"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// maxProofKeys bounds the storage keys of one eth_getProof, as geth.
const maxProofKeys = 1024

// AccountProof is the result of eth_getProof (EIP-1186), shaped as geth's.
type AccountProof struct {
	Address      common.Address `json:"address"`
	AccountProof []string       `json:"accountProof"`
	Balance      *hexutil.Big   `json:"balance"`
	CodeHash     common.Hash    `json:"codeHash"`
	Nonce        hexutil.Uint64 `json:"nonce"`
	StorageHash  common.Hash    `json:"storageHash"`
	StorageProof []SlotProof    `json:"storageProof"`
}

// SlotProof is the proof of one storage slot.
type SlotProof struct {
	Key   string       `json:"key"`
	Value *hexutil.Big `json:"value"`
	Proof []string     `json:"proof"`
}

// proofNodes collects the trie nodes of a Merkle proof as hex strings.
type proofNodes []string

func (p *proofNodes) Put(key, value []byte) error {
	*p = append(*p, hexutil.Encode(value))
	return nil
}

func (p *proofNodes) Delete(key []byte) error { return nil }

// GetProof returns the Merkle proof of an account and some of its storage
// slots at a block (EIP-1186). The state root is a real Merkle root, so the
// proofs verify against block headers like on any Ethereum chain.
func (api *EthAPI) GetProof(ctx context.Context, address common.Address, storageKeys []string, bnh *rpc.BlockNumberOrHash) (*AccountProof, error) {
	if len(storageKeys) > maxProofKeys {
		return nil, newInvalidParamsError("too many storage keys requested (max %d, got %d)", maxProofKeys, len(storageKeys))
	}
	keys := make([]common.Hash, len(storageKeys))
	outKeys := make([]string, len(storageKeys))
	for i, hexKey := range storageKeys {
		k, err := decodeStorageKey(hexKey)
		if err != nil {
			return nil, newInvalidParamsError("%v: %q", err, hexKey)
		}
		keys[i] = k
		// A 32-byte key is echoed as given; shorter ones as a quantity, as geth.
		if len(strings.TrimPrefix(strings.TrimPrefix(hexKey, "0x"), "0X")) == 64 {
			outKeys[i] = hexutil.Encode(k[:])
		} else {
			outKeys[i] = hexutil.EncodeBig(k.Big())
		}
	}
	st, header, err := api.b.StateAndHeaderByNumberOrHash(ctx, latestIfNil(bnh))
	if err != nil {
		return nil, err
	}
	if api.theGate().Confidential(ctx, st, header, address) {
		return nil, confidentialStorageError(address)
	}
	storageRoot := st.GetStorageRoot(address)
	slots := make([]SlotProof, len(keys))
	var storageTrie state.Trie
	if len(keys) > 0 && storageRoot != types.EmptyRootHash && storageRoot != (common.Hash{}) {
		if storageTrie, err = st.Database().OpenStorageTrie(header.Root, address, storageRoot, nil); err != nil {
			return nil, err
		}
	}
	for i, key := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if storageTrie == nil {
			slots[i] = SlotProof{Key: outKeys[i], Value: new(hexutil.Big), Proof: []string{}}
			continue
		}
		var proof proofNodes
		if err := storageTrie.Prove(crypto.Keccak256(key.Bytes()), &proof); err != nil {
			return nil, err
		}
		slots[i] = SlotProof{Key: outKeys[i], Value: (*hexutil.Big)(st.GetState(address, key).Big()), Proof: proof}
	}
	tr, err := st.Database().OpenTrie(header.Root)
	if err != nil {
		return nil, err
	}
	var accountProof proofNodes
	if err := tr.Prove(crypto.Keccak256(address.Bytes()), &accountProof); err != nil {
		return nil, err
	}
	return &AccountProof{
		Address:      address,
		AccountProof: accountProof,
		Balance:      (*hexutil.Big)(st.GetBalance(address).ToBig()),
		CodeHash:     st.GetCodeHash(address),
		Nonce:        hexutil.Uint64(st.GetNonce(address)),
		StorageHash:  storageRoot,
		StorageProof: slots,
	}, nil
}
