package ethapi

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// The expected JSON in these tests was produced by go-ethereum v1.17.10's own
// internal/ethapi functions (RPCMarshalHeader, RPCMarshalBlock,
// newRPCTransaction, NewRPCPendingTransaction, MarshalReceipt) on the same
// fixtures, and is compared byte for byte, key order included.

const rpctGwei = 1_000_000_000

// rpctConfig is a chain with every fork up to Prague active from genesis.
func rpctConfig() *params.ChainConfig {
	zero := uint64(0)
	return &params.ChainConfig{
		ChainID:                 big.NewInt(1337),
		HomesteadBlock:          big.NewInt(0),
		EIP150Block:             big.NewInt(0),
		EIP155Block:             big.NewInt(0),
		EIP158Block:             big.NewInt(0),
		ByzantiumBlock:          big.NewInt(0),
		ConstantinopleBlock:     big.NewInt(0),
		PetersburgBlock:         big.NewInt(0),
		IstanbulBlock:           big.NewInt(0),
		MuirGlacierBlock:        big.NewInt(0),
		BerlinBlock:             big.NewInt(0),
		LondonBlock:             big.NewInt(0),
		ArrowGlacierBlock:       big.NewInt(0),
		GrayGlacierBlock:        big.NewInt(0),
		MergeNetsplitBlock:      big.NewInt(0),
		TerminalTotalDifficulty: big.NewInt(0),
		ShanghaiTime:            &zero,
		CancunTime:              &zero,
		PragueTime:              &zero,
		BlobScheduleConfig: &params.BlobScheduleConfig{
			Cancun: params.DefaultCancunBlobConfig,
			Prague: params.DefaultPragueBlobConfig,
		},
	}
}

