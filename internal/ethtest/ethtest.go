// Package ethtest holds what the tests of the Ethereum adapter (eth) and
// of its JSON-RPC layer (ethapi) both sign and start from: test keys,
// transactions on the dev chain and a governed genesis. It imports
// neither package, so the tests inside both can use it.
package ethtest

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"testing"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Test accounts: A is the dev genesis's prefunded account; B and C are
// funded by GovernedGenesis.
var (
	KeyA, _ = crypto.HexToECDSA(genesis.DevKeyHex)
	AddrA   = crypto.PubkeyToAddress(KeyA.PublicKey)
	KeyB, _ = crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	AddrB   = crypto.PubkeyToAddress(KeyB.PublicKey)
	KeyC, _ = crypto.HexToECDSA("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3d71ba1bbfd98a9b")
	AddrC   = crypto.PubkeyToAddress(KeyC.PublicKey)
)

// Signer signs for the dev chain id.
var Signer = types.LatestSignerForChainID(big.NewInt(genesis.DevChainID))

// Fees of the test transactions: a tip of 1 gwei, a fee cap of 5 gwei.
var (
	Gwei   = big.NewInt(1e9)
	FeeCap = big.NewInt(5e9)
)

// Transfer signs a value transfer of 21,000 gas.
func Transfer(t testing.TB, key *ecdsa.PrivateKey, nonce uint64, to common.Address, value int64) *types.Transaction {
	t.Helper()
	return sign(t, key, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: Gwei, GasFeeCap: FeeCap,
		Gas: 21000, To: &to, Value: big.NewInt(value),
	})
}

// StoreCode is init code that stores 42 in slot 0 and deploys a one-byte
// runtime (STOP).
var StoreCode = common.FromHex("602a60005560016000f3")

// Create signs the deployment of StoreCode.
func Create(t testing.TB, key *ecdsa.PrivateKey, nonce uint64) *types.Transaction {
	t.Helper()
	return sign(t, key, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: Gwei, GasFeeCap: FeeCap,
		Gas: 200000, Data: StoreCode,
	})
}

// GovTx signs a call of the governance contract.
func GovTx(t testing.TB, key *ecdsa.PrivateKey, nonce uint64, method string, args ...any) *types.Transaction {
	t.Helper()
	data, err := governance.ABI().Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	to := governance.Address
	return sign(t, key, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: Gwei, GasFeeCap: FeeCap,
		Gas: 1_000_000, To: &to, Data: data,
	})
}

func sign(t testing.TB, key *ecdsa.PrivateKey, tx types.TxData) *types.Transaction {
	t.Helper()
	signed, err := types.SignNewTx(key, Signer, tx)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// GovernedGenesis is a genesis with members A, B, C (AddrA, AddrB,
// AddrC), one node, policy 2-of-3, the three members funded.
func GovernedGenesis(t testing.TB) *genesis.Spec {
	t.Helper()
	nodeKey, _ := crypto.GenerateKey()
	js := fmt.Sprintf(`{
	  "config": {"chainId": %d, "coco": {"blockTime": "20ms", "constitution": {
	    "members": [
	      {"id": "A", "accounts": ["%s"], "publicKey": "0x01"},
	      {"id": "B", "accounts": ["%s"], "publicKey": "0x02"},
	      {"id": "C", "accounts": ["%s"], "publicKey": "0x03"}],
	    "nodes": [{"id": "node1", "owner": "A", "raftAddr": "127.0.0.1:30401", "publicKey": "%#x"}],
	    "teeManifest": ["simulation"],
	    "policy": {"kind": "m-of-n", "m": 2},
	    "settings": {"proposalLifetime": 100, "epochLength": 1000, "openSending": false}}}},
	  "gasLimit": "0x3b9aca00", "baseFeePerGas": "0x3b9aca00",
	  "alloc": {"%s": {"balance": "0xffffffffffffffffffff"}, "%s": {"balance": "0xffffffffffffffffffff"}, "%s": {"balance": "0xffffffffffffffffffff"}}
	}`, genesis.DevChainID, AddrA.Hex(), AddrB.Hex(), AddrC.Hex(), crypto.FromECDSAPub(&nodeKey.PublicKey), AddrA.Hex(), AddrB.Hex(), AddrC.Hex())
	spec, err := genesis.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
