package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/params"
)

// setupChunk is how many funder transactions are sent before waiting for
// them to be included. It stays below the pending limits of common tx pools.
const setupChunk = 1000

// env is the connection and funder used by the (unmeasured) setup phase.
type env struct {
	ctl        *rpcClient
	chainID    *big.Int
	signer     types.Signer
	funder     *ecdsa.PrivateKey
	funderAddr common.Address
	tip        *big.Int
	feeCap     *big.Int
	batch      int
	timeout    time.Duration
}

// chainID asks the node for its chain id.
func chainID(ctx context.Context, rc *rpcClient) (*big.Int, error) {
	var id hexutil.Big
	if err := rc.Call(ctx, &id, "eth_chainId"); err != nil {
		return nil, err
	}
	return id.ToInt(), nil
}

// latestBlock returns the head block (transactions as hashes).
func latestBlock(ctx context.Context, rc *rpcClient) (*rpcBlock, error) {
	var b *rpcBlock
	if err := rc.Call(ctx, &b, "eth_getBlockByNumber", "latest", false); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("latest block not found")
	}
	return b, nil
}

// chooseFeeCap picks the max fee per gas of all benchmark transactions. An
// explicit override wins. Otherwise it is generous, so that a base fee
// climbing under load does not strand transactions: up to 10000 gwei, and no
// more than half an ether for one transaction of gasLimit gas (nodes refuse
// fees above 1 ether over RPC by default), limited to what a quarter of the
// funder's balance can pay for totalGas, but never below twice the current
// base fee plus the tip.
func chooseFeeCap(override, baseFee, tip, funderBalance *big.Int, gasLimit, totalGas uint64) *big.Int {
	if override != nil && override.Sign() > 0 {
		return new(big.Int).Set(override)
	}
	floor := new(big.Int).Add(new(big.Int).Mul(baseFee, big.NewInt(2)), tip)
	fee := new(big.Int).Mul(big.NewInt(10000), big.NewInt(params.GWei))
	if gasLimit > 0 {
		perTx := new(big.Int).Div(big.NewInt(params.Ether/2), new(big.Int).SetUint64(gasLimit))
		if perTx.Cmp(fee) < 0 {
			fee = perTx
		}
	}
	if totalGas > 0 && funderBalance != nil {
		budget := new(big.Int).Div(funderBalance, big.NewInt(4))
		budget.Div(budget, new(big.Int).SetUint64(totalGas))
		if budget.Cmp(fee) < 0 {
			fee = budget
		}
	}
	if fee.Cmp(floor) < 0 {
		fee = floor
	}
	return fee
}

// queryAccounts returns the pending nonce and latest balance of each address.
func queryAccounts(ctx context.Context, rc *rpcClient, addrs []common.Address) ([]uint64, []*big.Int, error) {
	const chunk = 250
	nonces := make([]uint64, len(addrs))
	balances := make([]*big.Int, len(addrs))
	for start := 0; start < len(addrs); start += chunk {
		end := min(start+chunk, len(addrs))
		ns := make([]hexutil.Uint64, end-start)
		bs := make([]hexutil.Big, end-start)
		var elems []batchElem
		for i := start; i < end; i++ {
			elems = append(elems,
				batchElem{Method: "eth_getTransactionCount", Params: []any{addrs[i], "pending"}, Result: &ns[i-start]},
				batchElem{Method: "eth_getBalance", Params: []any{addrs[i], "latest"}, Result: &bs[i-start]})
		}
		if err := rc.BatchCall(ctx, elems); err != nil {
			return nil, nil, err
		}
		for _, e := range elems {
			if e.Err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e.Method, e.Err)
			}
		}
		for i := start; i < end; i++ {
			nonces[i] = uint64(ns[i-start])
			balances[i] = bs[i-start].ToInt()
		}
	}
	return nonces, balances, nil
}

// setupFeeCap is the fee cap of a setup transaction with the given gas
// limit: the benchmark's fee cap, lowered if needed so that the maximum fee
// stays below the 1 ether per transaction that geth-style nodes accept over
// RPC by default (--rpc.txfeecap).
func (e *env) setupFeeCap(gas uint64) *big.Int {
	limit := new(big.Int).Div(big.NewInt(params.Ether/2), new(big.Int).SetUint64(max(gas, 1)))
	if limit.Cmp(e.feeCap) < 0 {
		return limit
	}
	return e.feeCap
}

// call is one transaction the funder sends during setup.
type call struct {
	to    *common.Address // nil creates a contract
	value *big.Int
	gas   uint64
	data  []byte
	what  string
}

