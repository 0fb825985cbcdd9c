package eth

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

func signed(t *testing.T, inner types.TxData) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(keyA, testSig, inner)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// Admission refuses bad transactions with geth's messages and keeps
// nothing of them.
func TestPoolAdmissionErrors(t *testing.T) {
	s, _ := newTestService(t)
	chainID := big.NewInt(genesis.DevChainID)
	poor, _ := crypto.GenerateKey()
	poorTx, _ := types.SignNewTx(poor, testSig, &types.DynamicFeeTx{ChainID: chainID, Nonce: 0, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr, Value: big.NewInt(1)})
	wrongChain, _ := types.SignNewTx(keyA, types.LatestSignerForChainID(big.NewInt(1)), &types.DynamicFeeTx{ChainID: big.NewInt(1), Nonce: 0, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr})
	unprotected, _ := types.SignNewTx(keyA, types.HomesteadSigner{}, &types.LegacyTx{Nonce: 0, GasPrice: feeCap, Gas: 21000, To: &recvAddr})

	if err := s.pool.Add(transfer(t, keyA, 0, recvAddr, 1)); err != nil {
		t.Fatal(err)
	}
	buildAndCommit(t, s, s.pool.Take(10))

	cases := []struct {
		name string
		tx   *types.Transaction
		is   error
		msg  string
	}{
		{"nonce too low", transfer(t, keyA, 0, recvAddr, 1), core.ErrNonceTooLow, "nonce too low: next nonce 1, tx nonce 0"},
		{"insufficient funds", poorTx, core.ErrInsufficientFunds, "insufficient funds for gas * price + value"},
		{"tip below minimum", signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: common.Big0, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr}), txpool.ErrTxGasPriceTooLow, "transaction gas price below minimum"},
		{"fee cap below base fee", signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(1), Gas: 21000, To: &recvAddr}), txpool.ErrUnderpriced, "transaction underpriced"},
		{"intrinsic gas", signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 20000, To: &recvAddr}), core.ErrIntrinsicGas, "intrinsic gas too low"},
		{"block gas limit", signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: gwei, GasFeeCap: feeCap, Gas: genesis.DefaultGasLimit + 1, To: &recvAddr}), nil, ""},
		{"oversized", signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 1, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 10_000_000, To: &recvAddr, Data: make([]byte, 130*1024)}), txpool.ErrOversizedData, "oversized data"},
		{"wrong chain id", wrongChain, types.ErrInvalidChainId, "invalid chain id"},
		{"unprotected", unprotected, nil, "only replay-protected (EIP-155) transactions allowed over RPC"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.pool.Add(c.tx)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %q", err, c.is)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q lacks %q", err, c.msg)
			}
			if s.pool.Get(c.tx.Hash()) != nil {
				t.Error("rejected transaction kept in the pool")
			}
		})
	}
	if p, q := s.pool.Stats(); p != 0 || q != 0 {
		t.Fatalf("pool holds %d pending, %d queued after rejections", p, q)
	}
}

// A future nonce waits until the gap is filled; both are then executable
// in order, and the pending nonce counts them.
func TestPoolNonceGap(t *testing.T) {
	s, _ := newTestService(t)
	if err := s.pool.Add(transfer(t, keyA, 1, recvAddr, 1)); err != nil {
		t.Fatal(err)
	}
	if p, q := s.pool.Stats(); p != 0 || q != 1 {
		t.Fatalf("stats %d/%d, want 0 pending 1 queued", p, q)
	}
	if n := s.pool.Nonce(addrA); n != 0 {
		t.Fatalf("pending nonce %d with a gap, want 0", n)
	}
	if got := s.pool.Take(10); len(got) != 0 {
		t.Fatalf("gapped transaction handed to the builder")
	}
	if err := s.pool.Add(transfer(t, keyA, 0, recvAddr, 1)); err != nil {
		t.Fatal(err)
	}
	if n := s.pool.Nonce(addrA); n != 2 {
		t.Fatalf("pending nonce %d, want 2", n)
	}
	txs := s.pool.Take(10)
	if len(txs) != 2 || txs[0].Nonce() != 0 || txs[1].Nonce() != 1 {
		t.Fatalf("took %d txs, want nonces 0,1", len(txs))
	}
	b, _ := buildAndCommit(t, s, txs)
	if len(b.block.Transactions()) != 2 {
		t.Fatalf("block has %d txs", len(b.block.Transactions()))
	}
	if p, q := s.pool.Stats(); p != 0 || q != 0 {
		t.Fatalf("pool holds %d/%d after commit", p, q)
	}
	if n := s.pool.Nonce(addrA); n != 2 {
		t.Fatalf("nonce after commit %d, want 2", n)
	}
}

