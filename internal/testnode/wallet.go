package testnode

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
)

// DevKeyHex is the private key of the account prefunded by `cocogeth --dev`.
const DevKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// DevAddress is the address of DevKeyHex.
var DevAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

// DevChainID is the chain id of `cocogeth --dev`.
var DevChainID = big.NewInt(1337)

// ReceiptTimeout bounds the wait for a receipt in the wallet helpers.
const ReceiptTimeout = 30 * time.Second

// DevKey returns the prefunded development key.
func DevKey() *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(DevKeyHex)
	if err != nil {
		panic(err)
	}
	return k
}

// Gwei is n gwei in wei.
func Gwei(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.GWei)) }

// Ether is n ether in wei.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// Wallet signs and sends transactions from one key.
type Wallet struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
	ChainID *big.Int
	Client  *ethclient.Client
	Signer  types.Signer
}

// NewWallet makes a wallet for key on chain chainID.
func NewWallet(client *ethclient.Client, key *ecdsa.PrivateKey, chainID *big.Int) *Wallet {
	return &Wallet{
		Key:     key,
		Address: crypto.PubkeyToAddress(key.PublicKey),
		ChainID: new(big.Int).Set(chainID),
		Client:  client,
		Signer:  types.NewPragueSigner(chainID),
	}
}

// Wallet returns a wallet of the dev key on the node's chain.
func (n *Node) Wallet(t testing.TB) *Wallet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := n.Client().ChainID(ctx)
	if err != nil {
		t.Fatalf("testnode: eth_chainId: %v", err)
	}
	return NewWallet(n.Client(), DevKey(), id)
}

func ctxT() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ReceiptTimeout)
}

// PendingNonce is the account's next nonce counting pooled transactions.
func (w *Wallet) PendingNonce(t testing.TB) uint64 {
	t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	nonce, err := w.Client.PendingNonceAt(ctx, w.Address)
	if err != nil {
		t.Fatalf("testnode: eth_getTransactionCount(pending): %v", err)
	}
	return nonce
}

// Fees returns a tip of 1 gwei and a fee cap of twice the latest base fee
// plus the tip.
func (w *Wallet) Fees(t testing.TB) (tip, feeCap *big.Int) {
	t.Helper()
	tip, feeCap, err := w.FeesErr(context.Background())
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	return tip, feeCap
}

// FeesErr is Fees returning its error.
func (w *Wallet) FeesErr(ctx context.Context) (tip, feeCap *big.Int, err error) {
	ctx, cancel := context.WithTimeout(ctx, ReceiptTimeout)
	defer cancel()
	head, err := w.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("latest header: %v", err)
	}
	tip = Gwei(1)
	feeCap = new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	return tip, feeCap, nil
}

// Sign signs tx data with the wallet's key.
func (w *Wallet) Sign(t testing.TB, data types.TxData) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(w.Key, w.Signer, data)
	if err != nil {
		t.Fatalf("testnode: sign: %v", err)
	}
	return tx
}

// DynamicTx signs an EIP-1559 transaction with the next pending nonce and
// the fees of Fees. A gas of 0 means 21000 for a plain transfer, else an
// estimate with 20% headroom.
func (w *Wallet) DynamicTx(t testing.TB, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
	t.Helper()
	return w.DynamicTxNonce(t, w.PendingNonce(t), to, value, gas, data)
}

// DynamicTxNonce is DynamicTx with an explicit nonce.
func (w *Wallet) DynamicTxNonce(t testing.TB, nonce uint64, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
	t.Helper()
	tip, feeCap := w.Fees(t)
	if value == nil {
		value = new(big.Int)
	}
	if gas == 0 {
		gas = w.EstimateGas(t, to, value, data)
	}
	return w.Sign(t, &types.DynamicFeeTx{
		ChainID: w.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas, To: to, Value: value, Data: data,
	})
}

// EstimateGas estimates a call from the wallet, with 20% headroom; 21000
// for a transfer to an account without code.
func (w *Wallet) EstimateGas(t testing.TB, to *common.Address, value *big.Int, data []byte) uint64 {
	t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	gas, err := w.Client.EstimateGas(ctx, ethereum.CallMsg{From: w.Address, To: to, Value: value, Data: data})
	if err != nil {
		t.Fatalf("testnode: eth_estimateGas: %v", err)
	}
	if gas == params.TxGas {
		return gas
	}
	return gas * 12 / 10
}

// Send submits a signed transaction.
func (w *Wallet) Send(t testing.TB, tx *types.Transaction) {
	t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	if err := w.Client.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("testnode: eth_sendRawTransaction (nonce %d): %v", tx.Nonce(), err)
	}
}

// SendAndWait submits a signed transaction and waits for its receipt. It
// does not check the receipt's status.
func (w *Wallet) SendAndWait(t testing.TB, tx *types.Transaction) *types.Receipt {
	t.Helper()
	w.Send(t, tx)
	return w.Wait(t, tx.Hash())
}

