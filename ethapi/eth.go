package ethapi

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/eth/gasestimator"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
)

// EthAPI is the eth_ namespace, with geth's method names, arguments and
// JSON shapes. Logs and filters come from go-ethereum's filter API.
type EthAPI struct {
	b    Backend
	cfg  Config
	gate Gate // nil: every request is anonymous, everything public
}

func (api *EthAPI) theGate() Gate {
	if api.gate == nil {
		return openGate{}
	}
	return api.gate
}

// reader is who a request proved to be: nil for an anonymous one.
func (api *EthAPI) reader(ctx context.Context) (*common.Address, error) {
	return readerOf(ctx, api.theGate())
}

func readerOf(ctx context.Context, g Gate) (*common.Address, error) {
	addr, ok, err := g.Caller(ctx, nil)
	if err != nil || !ok {
		return nil, err
	}
	return &addr, nil
}

// callCaller checks the proof of a call's sender (a signed call proves
// "from"; a session proves its address) and returns the proven address,
// nil for an anonymous call. A session without "from" makes the session's
// address the sender, as a wallet's own account would be.
func (api *EthAPI) callCaller(ctx context.Context, args *TransactionArgs) (*common.Address, error) {
	var value *big.Int
	if args.Value != nil {
		value = args.Value.ToInt()
	}
	proof := &CallProof{From: args.From, To: args.To, Value: value, Data: args.data(), Auth: args.Auth}
	addr, ok, err := api.theGate().Caller(ctx, proof)
	if err != nil || !ok {
		return nil, err
	}
	if args.From == nil {
		args.From = &addr
	}
	return &addr, nil
}

// ChainId returns the chain id (EIP-695).
func (api *EthAPI) ChainId() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int).Set(api.b.ChainConfig().ChainID))
}

// BlockNumber returns the number of the newest committed block.
func (api *EthAPI) BlockNumber() hexutil.Uint64 {
	return hexutil.Uint64(api.b.CurrentHeader().Number.Uint64())
}

// Syncing is always false: a node serves only what it has committed.
func (api *EthAPI) Syncing() (any, error) { return false, nil }

// Accounts lists the accounts of the node's keystore.
func (api *EthAPI) Accounts() []common.Address {
	am := api.b.AccountManager()
	if am == nil {
		return []common.Address{}
	}
	return am.Accounts()
}

// GetBalance returns the balance of address at a block.
func (api *EthAPI) GetBalance(ctx context.Context, address common.Address, bnh rpc.BlockNumberOrHash) (*hexutil.Big, error) {
	st, _, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, err
	}
	b := st.GetBalance(address)
	return (*hexutil.Big)(b.ToBig()), st.Error()
}

// GetTransactionCount returns the nonce of address; with "pending" it counts
// the executable transactions waiting in the pool, as wallets expect.
func (api *EthAPI) GetTransactionCount(ctx context.Context, address common.Address, bnh rpc.BlockNumberOrHash) (*hexutil.Uint64, error) {
	if n, ok := bnh.Number(); ok && n == rpc.PendingBlockNumber {
		nonce := api.b.PoolNonce(address)
		return (*hexutil.Uint64)(&nonce), nil
	}
	st, _, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, err
	}
	nonce := st.GetNonce(address)
	return (*hexutil.Uint64)(&nonce), st.Error()
}

// GetCode returns the code of address at a block.
func (api *EthAPI) GetCode(ctx context.Context, address common.Address, bnh rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	st, _, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, err
	}
	code := st.GetCode(address)
	return code, st.Error()
}

// GetStorageAt returns one storage slot of address at a block.
func (api *EthAPI) GetStorageAt(ctx context.Context, address common.Address, hexKey string, bnh rpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	key, err := decodeStorageKey(hexKey)
	if err != nil {
		return nil, newInvalidParamsError("unable to decode storage key: %s", err)
	}
	st, header, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, err
	}
	if api.theGate().Confidential(ctx, st, header, address) {
		return nil, confidentialStorageError(address)
	}
	v := st.GetState(address, key)
	return v[:], st.Error()
}

