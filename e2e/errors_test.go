package e2e

import (
	"bytes"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// revertCase is a call expected to revert with code 3.
type revertCase struct {
	name    string
	method  string
	args    []any
	from    common.Address
	message string // exact error message
	data    []byte // exact revert data
}

func TestRevertReasons(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	ev := testcontracts.MustLoad("Events")
	evAddr, _ := w.DeployEvents(t)
	stranger := common.HexToAddress("0x00000000000000000000000000000000000b0b00")

	errorString := func(s string) []byte {
		return append(common.FromHex("0x08c379a0"), packString(t, s)...)
	}
	panicCode := func(code int64) []byte {
		return append(common.FromHex("0x4e487b71"), common.LeftPadBytes(big.NewInt(code).Bytes(), 32)...)
	}
	customErr := func(who common.Address, code int64) []byte {
		e := ev.ABI.Errors["CustomError"]
		args, err := e.Inputs.Pack(who, big.NewInt(code), "custom")
		if err != nil {
			t.Fatal(err)
		}
		return append(e.ID[:4:4], args...)
	}
	unauthorized := ev.ABI.Errors["Unauthorized"].ID
	cases := []revertCase{
		{"reason string", "revertWithReason", nil, w.Address, "execution reverted: Events: reason string", errorString("Events: reason string")},
		{"custom error", "revertWithCustom", []any{big.NewInt(42)}, w.Address, "execution reverted", customErr(w.Address, 42)},
		{"empty revert", "revertEmpty", nil, w.Address, "execution reverted", nil},
		{"custom error without args", "onlyOwner", nil, stranger, "execution reverted", unauthorized[:4]},
		{"assert panic", "panicAssert", nil, w.Address, "execution reverted: assert(false)", panicCode(0x01)},
		{"division panic", "panicDivide", []any{big.NewInt(0)}, w.Address, "execution reverted: division or modulo by zero", panicCode(0x12)},
		{"overflow panic", "panicOverflow", []any{big.NewInt(1)}, w.Address, "execution reverted: arithmetic underflow or overflow", panicCode(0x11)},
	}
	for _, tc := range cases {
		t.Run("call/"+tc.name, func(t *testing.T) {
			data, _ := ev.ABI.Pack(tc.method, tc.args...)
			_, err := c.CallContract(ctx(t), ethereum.CallMsg{From: tc.from, To: &evAddr, Data: data}, nil)
			checkRevert(t, "eth_call "+tc.method, err, tc.message, tc.data)
		})
	}
	// eth_estimateGas of the transacting variants reverts the same way.
	est := []revertCase{
		{"reason string", "revertWithReasonTx", []any{big.NewInt(1)}, w.Address, "execution reverted: Events: reason string", errorString("Events: reason string")},
		{"custom error", "revertWithCustomTx", []any{big.NewInt(7)}, w.Address, "execution reverted", customErr(w.Address, 7)},
		{"division panic", "panicDivideTx", []any{big.NewInt(0)}, w.Address, "execution reverted: division or modulo by zero", panicCode(0x12)},
	}
	for _, tc := range est {
		t.Run("estimate/"+tc.name, func(t *testing.T) {
			data, _ := ev.ABI.Pack(tc.method, tc.args...)
			_, err := c.EstimateGas(ctx(t), ethereum.CallMsg{From: tc.from, To: &evAddr, Data: data})
			checkRevert(t, "eth_estimateGas "+tc.method, err, tc.message, tc.data)
		})
	}
	t.Run("decode custom error", func(t *testing.T) {
		data, _ := ev.ABI.Pack("revertWithCustom", big.NewInt(99))
		_, err := c.CallContract(ctx(t), ethereum.CallMsg{From: w.Address, To: &evAddr, Data: data}, nil)
		d, ok := rpcData(err)
		if !ok {
			t.Fatalf("no error data in %v", err)
		}
		raw, herr := hexutil.Decode(d.(string))
		if herr != nil || len(raw) < 4 {
			t.Fatalf("error data %v is not hex: %v", d, herr)
		}
		e := ev.ABI.Errors["CustomError"]
		if !bytes.Equal(raw[:4], e.ID[:4]) {
			t.Fatalf("selector %x, want CustomError %x", raw[:4], e.ID[:4])
		}
		vals, uerr := e.Inputs.Unpack(raw[4:])
		if uerr != nil {
			t.Fatalf("unpack CustomError: %v", uerr)
		}
		if vals[0].(common.Address) != w.Address || vals[1].(*big.Int).Int64() != 99 || vals[2].(string) != "custom" {
			t.Errorf("CustomError args = %v, want (%s, 99, custom)", vals, w.Address)
		}
	})
	// A reverting transaction is mined with status 0 and its state change
	// undone.
	t.Run("reverted transaction", func(t *testing.T) {
		data, _ := ev.ABI.Pack("revertWithReasonTx", big.NewInt(5))
		r := w.SendAndWait(t, w.DynamicTx(t, &evAddr, nil, 100_000, data))
		if r.Status != types.ReceiptStatusFailed {
			t.Errorf("reverting transaction status %d, want 0", r.Status)
		}
		if len(r.Logs) != 0 {
			t.Errorf("reverted transaction has %d logs", len(r.Logs))
		}
		if got := testnode.Call(t, c, evAddr, ev.ABI, "counter")[0].(*big.Int); got.Sign() != 0 {
			t.Errorf("counter = %v after a reverted transaction, want 0", got)
		}
	})
}

func packString(t *testing.T, s string) []byte {
	t.Helper()
	// ABI encoding of a single string: offset, length, padded bytes.
	out := common.LeftPadBytes(big.NewInt(32).Bytes(), 32)
	out = append(out, common.LeftPadBytes(big.NewInt(int64(len(s))).Bytes(), 32)...)
	padded := make([]byte, (len(s)+31)/32*32)
	copy(padded, s)
	return append(out, padded...)
}

func checkRevert(t *testing.T, what string, err error, message string, data []byte) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want a revert", what)
	}
	if err.Error() != message {
		t.Errorf("%s: message %q, want %q", what, err.Error(), message)
	}
	if code := rpcCode(err); code != 3 {
		t.Errorf("%s: error code %d, want 3", what, code)
	}
	d, ok := rpcData(err)
	if !ok {
		t.Fatalf("%s: error has no data, want %x", what, data)
	}
	s, _ := d.(string)
	if want := hexutil.Encode(data); s != want {
		t.Errorf("%s: error data %v, want %s", what, d, want)
	}
}