var (
	// Well-known development keys (the first two accounts of Hardhat/Anvil).
	rpctKey1, _ = crypto.HexToECDSA("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
	rpctKey2, _ = crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")

	rpctTo       = common.HexToAddress("0x00000000000000000000000000000000000000aa")
	rpctDelegate = common.HexToAddress("0x00000000000000000000000000000000000000bb")
	rpctCoinbase = common.HexToAddress("0x00000000000000000000000000000000000000cc")
)

// rpctTxs returns one signed transaction of each kind: legacy transfer,
// legacy contract creation, access list, dynamic fee, blob and set code.
func rpctTxs(t testing.TB) []*types.Transaction {
	t.Helper()
	cfg := rpctConfig()
	signer := types.LatestSigner(cfg)
	auth, err := types.SignSetCode(rpctKey2, types.SetCodeAuthorization{
		ChainID: *uint256.NewInt(1337),
		Address: rpctDelegate,
		Nonce:   9,
	})
	if err != nil {
		t.Fatal(err)
	}
	acl := types.AccessList{{
		Address:     rpctTo,
		StorageKeys: []common.Hash{common.HexToHash("0x01"), common.HexToHash("0x02")},
	}}
	datas := []types.TxData{
		&types.LegacyTx{Nonce: 0, GasPrice: big.NewInt(2 * rpctGwei), Gas: 21000, To: &rpctTo, Value: big.NewInt(1e18)},
		&types.LegacyTx{Nonce: 1, GasPrice: big.NewInt(2 * rpctGwei), Gas: 100000, Value: big.NewInt(0),
			Data: common.FromHex("0x6080604052348015600f57600080fd5b50")},
		&types.AccessListTx{ChainID: big.NewInt(1337), Nonce: 2, GasPrice: big.NewInt(3 * rpctGwei), Gas: 50000,
			To: &rpctTo, Value: big.NewInt(5), Data: common.FromHex("0x01020304"), AccessList: acl},
		&types.DynamicFeeTx{ChainID: big.NewInt(1337), Nonce: 3, GasTipCap: big.NewInt(1 * rpctGwei), GasFeeCap: big.NewInt(10 * rpctGwei),
			Gas: 60000, To: &rpctTo, Value: big.NewInt(0), Data: common.FromHex("0xa9059cbb")},
		&types.BlobTx{ChainID: uint256.NewInt(1337), Nonce: 4, GasTipCap: uint256.NewInt(2 * rpctGwei), GasFeeCap: uint256.NewInt(8 * rpctGwei),
			Gas: 21000, To: rpctTo, Value: uint256.NewInt(0), BlobFeeCap: uint256.NewInt(3),
			BlobHashes: []common.Hash{common.HexToHash("0x0100000000000000000000000000000000000000000000000000000000000001")}},
		&types.SetCodeTx{ChainID: uint256.NewInt(1337), Nonce: 5, GasTipCap: uint256.NewInt(3 * rpctGwei), GasFeeCap: uint256.NewInt(9 * rpctGwei),
			Gas: 80000, To: rpctTo, Value: uint256.NewInt(0), AuthList: []types.SetCodeAuthorization{auth}},
	}
	txs := make([]*types.Transaction, len(datas))
	for i, d := range datas {
		txs[i] = types.MustSignNewTx(rpctKey1, signer, d)
	}
	return txs
}

// rpctHeader is a Prague header carrying every optional field.
func rpctHeader() *types.Header {
	blobGasUsed, excessBlobGas := uint64(131072), uint64(393216)
	beaconRoot := common.HexToHash("0xbeac")
	requestsHash := common.HexToHash("0x4e91")
	withdrawalsHash := types.EmptyWithdrawalsHash
	return &types.Header{
		ParentHash:       common.HexToHash("0x1111"),
		UncleHash:        types.EmptyUncleHash,
		Coinbase:         rpctCoinbase,
		Root:             common.HexToHash("0x2222"),
		TxHash:           types.EmptyTxsHash,
		ReceiptHash:      types.EmptyReceiptsHash,
		Difficulty:       big.NewInt(0),
		Number:           big.NewInt(7),
		GasLimit:         30_000_000,
		GasUsed:          21000,
		Time:             1_700_000_000,
		Extra:            []byte("coco"),
		MixDigest:        common.HexToHash("0x3333"),
		BaseFee:          big.NewInt(7 * rpctGwei),
		WithdrawalsHash:  &withdrawalsHash,
		BlobGasUsed:      &blobGasUsed,
		ExcessBlobGas:    &excessBlobGas,
		ParentBeaconRoot: &beaconRoot,
		RequestsHash:     &requestsHash,
	}
}

// rpctBlock is block 7 holding rpctTxs, one withdrawal and their receipts
// (completed by DeriveFields as the chain store does).
func rpctBlock(t testing.TB) (*types.Block, types.Receipts) {
	t.Helper()
	txs := rpctTxs(t)
	gasUsed := []uint64{21000, 53000, 30000, 45000, 21000, 50000}
	receipts := make(types.Receipts, len(txs))
	var cumulative uint64
	for i, tx := range txs {
		cumulative += gasUsed[i]
		receipts[i] = &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: cumulative}
	}
	receipts[2].Status = types.ReceiptStatusFailed
	receipts[3].Logs = []*types.Log{{
		Address: rpctTo,
		Topics: []common.Hash{
			common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"),
			common.BytesToHash(crypto.PubkeyToAddress(rpctKey1.PublicKey).Bytes()),
		},
		Data: common.FromHex("0x00000000000000000000000000000000000000000000000000000000000003e8"),
	}}
	for _, r := range receipts {
		r.Bloom = types.CreateBloom(r)
	}
	header := rpctHeader()
	header.GasUsed = cumulative
	body := &types.Body{
		Transactions: txs,
		Withdrawals:  []*types.Withdrawal{{Index: 3, Validator: 11, Address: rpctCoinbase, Amount: 32}},
	}
	block := types.NewBlock(header, body, receipts, trie.NewStackTrie(nil))
	blobGasPrice := big.NewInt(1)
	if err := receipts.DeriveFields(rpctConfig(), block.Hash(), block.NumberU64(), block.Time(), block.BaseFee(), blobGasPrice, txs); err != nil {
		t.Fatal(err)
	}
	return block, receipts
}

// rpctAssertJSON marshals have and compares it byte for byte with want
// (whitespace in want is insignificant).
func rpctAssertJSON(t *testing.T, have any, want string) {
	t.Helper()
	got, err := json.Marshal(have)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var exp bytes.Buffer
	if err := json.Compact(&exp, []byte(want)); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !bytes.Equal(got, exp.Bytes()) {
		var pretty bytes.Buffer
		json.Indent(&pretty, got, "", "  ")
		t.Errorf("JSON mismatch\nhave: %s\nwant: %s", pretty.String(), want)
	}
}

func TestRPCMarshalHeader(t *testing.T) {
	rpctAssertJSON(t, rpcMarshalHeader(rpctHeader()), `
		{
			"baseFeePerGas": "0x1a13b8600",
			"blobGasUsed": "0x20000",
			"difficulty": "0x0",
			"excessBlobGas": "0x60000",
			"extraData": "0x636f636f",
			"gasLimit": "0x1c9c380",
			"gasUsed": "0x5208",
			"hash": "0xe0f518ddd2fa1640b098e76d1119120b5f1b9d2edd40e2177073d020a0f22ba4",
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"miner": "0x00000000000000000000000000000000000000cc",
			"mixHash": "0x0000000000000000000000000000000000000000000000000000000000003333",
			"nonce": "0x0000000000000000",
			"number": "0x7",
			"parentBeaconBlockRoot": "0x000000000000000000000000000000000000000000000000000000000000beac",
			"parentHash": "0x0000000000000000000000000000000000000000000000000000000000001111",
			"receiptsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
			"requestsHash": "0x0000000000000000000000000000000000000000000000000000000000004e91",
			"sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
			"stateRoot": "0x0000000000000000000000000000000000000000000000000000000000002222",
			"timestamp": "0x6553f100",
			"transactionsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
			"withdrawalsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
		}
	`)
}

