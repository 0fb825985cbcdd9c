package ethapi

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/genesis"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/node"
)

// testWallet holds one account, unlocked when key is set.
type testWallet struct {
	addr common.Address
	key  *ecdsa.PrivateKey
}

func (w *testWallet) URL() accounts.URL                { return accounts.URL{Scheme: "test", Path: w.addr.Hex()} }
func (w *testWallet) Status() (string, error)          { return "", nil }
func (w *testWallet) Open(string) error                { return nil }
func (w *testWallet) Close() error                     { return nil }
func (w *testWallet) Accounts() []accounts.Account     { return []accounts.Account{{Address: w.addr}} }
func (w *testWallet) Contains(a accounts.Account) bool { return a.Address == w.addr }
func (w *testWallet) Derive(accounts.DerivationPath, bool) (accounts.Account, error) {
	return accounts.Account{}, accounts.ErrNotSupported
}
func (w *testWallet) SelfDerive([]accounts.DerivationPath, ethereum.ChainStateReader) {}
func (w *testWallet) SignData(accounts.Account, string, []byte) ([]byte, error) {
	return nil, accounts.ErrNotSupported
}
func (w *testWallet) SignDataWithPassphrase(accounts.Account, string, string, []byte) ([]byte, error) {
	return nil, accounts.ErrNotSupported
}
func (w *testWallet) SignText(accounts.Account, []byte) ([]byte, error) {
	return nil, accounts.ErrNotSupported
}
func (w *testWallet) SignTextWithPassphrase(accounts.Account, string, []byte) ([]byte, error) {
	return nil, accounts.ErrNotSupported
}
func (w *testWallet) SignTx(a accounts.Account, tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	if w.key == nil {
		return nil, accounts.NewAuthNeededError("password or unlock")
	}
	return types.SignTx(tx, types.LatestSignerForChainID(chainID), w.key)
}
func (w *testWallet) SignTxWithPassphrase(a accounts.Account, _ string, tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	return w.SignTx(a, tx, chainID)
}

type testBackend struct{ wallets []accounts.Wallet }

func (b *testBackend) Wallets() []accounts.Wallet { return b.wallets }
func (b *testBackend) Subscribe(sink chan<- accounts.WalletEvent) event.Subscription {
	return event.NewSubscription(func(quit <-chan struct{}) error { <-quit; return nil })
}

