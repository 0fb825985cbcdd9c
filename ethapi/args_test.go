package ethapi

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

func rpctArgs(t *testing.T, js string) TransactionArgs {
	t.Helper()
	var args TransactionArgs
	if err := json.Unmarshal([]byte(js), &args); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return args
}

func rpctU256(m *uint256.Int) string {
	if m == nil {
		return "nil"
	}
	return m.Dec()
}

func TestTransactionArgsToMessage(t *testing.T) {
	baseFee := big.NewInt(7 * rpctGwei)
	for _, tc := range []struct {
		name     string
		args     string
		baseFee  *big.Int
		gasCap   uint64
		gas      uint64
		price    string // GasPrice, GasFeeCap, GasTipCap
		from     common.Address
		data     string
		nonce    uint64
		value    string
		blobCap  string
		hasBlobs bool
	}{
		{name: "all defaults", args: `{}`, baseFee: baseFee, gasCap: 50_000_000,
			gas: 50_000_000, price: "0 0 0", value: "0", blobCap: "nil", data: "0x"},
		{name: "no gas cap: unlimited gas", args: `{}`, baseFee: baseFee, gasCap: 0,
			gas: math.MaxUint64, price: "0 0 0", value: "0", blobCap: "nil", data: "0x"},
		{name: "gas above cap is capped", args: `{"gas":"0x5f5e100"}`, baseFee: baseFee, gasCap: 50_000_000,
			gas: 50_000_000, price: "0 0 0", value: "0", blobCap: "nil", data: "0x"},
		{name: "gas below cap kept", args: `{"gas":"0x5208"}`, baseFee: baseFee, gasCap: 50_000_000,
			gas: 21000, price: "0 0 0", value: "0", blobCap: "nil", data: "0x"},
		{name: "legacy gasPrice after London", args: `{"gasPrice":"0x3b9aca00"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "1000000000 1000000000 1000000000", value: "0", blobCap: "nil", data: "0x"},
		{name: "1559 fees: tip + base below cap", args: `{"maxFeePerGas":"0x2540be400","maxPriorityFeePerGas":"0x3b9aca00"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "8000000000 10000000000 1000000000", value: "0", blobCap: "nil", data: "0x"},
		{name: "1559 fees: capped at maxFeePerGas", args: `{"maxFeePerGas":"0x2540be400","maxPriorityFeePerGas":"0x12a05f200"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "10000000000 10000000000 5000000000", value: "0", blobCap: "nil", data: "0x"},
		{name: "only a tip", args: `{"maxPriorityFeePerGas":"0x1"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "0 0 1", value: "0", blobCap: "nil", data: "0x"},
		{name: "pre-London gasPrice", args: `{"gasPrice":"0x2"}`, baseFee: nil, gasCap: 1,
			gas: 1, price: "2 2 2", value: "0", blobCap: "nil", data: "0x"},
		{name: "pre-London defaults", args: `{}`, baseFee: nil, gasCap: 1,
			gas: 1, price: "0 0 0", value: "0", blobCap: "nil", data: "0x"},
		{name: "input preferred over data", args: `{"data":"0x01","input":"0x0203"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "0 0 0", value: "0", blobCap: "nil", data: "0x0203"},
		{name: "data alone", args: `{"data":"0x01"}`, baseFee: baseFee, gasCap: 1,
			gas: 1, price: "0 0 0", value: "0", blobCap: "nil", data: "0x01"},
		{name: "from, nonce, value",
			args:    `{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","nonce":"0x7","value":"0xde0b6b3a7640000"}`,
			baseFee: baseFee, gasCap: 1, gas: 1, price: "0 0 0", value: "1000000000000000000", blobCap: "nil", data: "0x",
			from: common.HexToAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"), nonce: 7},
		{name: "blob hashes default the blob fee cap to 0",
			args:    `{"to":"0x00000000000000000000000000000000000000aa","blobVersionedHashes":["0x0100000000000000000000000000000000000000000000000000000000000001"]}`,
			baseFee: baseFee, gasCap: 1, gas: 1, price: "0 0 0", value: "0", blobCap: "0", data: "0x", hasBlobs: true},
	} {
		args := rpctArgs(t, tc.args)
		msg, err := args.ToMessage(tc.baseFee, tc.gasCap, &types.Header{Number: big.NewInt(1), BaseFee: tc.baseFee})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if msg.GasLimit != tc.gas {
			t.Errorf("%s: gas %d, want %d", tc.name, msg.GasLimit, tc.gas)
		}
		if p := rpctU256(msg.GasPrice) + " " + rpctU256(msg.GasFeeCap) + " " + rpctU256(msg.GasTipCap); p != tc.price {
			t.Errorf("%s: prices %s, want %s", tc.name, p, tc.price)
		}
		if msg.From != tc.from || msg.Nonce != tc.nonce || rpctU256(msg.Value) != tc.value {
			t.Errorf("%s: from/nonce/value %s/%d/%s", tc.name, msg.From, msg.Nonce, rpctU256(msg.Value))
		}
		if hexutil.Encode(msg.Data) != tc.data {
			t.Errorf("%s: data %x, want %s", tc.name, msg.Data, tc.data)
		}
		if rpctU256(msg.BlobGasFeeCap) != tc.blobCap || (len(msg.BlobHashes) > 0) != tc.hasBlobs {
			t.Errorf("%s: blob fee cap %s hashes %d", tc.name, rpctU256(msg.BlobGasFeeCap), len(msg.BlobHashes))
		}
	}
}

// Without a block-context base fee the header's is used.
func TestTransactionArgsToMessageHeaderBaseFee(t *testing.T) {
	args := rpctArgs(t, `{"maxFeePerGas":"0x2540be400","maxPriorityFeePerGas":"0x3b9aca00"}`)
	header := &types.Header{Number: big.NewInt(1), BaseFee: big.NewInt(7 * rpctGwei)}
	msg, err := args.ToMessage(nil, 0, header)
	if err != nil {
		t.Fatal(err)
	}
	if msg.GasPrice.Uint64() != 8*rpctGwei {
		t.Errorf("gas price %v, want 8 gwei", msg.GasPrice)
	}
}

func TestTransactionArgsErrors(t *testing.T) {
	baseFee := big.NewInt(7 * rpctGwei)
	for _, tc := range []struct {
		name, args string
		baseFee    *big.Int
		want       string
	}{
		{"gasPrice with maxFeePerGas", `{"gasPrice":"0x1","maxFeePerGas":"0x2"}`, baseFee,
			"both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"},
		{"gasPrice with maxPriorityFeePerGas", `{"gasPrice":"0x1","maxPriorityFeePerGas":"0x2"}`, baseFee,
			"both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified"},
		{"1559 fees before London", `{"maxFeePerGas":"0x2"}`, nil,
			"maxFeePerGas and maxPriorityFeePerGas are not valid before London is active"},
		{"blob fee cap without hashes", `{"to":"0x00000000000000000000000000000000000000aa","maxFeePerBlobGas":"0x1"}`, baseFee,
			"maxFeePerBlobGas specified without blobVersionedHashes"},
		{"blob transaction creating a contract", `{"blobVersionedHashes":["0x0100000000000000000000000000000000000000000000000000000000000001"]}`, baseFee,
			"blob transaction of type create"},
		{"set-code transaction creating a contract", `{"authorizationList":[]}`, baseFee,
			"EIP-7702 transaction cannot be used to create contract"},
	} {
		args := rpctArgs(t, tc.args)
		_, err := args.ToMessage(tc.baseFee, 0, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		args = rpctArgs(t, tc.args)
		_, err = args.ToEstimateMessage(tc.baseFee, 0, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s (estimate): error %v, want %q", tc.name, err, tc.want)
		}
	}

	args := rpctArgs(t, `{"chainId":"0x1"}`)
	if err := args.checkChainID(big.NewInt(1337)); err == nil || err.Error() != "chainId does not match node's (have=1, want=1337)" {
		t.Errorf("chain id: %v", err)
	}
	args = rpctArgs(t, `{"chainId":"0x539"}`)
	if err := args.checkChainID(big.NewInt(1337)); err != nil {
		t.Errorf("matching chain id: %v", err)
	}
	args = rpctArgs(t, `{"data":"0x01","input":"0x02"}`)
	if err := args.checkDataInput(); err == nil || err.Error() != `both "data" and "input" are set and not equal. Please use "input" to pass transaction call data` {
		t.Errorf("data/input: %v", err)
	}
	args = rpctArgs(t, `{"data":"0x01","input":"0x01"}`)
	if err := args.checkDataInput(); err != nil {
		t.Errorf("equal data/input: %v", err)
	}
}

func TestTransactionArgsToEstimateMessage(t *testing.T) {
	baseFee := big.NewInt(7 * rpctGwei)
	args := rpctArgs(t, `{}`)
	msg, err := args.ToEstimateMessage(baseFee, 50_000_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if msg.GasLimit != 0 {
		t.Errorf("unset gas: %d, want 0 (the estimator searches up to the block gas limit)", msg.GasLimit)
	}
	args = rpctArgs(t, `{"gas":"0x5f5e100"}`)
	if msg, _ = args.ToEstimateMessage(baseFee, 50_000_000, nil); msg.GasLimit != 50_000_000 {
		t.Errorf("gas above cap: %d", msg.GasLimit)
	}
	args = rpctArgs(t, `{"gas":"0x5f5e100"}`)
	if msg, _ = args.ToEstimateMessage(baseFee, 0, nil); msg.GasLimit != 100_000_000 {
		t.Errorf("gas without cap: %d", msg.GasLimit)
	}
}

func TestPrepareCallContext(t *testing.T) {
	baseFee := big.NewInt(7 * rpctGwei)
	free := rpctArgs(t, `{"to":"0x00000000000000000000000000000000000000aa","blobVersionedHashes":["0x0100000000000000000000000000000000000000000000000000000000000001"]}`)
	msg, err := free.ToMessage(baseFee, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := vm.BlockContext{BaseFee: baseFee, BlobBaseFee: big.NewInt(5)}
	prepareCallContext(msg, &ctx)
	if ctx.BaseFee.Sign() != 0 || ctx.BlobBaseFee.Sign() != 0 {
		t.Errorf("free call: base fee %v, blob base fee %v, want 0 and 0", ctx.BaseFee, ctx.BlobBaseFee)
	}
	paid := rpctArgs(t, `{"maxFeePerGas":"0x2540be400"}`)
	msg, _ = paid.ToMessage(baseFee, 0, nil)
	ctx = vm.BlockContext{BaseFee: baseFee, BlobBaseFee: big.NewInt(5)}
	prepareCallContext(msg, &ctx)
	if ctx.BaseFee.Cmp(baseFee) != 0 || ctx.BlobBaseFee.Int64() != 5 {
		t.Errorf("paid call: base fee %v, blob base fee %v", ctx.BaseFee, ctx.BlobBaseFee)
	}
	if !callVMConfig().NoBaseFee {
		t.Error("calls must run with NoBaseFee")
	}
}

func rpctState(t *testing.T) *state.StateDB {
	t.Helper()
	db, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStateOverrideApply(t *testing.T) {
	a := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	b := common.HexToAddress("0x00000000000000000000000000000000000000bb")
	k1, k2 := common.HexToHash("0x01"), common.HexToHash("0x02")
	statedb := rpctState(t)
	statedb.SetState(a, k1, common.HexToHash("0x11"))
	statedb.SetState(b, k1, common.HexToHash("0x11"))
	statedb.SetNonce(a, 1, tracing.NonceChangeUnspecified) // non-empty accounts survive Finalise
	statedb.SetNonce(b, 1, tracing.NonceChangeUnspecified)
	statedb.Finalise(rpctConfig().Rules(big.NewInt(0), true, 0))

	var ov StateOverride
	err := json.Unmarshal([]byte(`{
		"0x00000000000000000000000000000000000000aa": {
			"balance": "0xde0b6b3a7640000", "nonce": "0x5", "code": "0x6001",
			"state": {"0x0000000000000000000000000000000000000000000000000000000000000002": "0x0000000000000000000000000000000000000000000000000000000000000022"}
		},
		"0x00000000000000000000000000000000000000bb": {
			"stateDiff": {"0x0000000000000000000000000000000000000000000000000000000000000002": "0x0000000000000000000000000000000000000000000000000000000000000022"}
		}
	}`), &ov)
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.Apply(statedb); err != nil {
		t.Fatal(err)
	}
	if bal := statedb.GetBalance(a); bal.Dec() != "1000000000000000000" {
		t.Errorf("balance %s", bal.Dec())
	}
	if n := statedb.GetNonce(a); n != 5 {
		t.Errorf("nonce %d", n)
	}
	if c := statedb.GetCode(a); hexutil.Encode(c) != "0x6001" {
		t.Errorf("code %x", c)
	}
	// "state" replaces the whole storage, "stateDiff" patches it.
	if v := statedb.GetState(a, k1); v != (common.Hash{}) {
		t.Errorf("state: old slot survived: %x", v)
	}
	if v := statedb.GetState(a, k2); v != common.HexToHash("0x22") {
		t.Errorf("state: new slot %x", v)
	}
	if v := statedb.GetState(b, k1); v != common.HexToHash("0x11") {
		t.Errorf("stateDiff: old slot lost: %x", v)
	}
	if v := statedb.GetState(b, k2); v != common.HexToHash("0x22") {
		t.Errorf("stateDiff: new slot %x", v)
	}

	var nilOverride *StateOverride
	if err := nilOverride.Apply(statedb); err != nil {
		t.Errorf("nil override: %v", err)
	}
	both := StateOverride{a: {State: map[common.Hash]common.Hash{}, StateDiff: map[common.Hash]common.Hash{}}}
	if err := both.Apply(statedb); err == nil || err.Error() != "account "+a.Hex()+" has both 'state' and 'stateDiff'" {
		t.Errorf("state+stateDiff: %v", err)
	}
}

func TestStateOverrideMovePrecompile(t *testing.T) {
	ecrecover := common.BytesToAddress([]byte{1})
	dst := common.HexToAddress("0x0000000000000000000000000000000000001234")
	move := StateOverride{ecrecover: {MovePrecompileTo: &dst}}

	if err := move.Apply(rpctState(t)); err == nil || err.Error() != "account 0x0000000000000000000000000000000000000001 is not a precompile" {
		t.Errorf("move without precompile set: %v", err)
	}
	precompiles := vm.ActivePrecompiledContracts(rpctConfig().Rules(big.NewInt(0), true, 0))
	if err := move.ApplyWithPrecompiles(rpctState(t), precompiles); err != nil {
		t.Fatal(err)
	}
	if _, ok := precompiles[ecrecover]; ok {
		t.Error("precompile still at its old address")
	}
	if _, ok := precompiles[dst]; !ok {
		t.Error("precompile not at its new address")
	}
	taken := StateOverride{ecrecover: {MovePrecompileTo: &dst}, dst: {}}
	precompiles = vm.ActivePrecompiledContracts(rpctConfig().Rules(big.NewInt(0), true, 0))
	if err := taken.ApplyWithPrecompiles(rpctState(t), precompiles); err == nil || err.Error() != "account 0x0000000000000000000000000000000000001234 is already overridden" {
		t.Errorf("move onto overridden account: %v", err)
	}
}

// rpctRevertingCode is runtime code that reverts with the given data.
func rpctRevertingCode(data []byte) []byte {
	n := len(data)
	code := []byte{
		0x61, byte(n >> 8), byte(n), // PUSH2 len
		0x60, 14, // PUSH1 offset of the data
		0x60, 0, // PUSH1 0
		0x39,                        // CODECOPY
		0x61, byte(n >> 8), byte(n), // PUSH2 len
		0x60, 0, // PUSH1 0
		0xfd, // REVERT
	}
	return append(code, data...)
}

// An eth_call as the core runs it: a state override installs the contract,
// the caller has no balance and gives no fee, and the revert surfaces as
// geth's revert error.
func TestCallRevertEndToEnd(t *testing.T) {
	cfg := rpctConfig()
	contract := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	caller := crypto.PubkeyToAddress(rpctKey2.PublicKey)
	random := common.HexToHash("0x01")
	header := &types.Header{Number: big.NewInt(7), Time: 1_700_000_000, GasLimit: 30_000_000, BaseFee: big.NewInt(7 * rpctGwei), Difficulty: new(big.Int), MixDigest: random}

	for _, tc := range []struct {
		name, data, msg string
	}{
		{"reason", rpctRevertReason, "execution reverted: insufficient balance"},
		{"custom error", rpctRevertCustom, "execution reverted"},
		{"panic", rpctRevertPanic, "execution reverted: arithmetic underflow or overflow"},
	} {
		statedb := rpctState(t)
		code := hexutil.Bytes(rpctRevertingCode(common.FromHex(tc.data)))
		ov := StateOverride{contract: {Code: &code}}
		if err := ov.Apply(statedb); err != nil {
			t.Fatal(err)
		}
		args := TransactionArgs{From: &caller, To: &contract}
		msg, err := args.ToMessage(header.BaseFee, 50_000_000, header)
		if err != nil {
			t.Fatal(err)
		}
		blockCtx := vm.BlockContext{
			CanTransfer: core.CanTransfer,
			Transfer:    core.Transfer,
			GetHash:     func(uint64) common.Hash { return common.Hash{} },
			GasLimit:    header.GasLimit,
			BlockNumber: header.Number,
			Time:        header.Time,
			Difficulty:  header.Difficulty,
			BaseFee:     header.BaseFee,
			BlobBaseFee: big.NewInt(1),
			Random:      &random,
		}
		prepareCallContext(msg, &blockCtx)
		evm := vm.NewEVM(blockCtx, statedb, cfg, callVMConfig())
		res, err := core.ApplyMessage(evm, msg, core.NewGasPool(callGasBudget(50_000_000)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, wrapCallError(err, msg.GasLimit))
		}
		if !errors.Is(res.Err, vm.ErrExecutionReverted) {
			t.Fatalf("%s: result error %v", tc.name, res.Err)
		}
		rerr := newRevertError(res.Revert())
		if rerr.Error() != tc.msg || rerr.ErrorData() != tc.data {
			t.Errorf("%s: %q %v", tc.name, rerr.Error(), rerr.ErrorData())
		}
	}
}