// sendCalls signs calls from the funder with consecutive nonces, sends them
// in chunks and waits for each chunk to be included successfully.
func (e *env) sendCalls(ctx context.Context, calls []call) error {
	nonces, balances, err := queryAccounts(ctx, e.ctl, []common.Address{e.funderAddr})
	if err != nil {
		return err
	}
	nonce := nonces[0]
	cost := new(big.Int)
	for _, c := range calls {
		cost.Add(cost, c.value)
		cost.Add(cost, new(big.Int).Mul(new(big.Int).SetUint64(c.gas), e.setupFeeCap(c.gas)))
	}
	if balances[0].Cmp(cost) < 0 {
		return fmt.Errorf("funder %s holds %s wei, setup needs up to %s (lower --maxfee, --senders or --txs)", e.funderAddr.Hex(), balances[0], cost)
	}
	for start := 0; start < len(calls); start += setupChunk {
		end := min(start+setupChunk, len(calls))
		txs := make([]*types.Transaction, 0, end-start)
		for _, c := range calls[start:end] {
			tx, err := types.SignNewTx(e.funder, e.signer, &types.DynamicFeeTx{
				ChainID:   e.chainID,
				Nonce:     nonce,
				GasTipCap: e.tip,
				GasFeeCap: e.setupFeeCap(c.gas),
				Gas:       c.gas,
				To:        c.to,
				Value:     c.value,
				Data:      c.data,
			})
			if err != nil {
				return err
			}
			txs = append(txs, tx)
			nonce++
		}
		if err := e.sendAndWait(ctx, txs, calls[start:end]); err != nil {
			return err
		}
		log.Info("Setup transactions included", "done", end, "total", len(calls))
	}
	return nil
}

func (e *env) sendAndWait(ctx context.Context, txs []*types.Transaction, calls []call) error {
	batch := max(1, min(e.batch, 500))
	for start := 0; start < len(txs); start += batch {
		end := min(start+batch, len(txs))
		elems := make([]batchElem, 0, end-start)
		for _, tx := range txs[start:end] {
			raw, err := tx.MarshalBinary()
			if err != nil {
				return err
			}
			elems = append(elems, batchElem{Method: "eth_sendRawTransaction", Params: []any{hexutil.Bytes(raw)}})
		}
		if err := e.ctl.BatchCall(ctx, elems); err != nil {
			return fmt.Errorf("sending setup transactions: %w", err)
		}
		for i, el := range elems {
			if el.Err != nil {
				return fmt.Errorf("setup transaction (%s, nonce %d) rejected: %w", calls[start+i].what, txs[start+i].Nonce(), el.Err)
			}
		}
	}
	hashes := make([]common.Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = tx.Hash()
	}
	receipts, err := waitReceipts(ctx, e.ctl, hashes, e.timeout)
	if err != nil {
		return err
	}
	for i, r := range receipts {
		if r.Status != 1 {
			return fmt.Errorf("setup transaction (%s) %s failed in block %d (gas used %d of %d)", calls[i].what, hashes[i].Hex(), r.BlockNumber, r.GasUsed, txs[i].Gas())
		}
	}
	return nil
}