// newSendService opens a dev-genesis service on a node whose account
// manager holds addrA unlocked and addrB locked.
func newSendService(t *testing.T) *eth.Service {
	t.Helper()
	stack, err := node.New(&node.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	stack.AccountManager().AddBackend(&testBackend{[]accounts.Wallet{&testWallet{addr: addrA, key: keyA}, &testWallet{addr: addrB}}})
	s := newChain(t, genesis.Dev(), stack)
	if n := len(stack.AccountManager().Accounts()); n != 2 {
		t.Fatalf("%d accounts, want 2", n)
	}
	return s
}

func TestSendTransaction(t *testing.T) {
	s := newSendService(t)
	api := &SendAPI{b: s.RPCBackend(), cfg: testConfig()}
	ctx := context.Background()
	value := (*hexutil.Big)(big.NewInt(7))
	hash, err := api.SendTransaction(ctx, TransactionArgs{From: &addrA, To: &recvAddr, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	tx := s.RPCBackend().PoolTransaction(hash)
	if tx == nil {
		t.Fatal("transaction not pooled")
	}
	head := s.RPCBackend().CurrentHeader()
	wantFee := new(big.Int).Add(suggestTip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	if tx.Type() != types.DynamicFeeTxType || tx.Nonce() != 0 || tx.Gas() != 21000 || tx.GasTipCap().Cmp(suggestTip) != 0 ||
		tx.GasFeeCap().Cmp(wantFee) != 0 || tx.ChainId().Int64() != genesis.DevChainID || tx.Value().Int64() != 7 {
		t.Errorf("defaults: type %d nonce %d gas %d tip %v cap %v chain %v", tx.Type(), tx.Nonce(), tx.Gas(), tx.GasTipCap(), tx.GasFeeCap(), tx.ChainId())
	}
	if from, _ := types.Sender(testSig, tx); from != addrA {
		t.Errorf("signed by %s", from.Hex())
	}
	// The next one takes the pending nonce; a gas price makes it legacy.
	hash, err = api.SendTransaction(ctx, TransactionArgs{From: &addrA, To: &recvAddr, GasPrice: (*hexutil.Big)(big.NewInt(3e9))})
	if err != nil {
		t.Fatal(err)
	}
	if tx := s.RPCBackend().PoolTransaction(hash); tx == nil || tx.Nonce() != 1 || tx.Type() != types.LegacyTxType {
		t.Errorf("second transaction: %v", tx)
	}

	gas := hexutil.Uint64(21000) // addrB has no funds for an estimate
	for _, c := range []struct {
		args TransactionArgs
		want string
	}{
		{TransactionArgs{From: &addrB, To: &recvAddr, Gas: &gas}, "authentication needed: password or unlock"},
		{TransactionArgs{From: &recvAddr, To: &recvAddr}, "unknown account"},
		{TransactionArgs{To: &recvAddr}, "unknown account"},
		{TransactionArgs{From: &addrA}, "contract creation without any data provided"},
		{TransactionArgs{From: &addrA, To: &recvAddr, GasPrice: value, MaxFeePerGas: value}, "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"},
		{TransactionArgs{From: &addrA, To: &recvAddr, ChainID: (*hexutil.Big)(big.NewInt(1))}, "chainId does not match node's (have=1, want=1337)"},
		{TransactionArgs{From: &addrA, To: &recvAddr, MaxFeePerGas: (*hexutil.Big)(big.NewInt(1)), MaxPriorityFeePerGas: (*hexutil.Big)(big.NewInt(2))}, "maxFeePerGas (0x1) < maxPriorityFeePerGas (0x2)"},
		{TransactionArgs{From: &addrA, To: &recvAddr, BlobHashes: []common.Hash{{1}}}, "signing blob transactions not supported"},
	} {
		_, err := api.SendTransaction(ctx, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestSignTransaction(t *testing.T) {
	s := newSendService(t)
	api := &SendAPI{b: s.RPCBackend(), cfg: testConfig()}
	ctx := context.Background()
	gas, nonce := hexutil.Uint64(21000), hexutil.Uint64(5)
	price := (*hexutil.Big)(big.NewInt(2e9))
	res, err := api.SignTransaction(ctx, TransactionArgs{From: &addrA, To: &recvAddr, Gas: &gas, Nonce: &nonce, MaxFeePerGas: price, MaxPriorityFeePerGas: price})
	if err != nil {
		t.Fatal(err)
	}
	var decoded types.Transaction
	if err := decoded.UnmarshalBinary(res.Raw); err != nil || decoded.Hash() != res.Tx.Hash() || decoded.Nonce() != 5 {
		t.Fatalf("raw %x: %v", res.Raw, err)
	}
	if s.RPCBackend().PoolTransaction(res.Tx.Hash()) != nil {
		t.Error("eth_signTransaction submitted the transaction")
	}
	for _, c := range []struct {
		args TransactionArgs
		want string
	}{
		{TransactionArgs{From: &addrA, To: &recvAddr, Nonce: &nonce, GasPrice: price}, "gas not specified"},
		{TransactionArgs{From: &addrA, To: &recvAddr, Gas: &gas, Nonce: &nonce}, "missing gasPrice or maxFeePerGas/maxPriorityFeePerGas"},
		{TransactionArgs{From: &addrA, To: &recvAddr, Gas: &gas, GasPrice: price}, "nonce not specified"},
		{TransactionArgs{From: &addrB, To: &recvAddr, Gas: &gas, Nonce: &nonce, GasPrice: price}, "authentication needed: password or unlock"},
	} {
		if _, err := api.SignTransaction(ctx, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestSendTransactionWithoutNode(t *testing.T) {
	s := newDevChain(t)
	if _, err := (&SendAPI{b: s.RPCBackend(), cfg: testConfig()}).SendTransaction(context.Background(), TransactionArgs{From: &addrA, To: &recvAddr}); err == nil || err.Error() != "unknown account" {
		t.Errorf("error %v, want unknown account", err)
	}
}