// confidentialStorageError refuses to read a confidential contract's
// storage: its state is read through its functions.
func confidentialStorageError(addr common.Address) error {
	return fmt.Errorf("the storage of %v is not readable: it is a confidential contract (call its functions)", addr)
}

// decodeStorageKey accepts a hex slot of up to 32 bytes, with or without
// leading zeros, as geth does.
func decodeStorageKey(s string) (common.Hash, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hexutil.Decode("0x" + s)
	if err != nil && s != "" {
		return common.Hash{}, errors.New("hex string invalid")
	}
	if len(b) > 32 {
		return common.Hash{}, errors.New("hex string too long, want at most 32 bytes")
	}
	return common.BytesToHash(b), nil
}

// blockOverrides are the optional block-context overrides of eth_call.
type blockOverrides struct {
	Number        *hexutil.Big    `json:"number"`
	Time          *hexutil.Uint64 `json:"time"`
	GasLimit      *hexutil.Uint64 `json:"gasLimit"`
	FeeRecipient  *common.Address `json:"feeRecipient"`
	PrevRandao    *common.Hash    `json:"prevRandao"`
	BaseFeePerGas *hexutil.Big    `json:"baseFeePerGas"`
	BlobBaseFee   *hexutil.Big    `json:"blobBaseFee"`
}

func (o *blockOverrides) apply(ctx *vm.BlockContext) {
	if o == nil {
		return
	}
	if o.Number != nil {
		ctx.BlockNumber = o.Number.ToInt()
	}
	if o.Time != nil {
		ctx.Time = uint64(*o.Time)
	}
	if o.GasLimit != nil {
		ctx.GasLimit = uint64(*o.GasLimit)
	}
	if o.FeeRecipient != nil {
		ctx.Coinbase = *o.FeeRecipient
	}
	if o.PrevRandao != nil {
		ctx.Random = o.PrevRandao
	}
	if o.BaseFeePerGas != nil {
		ctx.BaseFee = o.BaseFeePerGas.ToInt()
	}
	if o.BlobBaseFee != nil {
		ctx.BlobBaseFee = o.BlobBaseFee.ToInt()
	}
}

// errConfidentialOverride refuses overrides in a call that touches a
// confidential contract: they would let anyone rewrite its code and read
// its storage.
var errConfidentialOverride = errors.New("state and block overrides are refused in calls that touch a confidential contract")

// doCall executes a message against the state of a block without
// committing anything. A call that touches a confidential contract runs
// as the proven caller, or as the zero address for an anonymous one,
// whatever its "from" says; public contracts see "from" as geth gives it.
func (api *EthAPI) doCall(ctx context.Context, args TransactionArgs, bnh rpc.BlockNumberOrHash, overrides *StateOverride, bo *blockOverrides) (*core.ExecutionResult, error) {
	if err := args.checkChainID(api.b.ChainConfig().ChainID); err != nil {
		return nil, err
	}
	caller, err := api.callCaller(ctx, &args)
	if err != nil {
		return nil, err
	}
	touched := make(map[common.Address]struct{})
	result, err := api.execCall(ctx, args, bnh, overrides, bo, touched)
	if err != nil {
		return nil, err
	}
	rerun, err := api.confidentialSender(ctx, &args, bnh, overrides != nil || bo != nil, caller, touched)
	if err != nil || !rerun {
		return result, err
	}
	return api.execCall(ctx, args, bnh, nil, nil, nil)
}

// confidentialSender decides whether a call that touched the contracts
// in touched must run again as its proven caller (args.From is set to
// it, the zero address when anonymous).
func (api *EthAPI) confidentialSender(ctx context.Context, args *TransactionArgs, bnh rpc.BlockNumberOrHash, overridden bool, caller *common.Address, touched map[common.Address]struct{}) (bool, error) {
	gate := api.theGate()
	if _, open := gate.(openGate); open || len(touched) == 0 {
		return false, nil
	}
	st, header, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return false, err
	}
	confidential := false
	for addr := range touched {
		if gate.Confidential(ctx, st, header, addr) {
			confidential = true
			break
		}
	}
	if !confidential {
		return false, nil
	}
	if overridden {
		return false, errConfidentialOverride
	}
	want := common.Address{}
	if caller != nil {
		want = *caller
	}
	if args.from() == want {
		return false, nil
	}
	args.From = &want
	return true, nil
}