// Wait polls for the receipt of hash until ReceiptTimeout.
func (w *Wallet) Wait(t testing.TB, hash common.Hash) *types.Receipt {
	t.Helper()
	ctx, cancel := ctxT()
	defer cancel()
	r, err := WaitReceipt(ctx, w.Client, hash)
	if err != nil {
		t.Fatalf("testnode: receipt of %s: %v", hash.Hex(), err)
	}
	return r
}

// WaitReceipt polls for the receipt of hash until it is found, then until
// eth_blockNumber has reached the receipt's block, so that the caller's
// next reads of the latest state include the transaction. It gives up when
// ctx ends. Errors other than "not found" end the wait.
func WaitReceipt(ctx context.Context, client *ethclient.Client, hash common.Hash) (*types.Receipt, error) {
	r, err := PollReceipt(ctx, client, hash)
	if err != nil {
		return nil, err
	}
	if err := WaitHead(ctx, client, r.BlockNumber.Uint64()); err != nil {
		return nil, fmt.Errorf("receipt of %s is in block #%v: %w", hash.Hex(), r.BlockNumber, err)
	}
	return r, nil
}

// PollReceipt polls for the receipt of hash until it is found or ctx ends.
func PollReceipt(ctx context.Context, client *ethclient.Client, hash common.Hash) (*types.Receipt, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := client.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no receipt for %s: %w", hash.Hex(), ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitHead polls eth_blockNumber until it is at least number or ctx ends.
func WaitHead(ctx context.Context, client *ethclient.Client, number uint64) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		head, err := client.BlockNumber(ctx)
		if err != nil {
			return err
		}
		if head >= number {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("eth_blockNumber stuck at #%d: %w", head, ctx.Err())
		case <-tick.C:
		}
	}
}

// MustSucceed fails the test unless the receipt has status 1.
func MustSucceed(t testing.TB, r *types.Receipt, what string) {
	t.Helper()
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("%s: transaction %s failed (status %d, gas used %d)", what, r.TxHash.Hex(), r.Status, r.GasUsed)
	}
}

// Transfer sends value wei to `to` in an EIP-1559 transaction and waits
// for its successful receipt.
func (w *Wallet) Transfer(t testing.TB, to common.Address, value *big.Int) *types.Receipt {
	t.Helper()
	r := w.SendAndWait(t, w.DynamicTx(t, &to, value, params.TxGas, nil))
	MustSucceed(t, r, "transfer")
	return r
}

// NewFunded creates a fresh key, funds it with value wei from the wallet
// and returns its wallet.
func (w *Wallet) NewFunded(t testing.TB, value *big.Int) *Wallet {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatalf("testnode: generate key: %v", err)
	}
	nw := NewWallet(w.Client, key, w.ChainID)
	w.Transfer(t, nw.Address, value)
	return nw
}

// Deploy deploys the artifact with constructor args and waits for the
// successful receipt.
func (w *Wallet) Deploy(t testing.TB, art testcontracts.Artifact, args ...any) (common.Address, *types.Receipt) {
	t.Helper()
	data, err := art.DeployData(args...)
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	r := w.SendAndWait(t, w.DynamicTx(t, nil, nil, 0, data))
	MustSucceed(t, r, "deploy "+art.Name)
	if r.ContractAddress == (common.Address{}) {
		t.Fatalf("testnode: deploy %s: receipt has no contract address", art.Name)
	}
	return r.ContractAddress, r
}

// DeployTestToken deploys TestToken(name, symbol, supply).
func (w *Wallet) DeployTestToken(t testing.TB, name, symbol string, supply *big.Int) (common.Address, *types.Receipt) {
	t.Helper()
	return w.Deploy(t, testcontracts.MustLoad("TestToken"), name, symbol, supply)
}

// DeployEvents deploys the Events contract.
func (w *Wallet) DeployEvents(t testing.TB) (common.Address, *types.Receipt) {
	t.Helper()
	return w.Deploy(t, testcontracts.MustLoad("Events"))
}

// Transact calls method of the contract at `to` in an EIP-1559
// transaction (gas estimated) and waits for the successful receipt.
func (w *Wallet) Transact(t testing.TB, to common.Address, contract abi.ABI, method string, args ...any) *types.Receipt {
	t.Helper()
	data, err := contract.Pack(method, args...)
	if err != nil {
		t.Fatalf("testnode: pack %s: %v", method, err)
	}
	r := w.SendAndWait(t, w.DynamicTx(t, &to, nil, 0, data))
	MustSucceed(t, r, method)
	return r
}

// Call runs a read-only call of method on the contract at `to` (latest
// block) and returns the decoded outputs.
func Call(t testing.TB, client *ethclient.Client, to common.Address, contract abi.ABI, method string, args ...any) []any {
	t.Helper()
	data, err := contract.Pack(method, args...)
	if err != nil {
		t.Fatalf("testnode: pack %s: %v", method, err)
	}
	ctx, cancel := ctxT()
	defer cancel()
	out, err := client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		t.Fatalf("testnode: eth_call %s: %v", method, err)
	}
	vals, err := contract.Unpack(method, out)
	if err != nil {
		t.Fatalf("testnode: unpack %s: %v", method, err)
	}
	return vals
}