// sendErr submits tx and returns the error of eth_sendRawTransaction.
func sendErr(t *testing.T, n *testnode.Node, tx *types.Transaction) error {
	t.Helper()
	return n.Client().SendTransaction(ctx(t), tx)
}

func TestAdmissionErrors(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	to := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	// One mined transaction so that nonce 0 is used.
	w.Transfer(t, to, big.NewInt(1))
	tip, feeCap := w.Fees(t)
	dyn := func(nonce, gas uint64, tip, feeCap *big.Int, data []byte) types.TxData {
		return &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Value: big.NewInt(1), Data: data}
	}
	head, err := n.Client().HeaderByNumber(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("nonce too low", func(t *testing.T) {
		err := sendErr(t, n, w.Sign(t, dyn(0, params.TxGas, tip, feeCap, nil)))
		wantErr(t, "nonce 0 again", err, "nonce too low")
	})
	t.Run("insufficient funds", func(t *testing.T) {
		key, _ := crypto.GenerateKey()
		poor := testnode.NewWallet(n.Client(), key, w.ChainID)
		err := sendErr(t, n, poor.Sign(t, dyn(0, params.TxGas, tip, feeCap, nil)))
		wantErr(t, "unfunded sender", err, "insufficient funds for gas * price + value")
		// Funded for gas but not for the value.
		rich := w.NewFunded(t, new(big.Int).Mul(big.NewInt(int64(params.TxGas)), feeCap))
		tx := rich.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: 0, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &to, Value: big.NewInt(params.Ether)})
		wantErr(t, "value above balance", sendErr(t, n, tx), "insufficient funds for gas * price + value")
	})
	t.Run("tip below minimum", func(t *testing.T) {
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), params.TxGas, big.NewInt(0), feeCap, nil)))
		wantErr(t, "tip 0", err, "transaction gas price below minimum")
		legacy := w.Sign(t, &types.LegacyTx{Nonce: w.PendingNonce(t), GasPrice: big.NewInt(0), Gas: params.TxGas, To: &to})
		wantErr(t, "legacy gas price 0", sendErr(t, n, legacy), "transaction gas price below minimum")
	})
	t.Run("fee cap below base fee", func(t *testing.T) {
		low := new(big.Int).Sub(head.BaseFee, big.NewInt(1))
		low.Div(low, big.NewInt(2))
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), params.TxGas, big.NewInt(1), low, nil)))
		wantErr(t, "fee cap below base fee", err, "underpriced")
	})
	t.Run("tip above fee cap", func(t *testing.T) {
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), params.TxGas, new(big.Int).Add(feeCap, big.NewInt(1)), feeCap, nil)))
		wantErr(t, "tip above fee cap", err, "max priority fee per gas higher than max fee per gas")
	})
	t.Run("intrinsic gas too low", func(t *testing.T) {
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), params.TxGas-1, tip, feeCap, nil)))
		wantErr(t, "gas 20999", err, "intrinsic gas too low")
		create := w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: w.PendingNonce(t), GasTipCap: tip, GasFeeCap: feeCap, Gas: 50_000, Data: []byte{0x60, 0x00}})
		wantErr(t, "contract creation with 50000 gas", sendErr(t, n, create), "intrinsic gas too low")
	})
	t.Run("transaction gas limit too high", func(t *testing.T) {
		// EIP-7825 (Osaka) caps a transaction at 2^24 gas.
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), params.MaxTxGas+1, tip, feeCap, nil)))
		wantErr(t, "gas 2^24+1", err, "transaction gas limit too high")
	})
	t.Run("oversized data", func(t *testing.T) {
		data := bytes.Repeat([]byte{1}, 128*1024+1)
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), 10_000_000, tip, feeCap, data)))
		wantErr(t, "129 KiB of data", err, "oversized data")
	})
	t.Run("fee above rpc cap", func(t *testing.T) {
		err := sendErr(t, n, w.Sign(t, dyn(w.PendingNonce(t), 1_000_000, tip, testnode.Gwei(2000), nil)))
		wantErr(t, "2 ether fee", err, "exceeds the configured cap")
	})
	t.Run("invalid chain id", func(t *testing.T) {
		other := testnode.NewWallet(n.Client(), w.Key, big.NewInt(1338))
		tx := other.Sign(t, &types.DynamicFeeTx{ChainID: big.NewInt(1338), Nonce: w.PendingNonce(t), GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &to})
		wantErr(t, "EIP-1559 tx for chain 1338", sendErr(t, n, tx), "invalid chain id")
		legacy, err := types.SignNewTx(w.Key, types.NewEIP155Signer(big.NewInt(1338)), &types.LegacyTx{Nonce: w.PendingNonce(t), GasPrice: feeCap, Gas: params.TxGas, To: &to})
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "EIP-155 tx for chain 1338", sendErr(t, n, legacy), "invalid chain id")
	})
	t.Run("unprotected", func(t *testing.T) {
		tx, err := types.SignNewTx(w.Key, types.HomesteadSigner{}, &types.LegacyTx{Nonce: w.PendingNonce(t), GasPrice: feeCap, Gas: params.TxGas, To: &to})
		if err != nil {
			t.Fatal(err)
		}
		if tx.Protected() {
			t.Fatal("homestead-signed tx is protected")
		}
		wantErr(t, "pre-EIP-155 tx", sendErr(t, n, tx), "only replay-protected (EIP-155) transactions allowed over RPC")
	})
	t.Run("already known", func(t *testing.T) {
		// A gapped transaction stays in the pool, so it can be sent twice.
		tx := w.Sign(t, dyn(w.PendingNonce(t)+50, params.TxGas, tip, feeCap, nil))
		if err := sendErr(t, n, tx); err != nil {
			t.Fatalf("first send of a future-nonce tx: %v", err)
		}
		wantErr(t, "second send", sendErr(t, n, tx), "already known")
	})
	t.Run("replacement underpriced", func(t *testing.T) {
		nonce := w.PendingNonce(t) + 60
		if err := sendErr(t, n, w.Sign(t, dyn(nonce, params.TxGas, tip, feeCap, nil))); err != nil {
			t.Fatalf("first send: %v", err)
		}
		// 5% more on both caps is below the 10% bump.
		tip5 := new(big.Int).Div(new(big.Int).Mul(tip, big.NewInt(105)), big.NewInt(100))
		cap5 := new(big.Int).Div(new(big.Int).Mul(feeCap, big.NewInt(105)), big.NewInt(100))
		wantErr(t, "5% bump", sendErr(t, n, w.Sign(t, dyn(nonce, params.TxGas, tip5, cap5, nil))), "replacement transaction underpriced")
		// Only the fee cap raised is not enough either.
		cap20 := new(big.Int).Div(new(big.Int).Mul(feeCap, big.NewInt(120)), big.NewInt(100))
		wantErr(t, "fee cap bump only", sendErr(t, n, w.Sign(t, dyn(nonce, params.TxGas, tip, cap20, nil))), "replacement transaction underpriced")
	})
	// The node still takes a good transaction.
	w.Transfer(t, to, big.NewInt(1))
}

