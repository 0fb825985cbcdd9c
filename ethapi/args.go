package ethapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// TransactionArgs is the transaction object of eth_call, eth_estimateGas,
// eth_createAccessList and eth_sendTransaction, decoded from the same JSON
// field names as geth's.
type TransactionArgs struct {
	From                 *common.Address `json:"from"`
	To                   *common.Address `json:"to"`
	Gas                  *hexutil.Uint64 `json:"gas"`
	GasPrice             *hexutil.Big    `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big    `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *hexutil.Big    `json:"maxPriorityFeePerGas"`
	Value                *hexutil.Big    `json:"value"`
	Nonce                *hexutil.Uint64 `json:"nonce"`

	// Call data may come as "data" (legacy name) or "input"; "input" wins
	// when both are given.
	Data  *hexutil.Bytes `json:"data"`
	Input *hexutil.Bytes `json:"input"`

	// EIP-2930
	AccessList *types.AccessList `json:"accessList,omitempty"`
	ChainID    *hexutil.Big      `json:"chainId,omitempty"`

	// EIP-4844
	BlobFeeCap *hexutil.Big  `json:"maxFeePerBlobGas"`
	BlobHashes []common.Hash `json:"blobVersionedHashes,omitempty"`

	// EIP-7702
	AuthorizationList []types.SetCodeAuthorization `json:"authorizationList"`

	// Auth proves "from" in eth_call and eth_estimateGas (a signed call,
	// checked by the Authenticator); other methods ignore it.
	Auth json.RawMessage `json:"auth,omitempty"`
}

// from is the sender, the zero address when none was given.
func (args *TransactionArgs) from() common.Address {
	if args.From == nil {
		return common.Address{}
	}
	return *args.From
}

// data is the call data, preferring "input" over "data".
func (args *TransactionArgs) data() []byte {
	switch {
	case args.Input != nil:
		return *args.Input
	case args.Data != nil:
		return *args.Data
	}
	return nil
}

// checkDataInput rejects differing "data" and "input". geth applies it to
// transactions to be signed and sent (eth_sendTransaction,
// eth_signTransaction, eth_fillTransaction); calls silently use "input".
func (args *TransactionArgs) checkDataInput() error {
	if args.Data != nil && args.Input != nil && !bytes.Equal(*args.Data, *args.Input) {
		return errors.New(`both "data" and "input" are set and not equal. Please use "input" to pass transaction call data`)
	}
	return nil
}

// checkBlobFeeCap rejects a blob fee cap without blob hashes, as geth's
// eth_call, eth_estimateGas and eth_createAccessList do before anything else.
func (args *TransactionArgs) checkBlobFeeCap() error {
	if args.BlobFeeCap != nil && len(args.BlobHashes) == 0 {
		return errors.New("maxFeePerBlobGas specified without blobVersionedHashes")
	}
	return nil
}

// checkChainID rejects a chainId different from the node's.
func (args *TransactionArgs) checkChainID(chainID *big.Int) error {
	if args.ChainID != nil && chainID != nil {
		if have := args.ChainID.ToInt(); have.Cmp(chainID) != 0 {
			return fmt.Errorf("chainId does not match node's (have=%v, want=%v)", have, chainID)
		}
	}
	return nil
}