// waitReceipts polls until every hash has a receipt, or timeout passes.
func waitReceipts(ctx context.Context, rc *rpcClient, hashes []common.Hash, timeout time.Duration) ([]*rpcReceipt, error) {
	const chunk = 500
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]*rpcReceipt, len(hashes))
	left := len(hashes)
	for {
		for start := 0; start < len(hashes) && left > 0; start += chunk {
			end := min(start+chunk, len(hashes))
			var (
				elems []batchElem
				idx   []int
			)
			for i := start; i < end; i++ {
				if out[i] == nil {
					elems = append(elems, batchElem{Method: "eth_getTransactionReceipt", Params: []any{hashes[i]}, Result: &out[i]})
					idx = append(idx, i)
				}
			}
			if len(elems) == 0 {
				continue
			}
			if err := rc.BatchCall(ctx, elems); err != nil {
				if ctx.Err() != nil {
					break
				}
				return nil, err
			}
			for k, el := range elems {
				if el.Err != nil {
					out[idx[k]] = nil // e.g. "transaction indexing is in progress": ask again
					continue
				}
				if out[idx[k]] != nil {
					left--
				}
			}
		}
		if left == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%d of %d setup transactions not included after %v", left, len(hashes), timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// deployToken deploys the ERC20 test token from the funder, minting the
// whole supply to it, and returns its address.
func (e *env) deployToken(ctx context.Context, tokenABI *abi.ABI, tokenCode []byte) (common.Address, error) {
	var token common.Address
	if tokenABI == nil || len(tokenCode) == 0 {
		return token, errors.New("erc20 mode needs the token artifact")
	}
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)
	args, err := tokenABI.Pack("", "CocoBench Token", "CBT", supply)
	if err != nil {
		return token, fmt.Errorf("pack constructor: %v", err)
	}
	deploy := append(append([]byte(nil), tokenCode...), args...)
	gas, err := estimateGas(ctx, e.ctl, e.funderAddr, nil, deploy)
	if err != nil {
		log.Warn("Could not estimate the token deployment; using 5M gas", "err", err)
		gas = 5_000_000
	} else {
		gas += gas / 4
	}
	nonces, _, err := queryAccounts(ctx, e.ctl, []common.Address{e.funderAddr})
	if err != nil {
		return token, err
	}
	token = crypto.CreateAddress(e.funderAddr, nonces[0])
	if err := e.sendCalls(ctx, []call{{value: new(big.Int), gas: gas, data: deploy, what: "deploy token"}}); err != nil {
		return token, err
	}
	var code hexutil.Bytes
	if err := e.ctl.Call(ctx, &code, "eth_getCode", token, "latest"); err != nil {
		return token, err
	}
	if len(code) == 0 {
		return token, fmt.Errorf("no code at the expected token address %s", token.Hex())
	}
	log.Info("Token deployed", "address", token, "gas", gas)
	return token, nil
}

// tokenTransferGas returns the gas limit for the token transfers: an
// estimate of a transfer to an address that holds no tokens yet (the most
// expensive case), plus a quarter.
func (e *env) tokenTransferGas(ctx context.Context, tokenABI *abi.ABI, token, to common.Address) (uint64, error) {
	data, err := tokenABI.Pack("transfer", to, big.NewInt(1))
	if err != nil {
		return 0, err
	}
	gas, err := estimateGas(ctx, e.ctl, e.funderAddr, &token, data)
	if err != nil {
		return 0, fmt.Errorf("estimating a token transfer: %w", err)
	}
	return gas + gas/4, nil
}

// fund tops up every sender so it can pay for its share of the measured
// transactions. In erc20 mode it also gives every sender the tokens it will
// move (the token must be deployed already).
func (e *env) fund(ctx context.Context, senders []*sender, counts []int, spec *txSpec, balances []*big.Int) error {
	var calls []call
	perTx := new(big.Int).Mul(new(big.Int).SetUint64(spec.GasLimit), spec.FeeCap)
	if spec.Value != nil {
		perTx.Add(perTx, spec.Value)
	}
	funded := 0
	for i, s := range senders {
		need := new(big.Int).Mul(perTx, big.NewInt(int64(counts[i])))
		need.Add(need, new(big.Int).Div(need, big.NewInt(10))) // 10% margin
		if balances[i].Cmp(need) >= 0 {
			continue
		}
		to := s.addr
		calls = append(calls, call{to: &to, value: new(big.Int).Sub(need, balances[i]), gas: transferGas, what: "fund sender"})
		funded++
	}
	log.Info("Funding senders", "senders", len(senders), "topups", funded, "per_tx_wei", perTx)
	if spec.Mode == modeERC20 {
		for i, s := range senders {
			amount := new(big.Int).Mul(spec.TokenAmount, big.NewInt(int64(counts[i])))
			data, err := spec.TokenABI.Pack("transfer", s.addr, amount)
			if err != nil {
				return err
			}
			to := spec.Token
			calls = append(calls, call{to: &to, value: new(big.Int), gas: spec.GasLimit, data: data, what: "distribute tokens"})
		}
	}
	if err := e.sendCalls(ctx, calls); err != nil {
		return err
	}
	if spec.Mode == modeERC20 {
		log.Info("Tokens distributed", "token", spec.Token, "holders", len(senders))
	}
	return nil
}

func estimateGas(ctx context.Context, rc *rpcClient, from common.Address, to *common.Address, data []byte) (uint64, error) {
	msg := map[string]any{"from": from, "data": hexutil.Bytes(data)}
	if to != nil {
		msg["to"] = *to
	}
	var gas hexutil.Uint64
	if err := rc.Call(ctx, &gas, "eth_estimateGas", msg); err != nil {
		return 0, err
	}
	return uint64(gas), nil
}