// execCall runs the call once; touched, if not nil, collects every account
// the call enters.
func (api *EthAPI) execCall(ctx context.Context, args TransactionArgs, bnh rpc.BlockNumberOrHash, overrides *StateOverride, bo *blockOverrides, touched map[common.Address]struct{}) (*core.ExecutionResult, error) {
	st, header, err := api.b.StateAndHeaderByNumberOrHash(ctx, bnh)
	if err != nil {
		return nil, err
	}
	if overrides != nil {
		if err := overrides.Apply(st); err != nil {
			return nil, err
		}
	}
	var cancel context.CancelFunc
	if t := api.cfg.EVMTimeout; t > 0 {
		ctx, cancel = context.WithTimeout(ctx, t)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	blockCtx := core.NewEVMBlockContext(header, api.b.ChainContext(), nil)
	bo.apply(&blockCtx)
	msg, err := args.ToMessage(blockCtx.BaseFee, api.cfg.GasCap, header)
	if err != nil {
		return nil, err
	}
	prepareCallContext(msg, &blockCtx)
	cfg := callVMConfig()
	if touched != nil {
		cfg.Tracer = enterRecorder(touched)
	}
	evm := api.b.NewEVM(blockCtx, st, cfg)
	go func() {
		<-ctx.Done()
		evm.Cancel()
	}()
	gp := core.NewGasPool(callGasBudget(api.cfg.GasCap))
	result, err := core.ApplyMessage(evm, msg, gp)
	if evm.Cancelled() {
		return nil, callTimeoutError(api.cfg.EVMTimeout)
	}
	if err := st.Error(); err != nil {
		return nil, err // a state the node no longer holds (pruned)
	}
	if err != nil {
		return nil, wrapCallError(err, msg.GasLimit)
	}
	return result, nil
}

// enterRecorder is a tracer that records every account a call enters.
func enterRecorder(touched map[common.Address]struct{}) *tracing.Hooks {
	return &tracing.Hooks{
		OnEnter: func(depth int, typ byte, from, to common.Address, input []byte, gas uint64, value *big.Int) {
			touched[to] = struct{}{}
		},
	}
}

// Call executes a read-only call. A revert answers JSON-RPC error code 3
// with the revert data, so clients decode reasons and custom errors.
func (api *EthAPI) Call(ctx context.Context, args TransactionArgs, bnh *rpc.BlockNumberOrHash, overrides *StateOverride, bo *blockOverrides) (hexutil.Bytes, error) {
	result, err := api.doCall(ctx, args, latestIfNil(bnh), overrides, bo)
	if err != nil {
		return nil, err
	}
	if errors.Is(result.Err, vm.ErrExecutionReverted) {
		return nil, newRevertError(result.Revert())
	}
	return result.Return(), result.Err
}

// EstimateGas finds the least gas with which the transaction succeeds.
func (api *EthAPI) EstimateGas(ctx context.Context, args TransactionArgs, bnh *rpc.BlockNumberOrHash, overrides *StateOverride, bo *blockOverrides) (hexutil.Uint64, error) {
	if err := args.checkChainID(api.b.ChainConfig().ChainID); err != nil {
		return 0, err
	}
	caller, err := api.callCaller(ctx, &args)
	if err != nil {
		return 0, err
	}
	// Learn which accounts the call touches with one run at the cap and no
	// fee: estimate as the sender a confidential contract would see, and
	// with the node's own EVM when a stateful precompile is involved. A
	// run that fails before executing fails alike at any gas: the
	// estimator below answers it with geth's error.
	touched := make(map[common.Address]struct{})
	probe := args
	probe.Gas, probe.GasPrice, probe.MaxFeePerGas, probe.MaxPriorityFeePerGas = nil, nil, nil, nil
	ownEVM := api.b.Spec().Coco.Governed()
	if _, err := api.execCall(ctx, probe, latestIfNil(bnh), overrides, bo, touched); err == nil {
		if _, err := api.confidentialSender(ctx, &args, latestIfNil(bnh), overrides != nil || bo != nil, caller, touched); err != nil {
			return 0, err
		}
		for _, addr := range api.b.StatefulPrecompiles() {
			if _, ok := touched[addr]; ok {
				ownEVM = true
			}
		}
	}
	st, header, err := api.b.StateAndHeaderByNumberOrHash(ctx, latestIfNil(bnh))
	if err != nil {
		return 0, err
	}
	if overrides != nil {
		if err := overrides.Apply(st); err != nil {
			return 0, err
		}
	}
	if bo != nil {
		header = types.CopyHeader(header)
		if bo.GasLimit != nil {
			header.GasLimit = uint64(*bo.GasLimit)
		}
		if bo.BaseFeePerGas != nil {
			header.BaseFee = bo.BaseFeePerGas.ToInt()
		}
		if bo.Time != nil {
			header.Time = uint64(*bo.Time)
		}
	}
	msg, err := args.ToEstimateMessage(header.BaseFee, api.cfg.GasCap, header)
	if err != nil {
		return 0, err
	}
	if ownEVM {
		// go-ethereum's estimator builds its own EVM, without the node's
		// stateful precompiles (governance, randomness): search with ours.
		return estimateGas(ctx, api.b, api.cfg.GasCap, msg, st, header)
	}
	opts := &gasestimator.Options{
		Config:     api.b.ChainConfig(),
		Chain:      api.b.ChainContext(),
		Header:     header,
		State:      st,
		ErrorRatio: 0.015,
	}
	gas, revert, err := gasestimator.Estimate(ctx, msg, opts, api.cfg.GasCap)
	if err != nil {
		if errors.Is(err, vm.ErrExecutionReverted) {
			return 0, newRevertError(revert)
		}
		return 0, err
	}
	return hexutil.Uint64(gas), nil
}

// GasPrice suggests a legacy gas price: the head's base fee plus the
// suggested tip, as geth.
func (api *EthAPI) GasPrice() *hexutil.Big {
	price := new(big.Int).Set(suggestTip)
	if bf := api.b.CurrentHeader().BaseFee; bf != nil {
		price.Add(price, bf)
	}
	return (*hexutil.Big)(price)
}

// BlobBaseFee returns the blob base fee of the next block.
func (api *EthAPI) BlobBaseFee() *hexutil.Big {
	head := api.b.CurrentHeader()
	if head.ExcessBlobGas == nil {
		return (*hexutil.Big)(new(big.Int))
	}
	next := api.b.NextHeader(head, head.Time+1)
	return (*hexutil.Big)(eip4844.CalcBlobFee(api.b.ChainConfig(), next))
}

// MaxPriorityFeePerGas suggests a tip for EIP-1559 transactions.
func (api *EthAPI) MaxPriorityFeePerGas() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int).Set(suggestTip))
}