func TestRPCMarshalBlock(t *testing.T) {
	block, _ := rpctBlock(t)
	cfg := rpctConfig()
	t.Run("no transactions", func(t *testing.T) {
		rpctAssertJSON(t, rpcMarshalBlock(block, false, false, cfg), `
		{
			"baseFeePerGas": "0x1a13b8600",
			"blobGasUsed": "0x20000",
			"difficulty": "0x0",
			"excessBlobGas": "0x60000",
			"extraData": "0x636f636f",
			"gasLimit": "0x1c9c380",
			"gasUsed": "0x35b60",
			"hash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000008000000000000000000400000000000000000000000000000000000000000000100000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000002000000200000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"miner": "0x00000000000000000000000000000000000000cc",
			"mixHash": "0x0000000000000000000000000000000000000000000000000000000000003333",
			"nonce": "0x0000000000000000",
			"number": "0x7",
			"parentBeaconBlockRoot": "0x000000000000000000000000000000000000000000000000000000000000beac",
			"parentHash": "0x0000000000000000000000000000000000000000000000000000000000001111",
			"receiptsRoot": "0x84cfe4cef7e276525d12bfc03f2c357d1603826c146b2a84ea53c4d3fc435fb6",
			"requestsHash": "0x0000000000000000000000000000000000000000000000000000000000004e91",
			"sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
			"size": "0x60f",
			"stateRoot": "0x0000000000000000000000000000000000000000000000000000000000002222",
			"timestamp": "0x6553f100",
			"transactionsRoot": "0xbeeeee7bf06dadd0d4ee8da11a97c57985dd8dc22650c4d25519288d66a60e12",
			"uncles": [],
			"withdrawals": [
				{
					"index": "0x3",
					"validatorIndex": "0xb",
					"address": "0x00000000000000000000000000000000000000cc",
					"amount": "0x20"
				}
			],
			"withdrawalsRoot": "0x012426e4d036d4b99ae9aebedf908216bc9d783cad2339570962c5344510d740"
		}
		`)
	})
	t.Run("transaction hashes", func(t *testing.T) {
		rpctAssertJSON(t, rpcMarshalBlock(block, true, false, cfg), `
		{
			"baseFeePerGas": "0x1a13b8600",
			"blobGasUsed": "0x20000",
			"difficulty": "0x0",
			"excessBlobGas": "0x60000",
			"extraData": "0x636f636f",
			"gasLimit": "0x1c9c380",
			"gasUsed": "0x35b60",
			"hash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000008000000000000000000400000000000000000000000000000000000000000000100000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000002000000200000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"miner": "0x00000000000000000000000000000000000000cc",
			"mixHash": "0x0000000000000000000000000000000000000000000000000000000000003333",
			"nonce": "0x0000000000000000",
			"number": "0x7",
			"parentBeaconBlockRoot": "0x000000000000000000000000000000000000000000000000000000000000beac",
			"parentHash": "0x0000000000000000000000000000000000000000000000000000000000001111",
			"receiptsRoot": "0x84cfe4cef7e276525d12bfc03f2c357d1603826c146b2a84ea53c4d3fc435fb6",
			"requestsHash": "0x0000000000000000000000000000000000000000000000000000000000004e91",
			"sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
			"size": "0x60f",
			"stateRoot": "0x0000000000000000000000000000000000000000000000000000000000002222",
			"timestamp": "0x6553f100",
			"transactions": [
				"0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
				"0xaa57d66e47889c04e59ebd2dcc5b8a0c58dfe34c6f36618911aaf704502f2de4",
				"0x1ed57c928776f24552eb486da9f8a55383b758b44014bd72f6c71c99e8478067",
				"0x0d93ed736243278e78fe32004ca90c3de1319b3a12b1de8827f178082008beba",
				"0xf9750e0ce533ea6b5aca0a6d4f21a511b667d76ee52b4cc0157dda9ce2b5deee",
				"0x2fe845aaac3f4cb472d1921397b6e362aa9afb27be6494425bf00d42ca882249"
			],
			"transactionsRoot": "0xbeeeee7bf06dadd0d4ee8da11a97c57985dd8dc22650c4d25519288d66a60e12",
			"uncles": [],
			"withdrawals": [
				{
					"index": "0x3",
					"validatorIndex": "0xb",
					"address": "0x00000000000000000000000000000000000000cc",
					"amount": "0x20"
				}
			],
			"withdrawalsRoot": "0x012426e4d036d4b99ae9aebedf908216bc9d783cad2339570962c5344510d740"
		}
		`)
	})
	t.Run("full transactions", func(t *testing.T) {
		rpctAssertJSON(t, rpcMarshalBlock(block, true, true, cfg), `
		{
			"baseFeePerGas": "0x1a13b8600",
			"blobGasUsed": "0x20000",
			"difficulty": "0x0",
			"excessBlobGas": "0x60000",
			"extraData": "0x636f636f",
			"gasLimit": "0x1c9c380",
			"gasUsed": "0x35b60",
			"hash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000008000000000000000000400000000000000000000000000000000000000000000100000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000002000000200000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"miner": "0x00000000000000000000000000000000000000cc",
			"mixHash": "0x0000000000000000000000000000000000000000000000000000000000003333",
			"nonce": "0x0000000000000000",
			"number": "0x7",
			"parentBeaconBlockRoot": "0x000000000000000000000000000000000000000000000000000000000000beac",
			"parentHash": "0x0000000000000000000000000000000000000000000000000000000000001111",
			"receiptsRoot": "0x84cfe4cef7e276525d12bfc03f2c357d1603826c146b2a84ea53c4d3fc435fb6",
			"requestsHash": "0x0000000000000000000000000000000000000000000000000000000000004e91",
			"sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
			"size": "0x60f",
			"stateRoot": "0x0000000000000000000000000000000000000000000000000000000000002222",
			"timestamp": "0x6553f100",
			"transactions": [
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0x5208",
					"gasPrice": "0x77359400",
					"hash": "0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
					"input": "0x",
					"nonce": "0x0",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x0",
					"value": "0xde0b6b3a7640000",
					"type": "0x0",
					"chainId": "0x539",
					"v": "0xa96",
					"r": "0x756ead58ef597e2f4c903da6d87575d5ec80b353198c9e73aaf2737b1b183e52",
					"s": "0x4175820dc9abbb210797e0ff6465228003d903631c8d63c84e82426f3e99075f"
				},
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0x186a0",
					"gasPrice": "0x77359400",
					"hash": "0xaa57d66e47889c04e59ebd2dcc5b8a0c58dfe34c6f36618911aaf704502f2de4",
					"input": "0x6080604052348015600f57600080fd5b50",
					"nonce": "0x1",
					"to": null,
					"transactionIndex": "0x1",
					"value": "0x0",
					"type": "0x0",
					"chainId": "0x539",
					"v": "0xa96",
					"r": "0xd7012860e3bd5c8ed5cbfba5391223d6e770870facf681873b5a2f9a4a16d0e2",
					"s": "0x52cc8fdf264fdacaa33149361e3fa69147203f1f4be2de0f63bea17f8be9ddf7"
				},
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0xc350",
					"gasPrice": "0xb2d05e00",
					"hash": "0x1ed57c928776f24552eb486da9f8a55383b758b44014bd72f6c71c99e8478067",
					"input": "0x01020304",
					"nonce": "0x2",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x2",
					"value": "0x5",
					"type": "0x1",
					"accessList": [
						{
							"address": "0x00000000000000000000000000000000000000aa",
							"storageKeys": [
								"0x0000000000000000000000000000000000000000000000000000000000000001",
								"0x0000000000000000000000000000000000000000000000000000000000000002"
							]
						}
					],
					"chainId": "0x539",
					"v": "0x0",
					"r": "0xfbff30848e4232ddd6643fb1b9719273692e935bdbdbaefe6facace624a12f6e",
					"s": "0x1954c1572947d0c6997c0def5afe1d2924727b9bc74d5bac0fa33b15ee616074",
					"yParity": "0x0"
				},
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0xea60",
					"gasPrice": "0x1dcd65000",
					"maxFeePerGas": "0x2540be400",
					"maxPriorityFeePerGas": "0x3b9aca00",
					"hash": "0x0d93ed736243278e78fe32004ca90c3de1319b3a12b1de8827f178082008beba",
					"input": "0xa9059cbb",
					"nonce": "0x3",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x3",
					"value": "0x0",
					"type": "0x2",
					"accessList": [],
					"chainId": "0x539",
					"v": "0x1",
					"r": "0x3d3a8c7bdc4844a720e4f21dc331c89e293411fff6b28558145fa1212e271999",
					"s": "0x661f4763b8f49c69218cf73bf0681a4de9a4103ce8036cf0d1724ad38c08f9b9",
					"yParity": "0x1"
				},
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0x5208",
					"gasPrice": "0x1dcd65000",
					"maxFeePerGas": "0x1dcd65000",
					"maxPriorityFeePerGas": "0x77359400",
					"maxFeePerBlobGas": "0x3",
					"hash": "0xf9750e0ce533ea6b5aca0a6d4f21a511b667d76ee52b4cc0157dda9ce2b5deee",
					"input": "0x",
					"nonce": "0x4",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x4",
					"value": "0x0",
					"type": "0x3",
					"accessList": [],
					"chainId": "0x539",
					"blobVersionedHashes": [
						"0x0100000000000000000000000000000000000000000000000000000000000001"
					],
					"v": "0x0",
					"r": "0x9a394e9baaadea37b78514ac68d40028d4c83eb069b15f37d438af2c676a3678",
					"s": "0x4e1887c345bede7e13a373e20ff7829810cbbeb34e7db8e421fdacc0168e3875",
					"yParity": "0x0"
				},
				{
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockNumber": "0x7",
					"blockTimestamp": "0x6553f100",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0x13880",
					"gasPrice": "0x218711a00",
					"maxFeePerGas": "0x218711a00",
					"maxPriorityFeePerGas": "0xb2d05e00",
					"hash": "0x2fe845aaac3f4cb472d1921397b6e362aa9afb27be6494425bf00d42ca882249",
					"input": "0x",
					"nonce": "0x5",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x5",
					"value": "0x0",
					"type": "0x4",
					"accessList": [],
					"chainId": "0x539",
					"authorizationList": [
						{
							"chainId": "0x539",
							"address": "0x00000000000000000000000000000000000000bb",
							"nonce": "0x9",
							"yParity": "0x0",
							"r": "0xa0871252657589e254102fed8c35345f8f7482396a571bf25fbf08cab130d9fd",
							"s": "0x5b85d4c1fd459f8b357ad87865b79fcf333a7b84d7e6a61563175940ad42e6d"
						}
					],
					"v": "0x0",
					"r": "0x7a1f76590a55c1035166093e92aeef0c18ef1dcc9c10c3bdbc8ec636601326f",
					"s": "0x367747dc2ad05f06bf344e3d77cc89e1632190c292e6c76c4333c85e02b2d386",
					"yParity": "0x0"
				}
			],
			"transactionsRoot": "0xbeeeee7bf06dadd0d4ee8da11a97c57985dd8dc22650c4d25519288d66a60e12",
			"uncles": [],
			"withdrawals": [
				{
					"index": "0x3",
					"validatorIndex": "0xb",
					"address": "0x00000000000000000000000000000000000000cc",
					"amount": "0x20"
				}
			],
			"withdrawalsRoot": "0x012426e4d036d4b99ae9aebedf908216bc9d783cad2339570962c5344510d740"
		}
		`)
	})
}