// A replacement must raise both fee caps by the price bump.
func TestPoolReplacement(t *testing.T) {
	s, _ := newTestService(t)
	chainID := big.NewInt(genesis.DevChainID)
	orig := signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 0, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr, Value: big.NewInt(1)})
	low := signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 0, GasTipCap: big.NewInt(1_050_000_000), GasFeeCap: big.NewInt(5_250_000_000), Gas: 21000, To: &recvAddr, Value: big.NewInt(2)})
	high := signed(t, &types.DynamicFeeTx{ChainID: chainID, Nonce: 0, GasTipCap: big.NewInt(1_100_000_000), GasFeeCap: big.NewInt(5_500_000_000), Gas: 21000, To: &recvAddr, Value: big.NewInt(3)})
	if err := s.pool.Add(orig); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.Add(orig); !errors.Is(err, txpool.ErrAlreadyKnown) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := s.pool.Add(low); !errors.Is(err, txpool.ErrReplaceUnderpriced) {
		t.Fatalf("5%% bump: %v, want replacement underpriced", err)
	}
	if err := s.pool.Add(high); err != nil {
		t.Fatalf("10%% bump: %v", err)
	}
	if s.pool.Get(orig.Hash()) != nil || s.pool.Get(high.Hash()) == nil {
		t.Fatal("replacement did not take the original's place")
	}
	txs := s.pool.Take(10)
	if len(txs) != 1 || txs[0].Hash() != high.Hash() {
		t.Fatalf("builder got %d txs, want only the replacement", len(txs))
	}
	buildAndCommit(t, s, txs)
	st, _ := s.chain.State()
	if bal := st.GetBalance(recvAddr); bal.Uint64() != 3 {
		t.Fatalf("recipient balance %d, want 3 (the replacement's value)", bal)
	}
}

// A transaction that fails at execution is dropped; the sender's later
// transactions wait for the gap to be filled again.
func TestPoolDropsFailedExecution(t *testing.T) {
	s, _ := newTestService(t)
	// B has no funds until A's transfer lands; B's tx is admitted only
	// after that, so fund B, then let B overspend in one block.
	if err := s.pool.Add(transfer(t, keyA, 0, addrB, 1e18)); err != nil {
		t.Fatal(err)
	}
	buildAndCommit(t, s, s.pool.Take(10))
	spendAll, _ := types.SignNewTx(keyB, testSig, &types.DynamicFeeTx{ChainID: big.NewInt(genesis.DevChainID), Nonce: 0, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr, Value: big.NewInt(9e17)})
	second, _ := types.SignNewTx(keyB, testSig, &types.DynamicFeeTx{ChainID: big.NewInt(genesis.DevChainID), Nonce: 1, GasTipCap: gwei, GasFeeCap: feeCap, Gas: 21000, To: &recvAddr, Value: big.NewInt(9e16)})
	if err := s.pool.Add(spendAll); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.Add(second); err != nil {
		t.Fatal(err)
	}
	b, _ := buildAndCommit(t, s, s.pool.Take(10))
	if len(b.block.Transactions()) != 2 {
		t.Fatalf("block has %d txs (rejected %v)", len(b.block.Transactions()), b.rejected)
	}
	if p, q := s.pool.Stats(); p != 0 || q != 0 {
		t.Fatalf("pool %d/%d", p, q)
	}
}

// checkGapped asserts that the pool's index of gapped accounts is exactly
// the accounts with transactions none of which is executable.
func checkGapped(t *testing.T, p *TxPool, want ...common.Address) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, a := range p.accounts {
		_, in := p.gapped[addr]
		if is := len(a.txs) > 0 && a.next <= a.nonce; is != in {
			t.Errorf("%s gapped %v, indexed %v", addr, is, in)
		}
	}
	if len(p.gapped) != len(want) {
		t.Errorf("%d gapped accounts, want %d", len(p.gapped), len(want))
	}
	for _, addr := range want {
		if _, ok := p.gapped[addr]; !ok {
			t.Errorf("%s not indexed as gapped", addr)
		}
	}
}

// The pool's work after a block looks only at the accounts the block
// touched and at the gapped ones, which it indexes as runs are cut and
// filled.
func TestPoolIndexesGappedAccounts(t *testing.T) {
	s, _ := newTestService(t)
	p := s.pool
	tx0, tx1 := transfer(t, keyA, 0, recvAddr, 1), transfer(t, keyA, 1, recvAddr, 1)
	if err := p.Add(tx1); err != nil {
		t.Fatal(err)
	}
	checkGapped(t, p, addrA)
	if err := p.Add(tx0); err != nil {
		t.Fatal(err)
	}
	checkGapped(t, p)
	// The builder drops the first and sends the second back as gapped.
	if got := p.Take(10); len(got) != 2 {
		t.Fatalf("took %d", len(got))
	}
	p.Return(nil, []rejectedTx{{tx0, core.ErrInsufficientFunds}, {tx1, core.ErrNonceTooHigh}})
	checkGapped(t, p, addrA)
	// Sending the first again fills the gap.
	if err := p.Add(tx0); err != nil {
		t.Fatal(err)
	}
	checkGapped(t, p)
	buildAndCommit(t, s, p.Take(10))
	checkGapped(t, p)
	if pending, queued := p.Stats(); pending != 0 || queued != 0 {
		t.Fatalf("pool %d/%d after the block", pending, queued)
	}
}