// maxFeeHistory is the most blocks one eth_feeHistory call reports, as geth.
const maxFeeHistory = 1024

// FeeHistory returns base fees, gas used ratios and tip percentiles of a
// range of blocks ending at newest.
func (api *EthAPI) FeeHistory(ctx context.Context, blockCount math.HexOrDecimal64, newest rpc.BlockNumber, rewardPercentiles []float64) (*feeHistoryResult, error) {
	count := uint64(blockCount)
	if count == 0 {
		return feeHistory(nil, nil, nil, nil, api.b.ChainConfig())
	}
	if err := validateRewardPercentiles(rewardPercentiles); err != nil {
		return nil, err
	}
	if count > maxFeeHistory {
		count = maxFeeHistory
	}
	last := headerByNumber(ctx, api.b, newest)
	if last == nil {
		head := api.b.CurrentHeader()
		return nil, fmt.Errorf("%w: requested %d, head %d", errRequestBeyondHead, newest, head.Number.Uint64())
	}
	oldest, count := feeHistoryRange(count, last.Number.Uint64())
	headers := make([]*types.Header, 0, count)
	var blocks []*types.Block
	var receipts []types.Receipts
	for n := oldest; n < oldest+count; n++ {
		h := headerByNumber(ctx, api.b, rpc.BlockNumber(n))
		if h == nil {
			break
		}
		headers = append(headers, h)
		if len(rewardPercentiles) > 0 {
			blocks = append(blocks, blockByHash(ctx, api.b, h.Hash()))
			receipts = append(receipts, receiptsByHash(ctx, api.b, h.Hash()))
		}
	}
	return feeHistory(headers, receipts, blocks, rewardPercentiles, api.b.ChainConfig())
}