// A pre-London proof-of-work block: no baseFeePerGas, no withdrawals, one
// uncle hash, an EIP-155 legacy transaction.
func TestRPCMarshalBlockPreLondonWithUncle(t *testing.T) {
	block, _ := rpctBlock(t)
	old := &types.Header{Number: big.NewInt(100), Difficulty: big.NewInt(131072), GasLimit: 8_000_000, Time: 1_500_000_000}
	uncle := &types.Header{Number: big.NewInt(99), Difficulty: big.NewInt(131072), GasLimit: 8_000_000, Time: 1_499_999_990}
	oldBlock := types.NewBlock(old, &types.Body{Transactions: block.Transactions()[:1], Uncles: []*types.Header{uncle}}, nil, trie.NewStackTrie(nil))
	rpctAssertJSON(t, rpcMarshalBlock(oldBlock, true, true, rpctConfig()), `
		{
			"difficulty": "0x20000",
			"extraData": "0x",
			"gasLimit": "0x7a1200",
			"gasUsed": "0x0",
			"hash": "0x65d3322f3e9a517de85fbd3222f7ad1503c6cb4e76e38f190a9f17d442306cff",
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"miner": "0x0000000000000000000000000000000000000000",
			"mixHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
			"nonce": "0x0000000000000000",
			"number": "0x64",
			"parentHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
			"receiptsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
			"sha3Uncles": "0x776d1588fb5f5b57b90a881345f6e69017dda9b129509313550638e7eb31892e",
			"size": "0x46b",
			"stateRoot": "0x0000000000000000000000000000000000000000000000000000000000000000",
			"timestamp": "0x59682f00",
			"transactions": [
				{
					"blockHash": "0x65d3322f3e9a517de85fbd3222f7ad1503c6cb4e76e38f190a9f17d442306cff",
					"blockNumber": "0x64",
					"blockTimestamp": "0x59682f00",
					"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
					"gas": "0x5208",
					"gasPrice": "0x77359400",
					"hash": "0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
					"input": "0x",
					"nonce": "0x0",
					"to": "0x00000000000000000000000000000000000000aa",
					"transactionIndex": "0x0",
					"value": "0xde0b6b3a7640000",
					"type": "0x0",
					"chainId": "0x539",
					"v": "0xa96",
					"r": "0x756ead58ef597e2f4c903da6d87575d5ec80b353198c9e73aaf2737b1b183e52",
					"s": "0x4175820dc9abbb210797e0ff6465228003d903631c8d63c84e82426f3e99075f"
				}
			],
			"transactionsRoot": "0xdfb7b8022d678844c6e786743a96080808c9d55b8561b51934b9b90c20e64b75",
			"uncles": [
				"0x787fd9e06c2d4bfc6f572470acd035f7497939df5f36da844727ead2a47a44a5"
			]
		}
	`)
}