func TestExceedsBlockGasLimit(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "genesis.json")
	writeFile(t, gen, `{
  "config": {"chainId": 1337},
  "gasLimit": "0x989680",
  "difficulty": "0x0",
  "baseFeePerGas": "0x3b9aca00",
  "alloc": {"`+testnode.DevAddress.Hex()+`": {"balance": "0x3635C9ADC5DEA00000"}}
}`)
	n := testnode.Start(t, testnode.Options{Genesis: gen})
	w := n.Wallet(t)
	head, err := n.Client().HeaderByNumber(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.GasLimit != 10_000_000 {
		t.Fatalf("genesis gas limit %d, want 10000000", head.GasLimit)
	}
	to := common.HexToAddress("0x000000000000000000000000000000000000c0de")
	tip, feeCap := w.Fees(t)
	tx := w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: 0, GasTipCap: tip, GasFeeCap: feeCap, Gas: 12_000_000, To: &to})
	wantErr(t, "gas 12M > block gas limit 10M", sendErr(t, n, tx), "exceeds block gas limit")
	// At the limit it is accepted and mined.
	r := w.SendAndWait(t, w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: 0, GasTipCap: tip, GasFeeCap: feeCap, Gas: 10_000_000, To: &to}))
	testnode.MustSucceed(t, r, "transfer with gas = block gas limit")
}