// SendRawTransaction admits a signed transaction and returns its hash.
func (api *EthAPI) SendRawTransaction(ctx context.Context, input hexutil.Bytes) (common.Hash, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(input); err != nil {
		return common.Hash{}, err
	}
	if err := checkTxFee(tx.GasPrice(), tx.Gas(), api.cfg.TxFeeCap); err != nil {
		return common.Hash{}, err
	}
	if err := api.b.SendTx(ctx, tx); err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// checkTxFee refuses transactions whose fee exceeds the cap (in ether).
func checkTxFee(gasPrice *big.Int, gas uint64, cap float64) error {
	if cap == 0 {
		return nil
	}
	fee := new(big.Float).Quo(new(big.Float).SetInt(new(big.Int).Mul(gasPrice, new(big.Int).SetUint64(gas))), new(big.Float).SetInt(big.NewInt(params.Ether)))
	if f, _ := fee.Float64(); f > cap {
		return fmt.Errorf("tx fee (%.2f ether) exceeds the configured cap (%.2f ether)", f, cap)
	}
	return nil
}

// GetTransactionByHash returns a committed or pooled transaction, or null
// (also for one the caller may not see).
func (api *EthAPI) GetTransactionByHash(ctx context.Context, hash common.Hash) (*rpcTransaction, error) {
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	if tx, blockHash, number, index := api.b.GetTransaction(ctx, hash); tx != nil {
		header := headerByHash(ctx, api.b, blockHash)
		if header == nil || !v.tx(tx, blockHash) {
			return nil, nil
		}
		return newRPCTransaction(tx, blockHash, number, header.Time, index, header.BaseFee, api.b.ChainConfig()), nil
	}
	if tx := api.b.PoolTransaction(hash); tx != nil {
		head := api.b.CurrentHeader()
		if !v.tx(tx, head.Hash()) {
			return nil, nil
		}
		return newRPCPendingTransaction(tx, head, api.b.ChainConfig()), nil
	}
	return nil, nil
}

// GetRawTransactionByHash returns the encoding of a transaction, or null.
func (api *EthAPI) GetRawTransactionByHash(ctx context.Context, hash common.Hash) (hexutil.Bytes, error) {
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	tx, blockHash, _, _ := api.b.GetTransaction(ctx, hash)
	if tx == nil {
		if tx = api.b.PoolTransaction(hash); tx == nil {
			return nil, nil
		}
		blockHash = api.b.CurrentHeader().Hash()
	}
	if !v.tx(tx, blockHash) {
		return nil, nil
	}
	return tx.MarshalBinary()
}

// GetTransactionReceipt returns the receipt of a committed transaction, or
// null while it is pending or unknown.
func (api *EthAPI) GetTransactionReceipt(ctx context.Context, hash common.Hash) (map[string]any, error) {
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	tx, blockHash, number, index := api.b.GetTransaction(ctx, hash)
	if tx == nil || !v.tx(tx, blockHash) {
		return nil, nil
	}
	receipts := receiptsByHash(ctx, api.b, blockHash)
	if uint64(len(receipts)) <= index {
		return nil, nil
	}
	header := headerByHash(ctx, api.b, blockHash)
	signer := types.MakeSigner(api.b.ChainConfig(), header.Number, header.Time)
	return marshalReceipt(v.receipt(receipts[index]), blockHash, number, signer, tx, int(index)), nil
}

// GetBlockByNumber returns a block, or null when it does not exist. The
// "pending" block is the empty block the next one will extend: number,
// parent, time and base fee of the next block, with hash, nonce and miner
// null as geth shows pending blocks.
func (api *EthAPI) GetBlockByNumber(ctx context.Context, number rpc.BlockNumber, fullTx bool) (map[string]any, error) {
	if number == rpc.PendingBlockNumber {
		return api.pendingBlock(fullTx), nil
	}
	block := blockByNumberOrHash(ctx, api.b, rpc.BlockNumberOrHashWithNumber(number))
	if block == nil {
		return nil, nil
	}
	return api.marshalBlock(ctx, block, fullTx)
}

func (api *EthAPI) pendingBlock(fullTx bool) map[string]any {
	head := api.b.CurrentHeader()
	header := api.b.NextHeader(head, uint64(time.Now().Unix()))
	header.Root = head.Root
	body := &types.Body{}
	if header.WithdrawalsHash != nil {
		body.Withdrawals = []*types.Withdrawal{}
	}
	block := types.NewBlock(header, body, nil, trie.NewStackTrie(nil))
	out := rpcMarshalBlock(block, true, fullTx, api.b.ChainConfig())
	for _, field := range []string{"hash", "nonce", "miner"} {
		out[field] = nil
	}
	return out
}

// GetBlockByHash returns a block, or null when it does not exist.
func (api *EthAPI) GetBlockByHash(ctx context.Context, hash common.Hash, fullTx bool) (map[string]any, error) {
	block := blockByHash(ctx, api.b, hash)
	if block == nil {
		return nil, nil
	}
	return api.marshalBlock(ctx, block, fullTx)
}

// GetHeaderByNumber returns a block header, or null.
func (api *EthAPI) GetHeaderByNumber(ctx context.Context, number rpc.BlockNumber) (map[string]any, error) {
	if number == rpc.PendingBlockNumber {
		return nil, nil // as geth: a pending block has no final header
	}
	h := headerByNumber(ctx, api.b, number)
	if h == nil {
		return nil, nil
	}
	return rpcMarshalHeader(h), nil
}

// GetHeaderByHash returns a block header, or null.
func (api *EthAPI) GetHeaderByHash(ctx context.Context, hash common.Hash) map[string]any {
	h := headerByHash(ctx, api.b, hash)
	if h == nil {
		return nil
	}
	return rpcMarshalHeader(h)
}

// GetBlockTransactionCountByNumber returns the number of transactions of a
// block, or null.
func (api *EthAPI) GetBlockTransactionCountByNumber(ctx context.Context, number rpc.BlockNumber) *hexutil.Uint {
	block := blockByNumberOrHash(ctx, api.b, rpc.BlockNumberOrHashWithNumber(number))
	if block == nil {
		return nil
	}
	n := hexutil.Uint(len(block.Transactions()))
	return &n
}

// GetBlockTransactionCountByHash returns the number of transactions of a
// block, or null.
func (api *EthAPI) GetBlockTransactionCountByHash(ctx context.Context, hash common.Hash) *hexutil.Uint {
	block := blockByHash(ctx, api.b, hash)
	if block == nil {
		return nil
	}
	n := hexutil.Uint(len(block.Transactions()))
	return &n
}

// marshalBlock is a block's JSON. With full transactions, only those the
// caller may see are listed (with their positions in the block); a list
// of hashes is always complete, so the header verifies.
func (api *EthAPI) marshalBlock(ctx context.Context, block *types.Block, fullTx bool) (map[string]any, error) {
	out := rpcMarshalBlock(block, true, fullTx, api.b.ChainConfig())
	if !fullTx {
		return out, nil
	}
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	if v.open {
		return out, nil
	}
	txs, idx := v.blockTxs(block)
	list := make([]any, len(txs))
	for i, tx := range txs {
		list[i] = newRPCTransaction(tx, block.Hash(), block.NumberU64(), block.Time(), uint64(idx[i]), block.BaseFee(), api.b.ChainConfig())
	}
	out["transactions"] = list
	return out, nil
}

func (api *EthAPI) txAt(ctx context.Context, block *types.Block, index hexutil.Uint) (*rpcTransaction, error) {
	if block == nil || int(index) >= len(block.Transactions()) {
		return nil, nil
	}
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	tx := block.Transactions()[index]
	if !v.tx(tx, block.Hash()) {
		return nil, nil
	}
	return newRPCTransaction(tx, block.Hash(), block.NumberU64(), block.Time(), uint64(index), block.BaseFee(), api.b.ChainConfig()), nil
}

// GetTransactionByBlockNumberAndIndex returns a transaction, or null.
func (api *EthAPI) GetTransactionByBlockNumberAndIndex(ctx context.Context, number rpc.BlockNumber, index hexutil.Uint) (*rpcTransaction, error) {
	return api.txAt(ctx, blockByNumberOrHash(ctx, api.b, rpc.BlockNumberOrHashWithNumber(number)), index)
}

// GetTransactionByBlockHashAndIndex returns a transaction, or null.
func (api *EthAPI) GetTransactionByBlockHashAndIndex(ctx context.Context, hash common.Hash, index hexutil.Uint) (*rpcTransaction, error) {
	return api.txAt(ctx, blockByHash(ctx, api.b, hash), index)
}

// GetBlockReceipts returns all receipts of a block, or null.
func (api *EthAPI) GetBlockReceipts(ctx context.Context, bnh rpc.BlockNumberOrHash) ([]map[string]any, error) {
	block := blockByNumberOrHash(ctx, api.b, bnh)
	if block == nil {
		return nil, nil
	}
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, err
	}
	receipts := receiptsByHash(ctx, api.b, block.Hash())
	txs := block.Transactions()
	if len(receipts) != len(txs) {
		return nil, fmt.Errorf("receipts length mismatch: %d vs %d", len(receipts), len(txs))
	}
	signer := types.MakeSigner(api.b.ChainConfig(), block.Number(), block.Time())
	var visible []int
	var shown []*types.Receipt
	for i, r := range receipts {
		if v.tx(txs[i], block.Hash()) {
			visible, shown = append(visible, i), append(shown, r)
		}
	}
	shown = v.receipts(shown)
	out := make([]map[string]any, len(shown))
	for j, r := range shown {
		i := visible[j]
		out[j] = marshalReceipt(r, block.Hash(), block.NumberU64(), signer, txs[i], i)
	}
	return out, nil
}