// CallDefaults validates the fee fields and fills in what a call needs, with
// geth's CallDefaults semantics: gas defaults to globalGasCap (MaxUint64/2
// when the cap is 0) and a larger gas is capped to it; nonce and value
// default to 0; without a base fee (pre-London) gasPrice defaults to 0 and the
// 1559 fields are refused; with a base fee maxFeePerGas and
// maxPriorityFeePerGas default to 0. A nil chainID skips the chain id check.
func (args *TransactionArgs) CallDefaults(globalGasCap uint64, baseFee *big.Int, chainID *big.Int) error {
	if args.GasPrice != nil && (args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil) {
		return errors.New("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	if args.To == nil {
		// Blob and set-code transactions cannot create contracts.
		if args.BlobHashes != nil {
			return core.ErrBlobTxCreate
		}
		if args.AuthorizationList != nil {
			return core.ErrSetCodeTxCreate
		}
	}
	if err := args.checkChainID(chainID); err != nil {
		return err
	}
	if args.ChainID == nil && chainID != nil {
		args.ChainID = (*hexutil.Big)(new(big.Int).Set(chainID))
	}
	if args.Gas == nil {
		gas := globalGasCap
		if gas == 0 {
			gas = math.MaxUint64 / 2
		}
		args.Gas = (*hexutil.Uint64)(&gas)
	} else if globalGasCap > 0 && globalGasCap < uint64(*args.Gas) {
		gas := globalGasCap
		args.Gas = (*hexutil.Uint64)(&gas)
	}
	if args.Nonce == nil {
		args.Nonce = new(hexutil.Uint64)
	}
	if args.Value == nil {
		args.Value = new(hexutil.Big)
	}
	if baseFee == nil {
		if args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil {
			return errors.New("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
		}
		if args.GasPrice == nil {
			args.GasPrice = new(hexutil.Big)
		}
	} else {
		if args.MaxFeePerGas == nil {
			args.MaxFeePerGas = new(hexutil.Big)
		}
		if args.MaxPriorityFeePerGas == nil {
			args.MaxPriorityFeePerGas = new(hexutil.Big)
		}
	}
	if args.BlobFeeCap == nil && args.BlobHashes != nil {
		args.BlobFeeCap = new(hexutil.Big)
	}
	return nil
}

// callGasBudget is the gas available to a single eth_call: the RPC gas cap,
// or unlimited when the cap is 0. Use it both for the gas pool of the call
// (core.NewGasPool(callGasBudget(cap))) and, through ToMessage, as the
// default gas of the message.
func callGasBudget(globalGasCap uint64) uint64 {
	if globalGasCap == 0 {
		return math.MaxUint64
	}
	return globalGasCap
}

// ToMessage prepares the arguments of an eth_call for execution, as geth's
// doCall does: it rejects maxFeePerBlobGas without blobVersionedHashes,
// applies CallDefaults with the call's gas budget (so gas defaults to
// globalGasCap, or MaxUint64 when the cap is 0, and is capped by it), and
// converts the result into a message that skips the nonce, EOA and
// tx-gas-limit-cap checks.
//
// baseFee is the base fee of the EVM block context the call runs in, after
// any block override (nil before London); when it is nil the header's base
// fee is used (header may be nil). geth prices the message with the same
// value. The chain id is not known here: call args.checkChainID(chainID)
// first to reject a foreign chainId as geth does.
//
// When the message's GasPrice is zero (no fee given) the caller must zero the
// block context's BaseFee, and likewise BlobBaseFee for a zero blob fee cap,
// and run the EVM with vm.Config{NoBaseFee: true}: see prepareCallContext and
// callVMConfig. A call without fees thus needs no balance for gas.
func (args *TransactionArgs) ToMessage(baseFee *big.Int, globalGasCap uint64, header *types.Header) (*core.Message, error) {
	if err := args.checkBlobFeeCap(); err != nil {
		return nil, err
	}
	baseFee = messageBaseFee(baseFee, header)
	if err := args.CallDefaults(callGasBudget(globalGasCap), baseFee, nil); err != nil {
		return nil, err
	}
	return args.message(baseFee).SkipExecutionGasCapCheck(), nil
}

// ToEstimateMessage prepares the arguments of an eth_estimateGas as geth's
// DoEstimateGas does: a missing gas stays 0 so that the estimator searches up
// to the block gas limit, a given gas is capped at globalGasCap, and the
// message keeps the Amsterdam execution gas cap. baseFee and header are as
// for ToMessage, and so is the chain id check. Pass the result and
// globalGasCap to gasestimator.Estimate, and answer a failure whose error is
// vm.ErrExecutionReverted with newRevertError(revert), even when revert is
// empty.
func (args *TransactionArgs) ToEstimateMessage(baseFee *big.Int, globalGasCap uint64, header *types.Header) (*core.Message, error) {
	if err := args.checkBlobFeeCap(); err != nil {
		return nil, err
	}
	if args.Gas == nil {
		args.Gas = new(hexutil.Uint64)
	}
	baseFee = messageBaseFee(baseFee, header)
	if err := args.CallDefaults(globalGasCap, baseFee, nil); err != nil {
		return nil, err
	}
	return args.message(baseFee), nil
}

func messageBaseFee(baseFee *big.Int, header *types.Header) *big.Int {
	if baseFee == nil && header != nil {
		return header.BaseFee
	}
	return baseFee
}

// message converts defaulted arguments (see CallDefaults) into a message.
// With a base fee and no legacy gasPrice, the message's GasPrice is
// min(tip + baseFee, feeCap), or 0 when both fee fields are 0.
func (args *TransactionArgs) message(baseFee *big.Int) *core.Message {
	var gasPrice, feeCap, tipCap *uint256.Int
	if baseFee == nil || args.GasPrice != nil {
		// Legacy pricing: the one price is also the fee cap and the tip.
		gasPrice, _ = args.GasPrice.ToUint256()
		feeCap, tipCap = gasPrice, gasPrice
	} else {
		feeCap, _ = args.MaxFeePerGas.ToUint256()
		tipCap, _ = args.MaxPriorityFeePerGas.ToUint256()
		gasPrice = new(uint256.Int)
		if !feeCap.IsZero() || !tipCap.IsZero() {
			gasPrice.Add(tipCap, uint256.MustFromBig(baseFee))
			if gasPrice.Cmp(feeCap) > 0 {
				gasPrice = feeCap
			}
		}
	}
	var acl types.AccessList
	if args.AccessList != nil {
		acl = *args.AccessList
	}
	value, _ := args.Value.ToUint256()
	blobFeeCap, _ := args.BlobFeeCap.ToUint256()
	msg := &core.Message{
		From:                  args.from(),
		To:                    args.To,
		Value:                 value,
		Nonce:                 uint64(*args.Nonce),
		GasLimit:              uint64(*args.Gas),
		GasPrice:              gasPrice,
		GasFeeCap:             feeCap,
		GasTipCap:             tipCap,
		Data:                  args.data(),
		AccessList:            acl,
		BlobGasFeeCap:         blobFeeCap,
		BlobHashes:            args.BlobHashes,
		SetCodeAuthorizations: args.AuthorizationList,
	}
	return msg.SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck()
}

// prepareCallContext applies geth's fee handling for calls to the block
// context the message will run in: a message without a gas price runs at a
// zero base fee (so feeCap >= baseFee holds and BASEFEE reads 0), and one
// without a blob fee cap at a zero blob base fee. Pair it with
// callVMConfig.
func prepareCallContext(msg *core.Message, blockCtx *vm.BlockContext) {
	if msg.GasPrice.IsZero() {
		blockCtx.BaseFee = new(big.Int)
	}
	if msg.BlobGasFeeCap != nil && msg.BlobGasFeeCap.IsZero() {
		blockCtx.BlobBaseFee = new(big.Int)
	}
}

// callVMConfig is the EVM configuration of eth_call: geth always disables
// the base fee check for calls.
func callVMConfig() vm.Config {
	return vm.Config{NoBaseFee: true}
}

// OverrideAccount is one account of the state-override argument of eth_call
// and eth_estimateGas. state replaces the whole storage, stateDiff patches
// single slots; giving both is an error.
type OverrideAccount struct {
	Nonce            *hexutil.Uint64             `json:"nonce"`
	Code             *hexutil.Bytes              `json:"code"`
	Balance          *hexutil.Big                `json:"balance"`
	State            map[common.Hash]common.Hash `json:"state"`
	StateDiff        map[common.Hash]common.Hash `json:"stateDiff"`
	MovePrecompileTo *common.Address             `json:"movePrecompileToAddress"`
}

// StateOverride maps addresses to the overrides of their accounts.
type StateOverride map[common.Address]OverrideAccount

// Apply writes the overrides into statedb. Moving precompiles
// (movePrecompileToAddress) needs the active precompile set: use
// ApplyWithPrecompiles for that; here every such move is refused.
func (diff *StateOverride) Apply(statedb *state.StateDB) error {
	return diff.ApplyWithPrecompiles(statedb, nil)
}

// ApplyWithPrecompiles writes the overrides into statedb, as geth does. An
// overridden precompile address loses its precompile (it is deleted from
// precompiles, which the caller then installs with evm.SetPrecompiles), and
// movePrecompileToAddress re-homes the precompile first. Accounts are
// processed in address order so that errors are deterministic.
func (diff *StateOverride) ApplyWithPrecompiles(statedb *state.StateDB, precompiles vm.PrecompiledContracts) error {
	if diff == nil {
		return nil
	}
	moved := make(map[common.Address]bool)
	for _, addr := range slices.SortedFunc(maps.Keys(*diff), common.Address.Cmp) {
		account := (*diff)[addr]
		if moved[addr] {
			return fmt.Errorf("account %s has already been overridden by a precompile", addr.Hex())
		}
		pc, isPrecompile := precompiles[addr]
		if dst := account.MovePrecompileTo; dst != nil {
			if !isPrecompile {
				return fmt.Errorf("account %s is not a precompile", addr.Hex())
			}
			if _, overridden := (*diff)[*dst]; overridden {
				return fmt.Errorf("account %s is already overridden", dst.Hex())
			}
			precompiles[*dst] = pc
			moved[*dst] = true
		}
		if isPrecompile {
			delete(precompiles, addr)
		}
		if account.Nonce != nil {
			statedb.SetNonce(addr, uint64(*account.Nonce), tracing.NonceChangeUnspecified)
		}
		if account.Code != nil {
			statedb.SetCode(addr, *account.Code, tracing.CodeChangeUnspecified)
		}
		if account.Balance != nil {
			balance, _ := uint256.FromBig(account.Balance.ToInt())
			statedb.SetBalance(addr, balance, tracing.BalanceChangeUnspecified)
		}
		if account.State != nil && account.StateDiff != nil {
			return fmt.Errorf("account %s has both 'state' and 'stateDiff'", addr.Hex())
		}
		if account.State != nil {
			statedb.SetStorage(addr, account.State)
		}
		for key, value := range account.StateDiff {
			statedb.SetState(addr, key, value)
		}
	}
	// Finalise as between two transactions, so that the call sees the
	// overrides as committed pre-state.
	statedb.Finalise(params.Rules{})
	return nil
}
