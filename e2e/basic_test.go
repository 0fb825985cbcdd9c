package e2e

import (
	"bytes"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

func TestChainIdentity(t *testing.T) {
	n := startDev(t)
	c := n.Client()
	id, err := c.ChainID(ctx(t))
	if err != nil {
		t.Fatalf("eth_chainId: %v", err)
	}
	if id.Cmp(testnode.DevChainID) != 0 {
		t.Errorf("eth_chainId = %v, want 1337", id)
	}
	netID, err := c.NetworkID(ctx(t))
	if err != nil {
		t.Fatalf("net_version: %v", err)
	}
	if netID.Uint64() != 1337 {
		t.Errorf("net_version = %v, want 1337", netID)
	}
	var version string
	if err := n.RPC().CallContext(ctx(t), &version, "web3_clientVersion"); err != nil {
		t.Fatalf("web3_clientVersion: %v", err)
	}
	if !strings.HasPrefix(version, "cocogeth/v") {
		t.Errorf("web3_clientVersion = %q, want cocogeth/v<version>/...", version)
	}
	var listening bool
	if err := n.RPC().CallContext(ctx(t), &listening, "net_listening"); err != nil {
		t.Errorf("net_listening: %v", err)
	}
	syncing, err := c.SyncProgress(ctx(t))
	if err != nil || syncing != nil {
		t.Errorf("eth_syncing = %v, %v; want false", syncing, err)
	}
	bal, err := c.BalanceAt(ctx(t), testnode.DevAddress, nil)
	if err != nil {
		t.Fatalf("eth_getBalance: %v", err)
	}
	if bal.Cmp(testnode.Ether(1000)) < 0 {
		t.Errorf("dev account balance %v, want a large prefund", bal)
	}
	head, err := c.HeaderByNumber(ctx(t), nil)
	if err != nil {
		t.Fatalf("eth_getBlockByNumber(latest): %v", err)
	}
	if head.Number.Sign() != 0 || head.BaseFee == nil {
		t.Errorf("fresh dev chain head = #%v baseFee %v, want #0 with a base fee", head.Number, head.BaseFee)
	}
}

func TestDeployContracts(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()

	tok := testcontracts.MustLoad("TestToken")
	supply := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	tokAddr, r := w.DeployTestToken(t, "Test Token", "TST", supply)
	if r.Type != types.DynamicFeeTxType {
		t.Errorf("deploy receipt type %d, want 2", r.Type)
	}
	code, err := c.CodeAt(ctx(t), tokAddr, nil)
	if err != nil {
		t.Fatalf("eth_getCode: %v", err)
	}
	if !bytes.Equal(code, tok.DeployedBytecode) {
		t.Errorf("TestToken code at %s differs from the artifact's deployedBytecode (%d vs %d bytes)", tokAddr, len(code), len(tok.DeployedBytecode))
	}
	if want := crypto.CreateAddress(testnode.DevAddress, txNonce(t, n, r.TxHash)); want != tokAddr {
		t.Errorf("contract address %s, want CREATE address %s", tokAddr, want)
	}
	for method, want := range map[string]any{
		"name": "Test Token", "symbol": "TST", "decimals": uint8(18),
	} {
		got := testnode.Call(t, c, tokAddr, tok.ABI, method)[0]
		if got != want {
			t.Errorf("%s() = %v, want %v", method, got, want)
		}
	}
	if got := testnode.Call(t, c, tokAddr, tok.ABI, "totalSupply")[0].(*big.Int); got.Cmp(supply) != 0 {
		t.Errorf("totalSupply() = %v, want %v", got, supply)
	}
	if got := testnode.Call(t, c, tokAddr, tok.ABI, "balanceOf", testnode.DevAddress)[0].(*big.Int); got.Cmp(supply) != 0 {
		t.Errorf("balanceOf(deployer) = %v, want %v", got, supply)
	}
	// The mint's Transfer(0, deployer, supply) log is in the deploy receipt.
	if len(r.Logs) != 1 || r.Logs[0].Topics[0] != tok.ABI.Events["Transfer"].ID {
		t.Errorf("deploy receipt logs = %+v, want one Transfer", r.Logs)
	}

	ev := testcontracts.MustLoad("Events")
	evAddr, _ := w.DeployEvents(t)
	code, err = c.CodeAt(ctx(t), evAddr, nil)
	if err != nil {
		t.Fatalf("eth_getCode: %v", err)
	}
	if !bytes.Equal(code, ev.DeployedBytecode) {
		t.Errorf("Events code differs from the artifact's deployedBytecode")
	}
	if got := testnode.Call(t, c, evAddr, ev.ABI, "owner")[0].(common.Address); got != testnode.DevAddress {
		t.Errorf("Events.owner() = %s, want %s", got, testnode.DevAddress)
	}
	w.Transact(t, evAddr, ev.ABI, "set", big.NewInt(5), big.NewInt(77))
	if got := testnode.Call(t, c, evAddr, ev.ABI, "get", big.NewInt(5))[0].(*big.Int); got.Int64() != 77 {
		t.Errorf("Events.get(5) = %v, want 77", got)
	}
	multi := testnode.Call(t, c, evAddr, ev.ABI, "multi")
	if len(multi) != 5 || multi[0].(*big.Int).Int64() != 77 || multi[1] != true || multi[2] != "hello" {
		t.Errorf("Events.multi() = %v, want [77 true hello ...]", multi)
	}
}

// effectivePrice computes the gas price a committed transaction paid:
// min(feeCap, baseFee+tip) of its block.
func effectivePrice(t *testing.T, n *testnode.Node, tx *types.Transaction, r *types.Receipt) *big.Int {
	t.Helper()
	h, err := n.Client().HeaderByHash(ctx(t), r.BlockHash)
	if err != nil {
		t.Fatalf("eth_getBlockByHash(%s): %v", r.BlockHash, err)
	}
	tip, err := tx.EffectiveGasTip(h.BaseFee)
	if err != nil {
		t.Fatalf("effective tip: %v", err)
	}
	return tip.Add(tip, h.BaseFee)
}

// txNonce returns the nonce of a committed transaction.
func txNonce(t *testing.T, n *testnode.Node, hash common.Hash) uint64 {
	t.Helper()
	tx, _, err := n.Client().TransactionByHash(ctx(t), hash)
	if err != nil {
		t.Fatalf("eth_getTransactionByHash(%s): %v", hash, err)
	}
	return tx.Nonce()
}

func TestTransferTxTypes(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	to := common.HexToAddress("0x00000000000000000000000000000000c0c0c0c0")

	startBal, err := c.BalanceAt(ctx(t), w.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip, feeCap := w.Fees(t)
	nonce := w.PendingNonce(t)
	txs := []*types.Transaction{
		w.Sign(t, &types.LegacyTx{Nonce: nonce, GasPrice: feeCap, Gas: params.TxGas, To: &to, Value: big.NewInt(1)}),
		w.Sign(t, &types.AccessListTx{ChainID: w.ChainID, Nonce: nonce + 1, GasPrice: feeCap, Gas: 30_000, To: &to, Value: big.NewInt(20),
			AccessList: types.AccessList{{Address: to, StorageKeys: []common.Hash{common.HexToHash("0x01")}}}}),
		w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: nonce + 2, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &to, Value: big.NewInt(300)}),
	}
	if !txs[0].Protected() || txs[0].ChainId().Cmp(w.ChainID) != 0 {
		t.Fatalf("legacy transaction is not EIP-155 protected")
	}
	spent := new(big.Int)
	for i, tx := range txs {
		r := w.SendAndWait(t, tx)
		testnode.MustSucceed(t, r, "transfer")
		if r.Type != tx.Type() {
			t.Errorf("tx %d: receipt type %d, want %d", i, r.Type, tx.Type())
		}
		if r.TxHash != tx.Hash() {
			t.Errorf("tx %d: receipt tx hash %s, want %s", i, r.TxHash, tx.Hash())
		}
		got, pending, err := c.TransactionByHash(ctx(t), tx.Hash())
		if err != nil || pending {
			t.Fatalf("tx %d: eth_getTransactionByHash: pending=%v err=%v", i, pending, err)
		}
		if got.Type() != tx.Type() || got.Hash() != tx.Hash() || got.Value().Cmp(tx.Value()) != 0 {
			t.Errorf("tx %d: eth_getTransactionByHash returned type %d hash %s, want type %d hash %s", i, got.Type(), got.Hash(), tx.Type(), tx.Hash())
		}
		if from, err := c.TransactionSender(ctx(t), got, r.BlockHash, r.TransactionIndex); err != nil || from != w.Address {
			t.Errorf("tx %d: sender %s (%v), want %s", i, from, err, w.Address)
		}
		if i == 1 && r.GasUsed != params.TxGas+params.TxAccessListAddressGas+params.TxAccessListStorageKeyGas {
			t.Errorf("EIP-2930 transfer used %d gas, want %d", r.GasUsed, params.TxGas+params.TxAccessListAddressGas+params.TxAccessListStorageKeyGas)
		}
		price := effectivePrice(t, n, tx, r)
		if r.EffectiveGasPrice == nil {
			t.Errorf("tx %d (type %d): receipt effectiveGasPrice is null, want %v", i, tx.Type(), price)
		} else if r.EffectiveGasPrice.Cmp(price) != 0 {
			t.Errorf("tx %d (type %d): receipt effectiveGasPrice %v, want %v", i, tx.Type(), r.EffectiveGasPrice, price)
		}
		fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), price)
		spent.Add(spent, fee).Add(spent, tx.Value())
	}
	bal, err := c.BalanceAt(ctx(t), to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Int64() != 321 {
		t.Errorf("recipient balance %v, want 321", bal)
	}
	endBal, err := c.BalanceAt(ctx(t), w.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := new(big.Int).Sub(startBal, endBal); d.Cmp(spent) != 0 {
		t.Errorf("sender balance fell by %v, want value+fees %v", d, spent)
	}
	if got, err := c.NonceAt(ctx(t), w.Address, nil); err != nil || got != nonce+3 {
		t.Errorf("nonce %d (%v), want %d", got, err, nonce+3)
	}
}

func TestSetCodeTx(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	ev := testcontracts.MustLoad("Events")
	evAddr, _ := w.DeployEvents(t)

	authKey, _ := crypto.GenerateKey()
	authority := crypto.PubkeyToAddress(authKey.PublicKey)
	auth, err := types.SignSetCode(authKey, types.SetCodeAuthorization{
		ChainID: *uint256.MustFromBig(w.ChainID), Address: evAddr, Nonce: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := ev.ABI.Pack("set", big.NewInt(7), big.NewInt(99))
	tip, feeCap := w.Fees(t)
	tx := w.Sign(t, &types.SetCodeTx{
		ChainID: uint256.MustFromBig(w.ChainID), Nonce: w.PendingNonce(t),
		GasTipCap: uint256.MustFromBig(tip), GasFeeCap: uint256.MustFromBig(feeCap),
		Gas: 200_000, To: authority, Data: data, AuthList: []types.SetCodeAuthorization{auth},
	})
	r := w.SendAndWait(t, tx)
	testnode.MustSucceed(t, r, "set-code transaction")
	if r.Type != types.SetCodeTxType {
		t.Errorf("receipt type %d, want 4", r.Type)
	}
	code, err := c.CodeAt(ctx(t), authority, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := types.AddressToDelegation(evAddr); !bytes.Equal(code, want) {
		t.Errorf("code of authority = %x, want delegation %x", code, want)
	}
	if nonce, _ := c.NonceAt(ctx(t), authority, nil); nonce != 1 {
		t.Errorf("authority nonce %d after the authorization, want 1", nonce)
	}
	// The call ran the delegated code in the authority's storage.
	if got := testnode.Call(t, c, authority, ev.ABI, "get", big.NewInt(7))[0].(*big.Int); got.Int64() != 99 {
		t.Errorf("authority.get(7) = %v, want 99", got)
	}
	if got := testnode.Call(t, c, evAddr, ev.ABI, "get", big.NewInt(7))[0].(*big.Int); got.Sign() != 0 {
		t.Errorf("Events.get(7) = %v, want 0 (the delegate's own storage is untouched)", got)
	}
	if len(r.Logs) != 1 || r.Logs[0].Address != authority {
		t.Errorf("set-code receipt logs %+v, want one ValueSet from the authority", r.Logs)
	}
	var rpcTx map[string]any
	if err := n.RPC().CallContext(ctx(t), &rpcTx, "eth_getTransactionByHash", tx.Hash()); err != nil {
		t.Fatal(err)
	}
	if list, ok := rpcTx["authorizationList"].([]any); !ok || len(list) != 1 {
		t.Errorf("eth_getTransactionByHash authorizationList = %v, want one entry", rpcTx["authorizationList"])
	}
}

func TestPendingNonceBackToBack(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000beef")
	start := w.PendingNonce(t)
	var hashes []common.Hash
	for i := uint64(0); i < 8; i++ {
		tx := w.DynamicTxNonce(t, start+i, &to, big.NewInt(1), params.TxGas, nil)
		w.Send(t, tx)
		hashes = append(hashes, tx.Hash())
		if got := w.PendingNonce(t); got != start+i+1 {
			t.Errorf("after sending nonce %d: pending nonce %d, want %d", start+i, got, start+i+1)
		}
	}
	for _, h := range hashes {
		testnode.MustSucceed(t, w.Wait(t, h), "back-to-back transfer")
	}
	if got, err := n.Client().NonceAt(ctx(t), w.Address, nil); err != nil || got != start+8 {
		t.Errorf("latest nonce %d (%v), want %d", got, err, start+8)
	}
	if got := w.PendingNonce(t); got != start+8 {
		t.Errorf("pending nonce after mining %d, want %d", got, start+8)
	}
}

// TestReceiptThenState checks read-your-writes: once the node has served a
// receipt, eth_blockNumber and the latest state already include its block
// (geth makes the receipt visible and moves the head in one step).
func TestReceiptThenState(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	to := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	tip, feeCap := w.Fees(t)
	nonce := w.PendingNonce(t)
	lagging := 0
	for i := int64(1); i <= 10; i++ {
		tx := w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &to, Value: big.NewInt(1)})
		nonce++
		w.Send(t, tx)
		r, err := testnode.PollReceipt(ctx(t), c, tx.Hash())
		if err != nil {
			t.Fatal(err)
		}
		head, err := c.BlockNumber(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		bal, err := c.BalanceAt(ctx(t), to, nil)
		if err != nil {
			t.Fatal(err)
		}
		if head < r.BlockNumber.Uint64() || bal.Int64() != i {
			lagging++
			if lagging <= 3 {
				t.Errorf("transfer %d: receipt in block #%v served while eth_blockNumber = #%d and the recipient's latest balance = %v (want >= #%v and %d)",
					i, r.BlockNumber, head, bal, r.BlockNumber, i)
			}
		}
		// Make the next receipt wait for a consistent head, so each round
		// starts from the same place.
		if err := testnode.WaitHead(ctx(t), c, r.BlockNumber.Uint64()); err != nil {
			t.Fatal(err)
		}
	}
	if lagging > 0 {
		t.Errorf("%d of 10 receipts were served before the head included their block", lagging)
	}
}