func TestQueuedGapAndReplacement(t *testing.T) {
	n := startDev(t)
	w := n.Wallet(t)
	c := n.Client()
	to := common.HexToAddress("0x000000000000000000000000000000000000face")
	w.Transfer(t, to, big.NewInt(1))
	base := w.PendingNonce(t)
	tip, feeCap := w.Fees(t)
	mk := func(nonce uint64, tip, feeCap *big.Int, value int64) *types.Transaction {
		return w.Sign(t, &types.DynamicFeeTx{ChainID: w.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &to, Value: big.NewInt(value)})
	}
	// Nonces base+1 and base+2 wait behind a gap.
	gapped1 := mk(base+1, tip, feeCap, 10)
	gapped2 := mk(base+2, tip, feeCap, 100)
	w.Send(t, gapped1)
	w.Send(t, gapped2)
	var status map[string]hexutil.Uint
	if err := n.RPC().CallContext(ctx(t), &status, "txpool_status"); err != nil {
		t.Fatalf("txpool_status: %v", err)
	}
	if status["queued"] != 2 || status["pending"] != 0 {
		t.Errorf("txpool_status = %v, want pending 0 queued 2", status)
	}
	if got := w.PendingNonce(t); got != base {
		t.Errorf("pending nonce with a gap = %d, want %d (gapped transactions do not count)", got, base)
	}
	if _, pending, err := c.TransactionByHash(ctx(t), gapped1.Hash()); err != nil || !pending {
		t.Errorf("eth_getTransactionByHash(gapped) pending=%v err=%v, want a pending transaction", pending, err)
	}
	if r, err := c.TransactionReceipt(ctx(t), gapped1.Hash()); err == nil {
		t.Errorf("gapped transaction has a receipt in block %v", r.BlockNumber)
	}

	// Replace base+1 with a 10% bump on both caps.
	tip10 := new(big.Int).Div(new(big.Int).Mul(tip, big.NewInt(110)), big.NewInt(100))
	cap10 := new(big.Int).Div(new(big.Int).Mul(feeCap, big.NewInt(110)), big.NewInt(100))
	repl := mk(base+1, tip10, cap10, 20)
	w.Send(t, repl)
	if _, _, err := c.TransactionByHash(ctx(t), gapped1.Hash()); err == nil {
		t.Errorf("replaced transaction %s is still known", gapped1.Hash())
	}

	// Fill the gap: all three are mined, the replacement instead of the
	// original.
	filler := mk(base, tip, feeCap, 1000)
	w.Send(t, filler)
	for _, tx := range []*types.Transaction{filler, repl, gapped2} {
		testnode.MustSucceed(t, w.Wait(t, tx.Hash()), "nonce "+big.NewInt(int64(tx.Nonce())).String())
	}
	if _, err := c.TransactionReceipt(ctx(t), gapped1.Hash()); err == nil {
		t.Errorf("the replaced transaction was mined")
	}
	if got, _ := c.NonceAt(ctx(t), w.Address, nil); got != base+3 {
		t.Errorf("nonce after filling the gap %d, want %d", got, base+3)
	}
	if bal, _ := c.BalanceAt(ctx(t), to, nil); bal.Int64() != 1+1000+20+100 {
		t.Errorf("recipient balance %v, want 1121 (replacement's value, not the original's)", bal)
	}
	if err := n.RPC().CallContext(ctx(t), &status, "txpool_status"); err != nil || status["queued"] != 0 || status["pending"] != 0 {
		t.Errorf("txpool_status after mining = %v (%v), want empty", status, err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.TrimLeft(content, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}