// GetUncleCountByBlockNumber is 0 for existing blocks: there are no uncles.
func (api *EthAPI) GetUncleCountByBlockNumber(ctx context.Context, number rpc.BlockNumber) *hexutil.Uint {
	if headerByNumber(ctx, api.b, number) == nil {
		return nil
	}
	n := hexutil.Uint(0)
	return &n
}

// GetUncleCountByBlockHash is 0 for existing blocks: there are no uncles.
func (api *EthAPI) GetUncleCountByBlockHash(ctx context.Context, hash common.Hash) *hexutil.Uint {
	if headerByHash(ctx, api.b, hash) == nil {
		return nil
	}
	n := hexutil.Uint(0)
	return &n
}

// GetUncleByBlockNumberAndIndex is always null.
func (api *EthAPI) GetUncleByBlockNumberAndIndex(ctx context.Context, number rpc.BlockNumber, index hexutil.Uint) map[string]any {
	return nil
}

// GetUncleByBlockHashAndIndex is always null.
func (api *EthAPI) GetUncleByBlockHashAndIndex(ctx context.Context, hash common.Hash, index hexutil.Uint) map[string]any {
	return nil
}

// Mining is false: blocks are ordered by the ledger, not mined.
func (api *EthAPI) Mining() bool { return false }