func TestNewRPCPendingTransaction(t *testing.T) {
	block, _ := rpctBlock(t)
	txs := block.Transactions()
	head := block.Header()
	cfg := rpctConfig()
	want := []string{
		// legacy transfer
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0x5208",
			"gasPrice": "0x77359400",
			"hash": "0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
			"input": "0x",
			"nonce": "0x0",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionIndex": null,
			"value": "0xde0b6b3a7640000",
			"type": "0x0",
			"chainId": "0x539",
			"v": "0xa96",
			"r": "0x756ead58ef597e2f4c903da6d87575d5ec80b353198c9e73aaf2737b1b183e52",
			"s": "0x4175820dc9abbb210797e0ff6465228003d903631c8d63c84e82426f3e99075f"
		}
		`,
		// legacy contract creation
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0x186a0",
			"gasPrice": "0x77359400",
			"hash": "0xaa57d66e47889c04e59ebd2dcc5b8a0c58dfe34c6f36618911aaf704502f2de4",
			"input": "0x6080604052348015600f57600080fd5b50",
			"nonce": "0x1",
			"to": null,
			"transactionIndex": null,
			"value": "0x0",
			"type": "0x0",
			"chainId": "0x539",
			"v": "0xa96",
			"r": "0xd7012860e3bd5c8ed5cbfba5391223d6e770870facf681873b5a2f9a4a16d0e2",
			"s": "0x52cc8fdf264fdacaa33149361e3fa69147203f1f4be2de0f63bea17f8be9ddf7"
		}
		`,
		// access list
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0xc350",
			"gasPrice": "0xb2d05e00",
			"hash": "0x1ed57c928776f24552eb486da9f8a55383b758b44014bd72f6c71c99e8478067",
			"input": "0x01020304",
			"nonce": "0x2",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionIndex": null,
			"value": "0x5",
			"type": "0x1",
			"accessList": [
				{
					"address": "0x00000000000000000000000000000000000000aa",
					"storageKeys": [
						"0x0000000000000000000000000000000000000000000000000000000000000001",
						"0x0000000000000000000000000000000000000000000000000000000000000002"
					]
				}
			],
			"chainId": "0x539",
			"v": "0x0",
			"r": "0xfbff30848e4232ddd6643fb1b9719273692e935bdbdbaefe6facace624a12f6e",
			"s": "0x1954c1572947d0c6997c0def5afe1d2924727b9bc74d5bac0fa33b15ee616074",
			"yParity": "0x0"
		}
		`,
		// dynamic fee
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0xea60",
			"gasPrice": "0x2540be400",
			"maxFeePerGas": "0x2540be400",
			"maxPriorityFeePerGas": "0x3b9aca00",
			"hash": "0x0d93ed736243278e78fe32004ca90c3de1319b3a12b1de8827f178082008beba",
			"input": "0xa9059cbb",
			"nonce": "0x3",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionIndex": null,
			"value": "0x0",
			"type": "0x2",
			"accessList": [],
			"chainId": "0x539",
			"v": "0x1",
			"r": "0x3d3a8c7bdc4844a720e4f21dc331c89e293411fff6b28558145fa1212e271999",
			"s": "0x661f4763b8f49c69218cf73bf0681a4de9a4103ce8036cf0d1724ad38c08f9b9",
			"yParity": "0x1"
		}
		`,
		// blob
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0x5208",
			"gasPrice": "0x1dcd65000",
			"maxFeePerGas": "0x1dcd65000",
			"maxPriorityFeePerGas": "0x77359400",
			"maxFeePerBlobGas": "0x3",
			"hash": "0xf9750e0ce533ea6b5aca0a6d4f21a511b667d76ee52b4cc0157dda9ce2b5deee",
			"input": "0x",
			"nonce": "0x4",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionIndex": null,
			"value": "0x0",
			"type": "0x3",
			"accessList": [],
			"chainId": "0x539",
			"blobVersionedHashes": [
				"0x0100000000000000000000000000000000000000000000000000000000000001"
			],
			"v": "0x0",
			"r": "0x9a394e9baaadea37b78514ac68d40028d4c83eb069b15f37d438af2c676a3678",
			"s": "0x4e1887c345bede7e13a373e20ff7829810cbbeb34e7db8e421fdacc0168e3875",
			"yParity": "0x0"
		}
		`,
		// set code
		`
		{
			"blockHash": null,
			"blockNumber": null,
			"blockTimestamp": null,
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gas": "0x13880",
			"gasPrice": "0x218711a00",
			"maxFeePerGas": "0x218711a00",
			"maxPriorityFeePerGas": "0xb2d05e00",
			"hash": "0x2fe845aaac3f4cb472d1921397b6e362aa9afb27be6494425bf00d42ca882249",
			"input": "0x",
			"nonce": "0x5",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionIndex": null,
			"value": "0x0",
			"type": "0x4",
			"accessList": [],
			"chainId": "0x539",
			"authorizationList": [
				{
					"chainId": "0x539",
					"address": "0x00000000000000000000000000000000000000bb",
					"nonce": "0x9",
					"yParity": "0x0",
					"r": "0xa0871252657589e254102fed8c35345f8f7482396a571bf25fbf08cab130d9fd",
					"s": "0x5b85d4c1fd459f8b357ad87865b79fcf333a7b84d7e6a61563175940ad42e6d"
				}
			],
			"v": "0x0",
			"r": "0x7a1f76590a55c1035166093e92aeef0c18ef1dcc9c10c3bdbc8ec636601326f",
			"s": "0x367747dc2ad05f06bf344e3d77cc89e1632190c292e6c76c4333c85e02b2d386",
			"yParity": "0x0"
		}
		`,
	}
	for i, tx := range txs {
		rpctAssertJSON(t, newRPCPendingTransaction(tx, head, cfg), want[i])
	}
}

func TestMarshalReceipt(t *testing.T) {
	block, receipts := rpctBlock(t)
	txs := block.Transactions()
	signer := types.MakeSigner(rpctConfig(), block.Number(), block.Time())
	want := []string{
		// legacy transfer: no logs gives [], contractAddress null
		`
		{
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": null,
			"cumulativeGasUsed": "0x5208",
			"effectiveGasPrice": "0x77359400",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0x5208",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x1",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
			"transactionIndex": "0x0",
			"type": "0x0"
		}
		`,
		// contract creation: contractAddress set, to null
		`
		{
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
			"cumulativeGasUsed": "0x12110",
			"effectiveGasPrice": "0x77359400",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0xcf08",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x1",
			"to": null,
			"transactionHash": "0xaa57d66e47889c04e59ebd2dcc5b8a0c58dfe34c6f36618911aaf704502f2de4",
			"transactionIndex": "0x1",
			"type": "0x0"
		}
		`,
		// access list, failed: status 0x0
		`
		{
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": null,
			"cumulativeGasUsed": "0x19640",
			"effectiveGasPrice": "0xb2d05e00",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0x7530",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x0",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0x1ed57c928776f24552eb486da9f8a55383b758b44014bd72f6c71c99e8478067",
			"transactionIndex": "0x2",
			"type": "0x1"
		}
		`,
		// dynamic fee with a log
		`
		{
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": null,
			"cumulativeGasUsed": "0x24608",
			"effectiveGasPrice": "0x1dcd65000",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0xafc8",
			"logs": [
				{
					"address": "0x00000000000000000000000000000000000000aa",
					"topics": [
						"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
						"0x000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
					],
					"data": "0x00000000000000000000000000000000000000000000000000000000000003e8",
					"blockNumber": "0x7",
					"transactionHash": "0x0d93ed736243278e78fe32004ca90c3de1319b3a12b1de8827f178082008beba",
					"transactionIndex": "0x3",
					"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
					"blockTimestamp": "0x6553f100",
					"logIndex": "0x0",
					"removed": false
				}
			],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000008000000000000000000400000000000000000000000000000000000000000000100000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000002000000200000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x1",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0x0d93ed736243278e78fe32004ca90c3de1319b3a12b1de8827f178082008beba",
			"transactionIndex": "0x3",
			"type": "0x2"
		}
		`,
		// blob: blobGasUsed and blobGasPrice
		`
		{
			"blobGasPrice": "0x1",
			"blobGasUsed": "0x20000",
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": null,
			"cumulativeGasUsed": "0x29810",
			"effectiveGasPrice": "0x1dcd65000",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0x5208",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x1",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0xf9750e0ce533ea6b5aca0a6d4f21a511b667d76ee52b4cc0157dda9ce2b5deee",
			"transactionIndex": "0x4",
			"type": "0x3"
		}
		`,
		// set code
		`
		{
			"blockHash": "0x49e66cebe973da82a6a6302261e0fa249af32e0feca23c20fe2437744e62e822",
			"blockNumber": "0x7",
			"contractAddress": null,
			"cumulativeGasUsed": "0x35b60",
			"effectiveGasPrice": "0x218711a00",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0xc350",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"status": "0x1",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0x2fe845aaac3f4cb472d1921397b6e362aa9afb27be6494425bf00d42ca882249",
			"transactionIndex": "0x5",
			"type": "0x4"
		}
		`,
	}
	for i, tx := range txs {
		rpctAssertJSON(t, marshalReceipt(receipts[i], block.Hash(), block.NumberU64(), signer, tx, i), want[i])
	}

	// A pre-Byzantium receipt reports its state root instead of a status.
	old := &types.Header{Number: big.NewInt(100), Difficulty: big.NewInt(131072), GasLimit: 8_000_000, Time: 1_500_000_000}
	uncle := &types.Header{Number: big.NewInt(99), Difficulty: big.NewInt(131072), GasLimit: 8_000_000, Time: 1_499_999_990}
	oldBlock := types.NewBlock(old, &types.Body{Transactions: txs[:1], Uncles: []*types.Header{uncle}}, nil, trie.NewStackTrie(nil))
	pre := &types.Receipt{PostState: common.HexToHash("0xabcdef").Bytes(), CumulativeGasUsed: 21000, GasUsed: 21000, EffectiveGasPrice: big.NewInt(2000000000)}
	rpctAssertJSON(t, marshalReceipt(pre, oldBlock.Hash(), 100, signer, txs[0], 0), `
		{
			"blockHash": "0x65d3322f3e9a517de85fbd3222f7ad1503c6cb4e76e38f190a9f17d442306cff",
			"blockNumber": "0x64",
			"contractAddress": null,
			"cumulativeGasUsed": "0x5208",
			"effectiveGasPrice": "0x77359400",
			"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
			"gasUsed": "0x5208",
			"logs": [],
			"logsBloom": "0x00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			"root": "0x0000000000000000000000000000000000000000000000000000000000abcdef",
			"to": "0x00000000000000000000000000000000000000aa",
			"transactionHash": "0x3f5349d6e80d146db6613813fda72895c88a55a0e112a32d4ca3de581d5542d8",
			"transactionIndex": "0x0",
			"type": "0x0"
		}
	`)
}

// gasPrice of a fee-market transaction: the price paid once mined (needs the
// block's base fee), the fee cap otherwise.
func TestNewRPCTransactionGasPrice(t *testing.T) {
	block, _ := rpctBlock(t)
	cfg := rpctConfig()
	dyn := block.Transactions()[3] // tip 1 gwei, cap 10 gwei
	legacy := block.Transactions()[0]
	hash := block.Hash()
	for _, tc := range []struct {
		name    string
		tx      *types.Transaction
		hash    common.Hash
		baseFee *big.Int
		want    string
	}{
		{"mined, tip+base below cap", dyn, hash, big.NewInt(7 * rpctGwei), "0x1dcd65000"},
		{"mined, capped", dyn, hash, big.NewInt(20 * rpctGwei), "0x2540be400"},
		{"mined, no base fee", dyn, hash, nil, "0x2540be400"},
		{"not mined", dyn, common.Hash{}, big.NewInt(7 * rpctGwei), "0x2540be400"},
		{"legacy ignores base fee", legacy, hash, big.NewInt(7 * rpctGwei), "0x77359400"},
	} {
		got := newRPCTransaction(tc.tx, tc.hash, 7, 1, 3, tc.baseFee, cfg)
		if have := got.GasPrice.String(); have != tc.want {
			t.Errorf("%s: gasPrice %s, want %s", tc.name, have, tc.want)
		}
	}
}

// A block assembled from a Shanghai header without a body withdrawal list
// still reports "withdrawals": [] (geth reads blocks from its database, where
// such a block always has a list).
func TestRPCMarshalBlockWithdrawalsFromHeader(t *testing.T) {
	block := types.NewBlockWithHeader(rpctHeader())
	out := rpcMarshalBlock(block, true, false, rpctConfig())
	got, _ := json.Marshal(map[string]any{"withdrawals": out["withdrawals"], "transactions": out["transactions"], "uncles": out["uncles"]})
	if want := `{"transactions":[],"uncles":[],"withdrawals":[]}`; string(got) != want {
		t.Errorf("have %s, want %s", got, want)
	}
	pre := types.NewBlockWithHeader(&types.Header{Number: big.NewInt(1), Difficulty: big.NewInt(1)})
	if _, ok := rpcMarshalBlock(pre, false, false, rpctConfig())["withdrawals"]; ok {
		t.Error("pre-Shanghai block has a withdrawals field")
	}
}