// Hashrate is 0.
func (api *EthAPI) Hashrate() hexutil.Uint64 { return 0 }

// Coinbase is the fee recipient of this chain's blocks.
func (api *EthAPI) Coinbase() common.Address { return api.b.Spec().Coco.Coinbase }

// NetAPI is the net_ namespace.
type NetAPI struct {
	b   Backend
	cfg Config
}

// Version returns the network id.
func (api *NetAPI) Version() string {
	if id := api.cfg.NetworkID; id != 0 {
		return fmt.Sprint(id)
	}
	return api.b.ChainConfig().ChainID.String()
}

// Listening is true while the node serves.
func (api *NetAPI) Listening() bool { return true }

// PeerCount is the number of other validating nodes connected.
func (api *NetAPI) PeerCount() hexutil.Uint { return 0 }

// TxPoolAPI is the txpool_ namespace.
type TxPoolAPI struct {
	b    Backend
	gate Gate
}

// content is the pool as the caller may see it.
func (api *TxPoolAPI) content(ctx context.Context) (pending, queued map[common.Address][]*types.Transaction, err error) {
	v, err := newView(ctx, api.b, api.gate)
	if err != nil {
		return nil, nil, err
	}
	pending, queued = api.b.PoolContent()
	if v.open {
		return pending, queued, nil
	}
	head := api.b.CurrentHeader().Hash()
	visible := func(m map[common.Address][]*types.Transaction) map[common.Address][]*types.Transaction {
		out := make(map[common.Address][]*types.Transaction, len(m))
		for addr, list := range m {
			var keep []*types.Transaction
			for _, tx := range list {
				if v.tx(tx, head) {
					keep = append(keep, tx)
				}
			}
			if len(keep) > 0 {
				out[addr] = keep
			}
		}
		return out
	}
	return visible(pending), visible(queued), nil
}

// Status returns the number of pending and queued transactions.
func (api *TxPoolAPI) Status() map[string]hexutil.Uint {
	pending, queued := api.b.PoolStats()
	return map[string]hexutil.Uint{"pending": hexutil.Uint(pending), "queued": hexutil.Uint(queued)}
}

func (api *TxPoolAPI) group(txs map[common.Address][]*types.Transaction) map[string]map[string]*rpcTransaction {
	head := api.b.CurrentHeader()
	out := make(map[string]map[string]*rpcTransaction, len(txs))
	for addr, list := range txs {
		m := make(map[string]*rpcTransaction, len(list))
		for _, tx := range list {
			m[fmt.Sprint(tx.Nonce())] = newRPCPendingTransaction(tx, head, api.b.ChainConfig())
		}
		out[addr.Hex()] = m
	}
	return out
}

// Content returns the pooled transactions by account and nonce.
func (api *TxPoolAPI) Content(ctx context.Context) (map[string]map[string]map[string]*rpcTransaction, error) {
	pending, queued, err := api.content(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]map[string]map[string]*rpcTransaction{
		"pending": api.group(pending),
		"queued":  api.group(queued),
	}, nil
}

// ContentFrom returns the pooled transactions of one account.
func (api *TxPoolAPI) ContentFrom(ctx context.Context, addr common.Address) (map[string]map[string]*rpcTransaction, error) {
	pending, queued, err := api.content(ctx)
	if err != nil {
		return nil, err
	}
	one := func(m map[common.Address][]*types.Transaction) map[string]*rpcTransaction {
		return api.group(map[common.Address][]*types.Transaction{addr: m[addr]})[addr.Hex()]
	}
	return map[string]map[string]*rpcTransaction{"pending": one(pending), "queued": one(queued)}, nil
}

// Inspect summarises the pooled transactions as text, as geth does.
func (api *TxPoolAPI) Inspect(ctx context.Context) (map[string]map[string]map[string]string, error) {
	pending, queued, err := api.content(ctx)
	if err != nil {
		return nil, err
	}
	format := func(txs map[common.Address][]*types.Transaction) map[string]map[string]string {
		out := make(map[string]map[string]string, len(txs))
		for addr, list := range txs {
			m := make(map[string]string, len(list))
			for _, tx := range list {
				to := "contract creation"
				if tx.To() != nil {
					to = tx.To().Hex()
				}
				m[fmt.Sprint(tx.Nonce())] = fmt.Sprintf("%s: %v wei + %v gas × %v wei", to, tx.Value(), tx.Gas(), tx.GasPrice())
			}
			out[addr.Hex()] = m
		}
		return out
	}
	return map[string]map[string]map[string]string{"pending": format(pending), "queued": format(queued)}, nil
}
