package eth

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// echoPrecompile answers its caller's address and whether the frame is
// read-only, for 100 gas.
type echoPrecompile struct{}

var echoAddress = common.HexToAddress("0x000000000000000000000000000000000000C0C1")

func (echoPrecompile) Address() common.Address { return echoAddress }
func (echoPrecompile) Name() string            { return "ECHO" }
func (echoPrecompile) Run(call PrecompileCall, input []byte) ([]byte, uint64, error) {
	if call.Gas < 100 {
		return nil, 0, vm.ErrOutOfGas
	}
	ro := byte(0)
	if call.ReadOnly {
		ro = 1
	}
	return append(call.Caller.Bytes(), ro), 100, nil
}

func gas(n uint64) vm.GasBudget { return vm.NewGasBudget(n, 0) }

// The registry binds several stateful precompiles into one EVM and leaves
// a tracer the caller set in place: its hooks still see every frame.
func TestPrecompileRegistry(t *testing.T) {
	s := newGovernedService(t)
	c := s.chain
	c.precompiles = append(c.precompiles, echoPrecompile{})
	head := c.CurrentHeader()
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	var entered []common.Address
	tracer := &tracing.Hooks{OnEnter: func(depth int, typ byte, from, to common.Address, input []byte, gas uint64, value *big.Int) {
		entered = append(entered, to)
	}}
	blockCtx := core.NewEVMBlockContext(head, c, nil)
	evm := c.newEVM(blockCtx, st, vm.Config{NoBaseFee: true, Tracer: tracer})
	if evm.Config.Tracer == tracer {
		t.Fatal("registry did not chain its frame hooks")
	}

	// Echo: caller and read-only flag come from the frame.
	ret, left, err := evm.Call(addrB, echoAddress, nil, gas(1000), new(uint256.Int))
	if err != nil || !bytes.Equal(ret, append(addrB.Bytes(), 0)) || left.ExecutionGas != 900 {
		t.Errorf("echo call = %x, %d gas left, %v", ret, left, err)
	}
	ret, _, err = evm.StaticCall(addrC, echoAddress, nil, gas(1000))
	if err != nil || !bytes.Equal(ret, append(addrC.Bytes(), 1)) {
		t.Errorf("echo staticcall = %x, %v", ret, err)
	}
	if _, _, err := evm.Call(addrB, echoAddress, nil, gas(50), new(uint256.Int)); err != vm.ErrOutOfGas {
		t.Errorf("echo with 50 gas: %v, want out of gas", err)
	}

	// Governance, through the same EVM: isMember(A) is true.
	data, err := governance.ABI().Pack("isMember", addrA)
	if err != nil {
		t.Fatal(err)
	}
	ret, _, err = evm.StaticCall(addrB, governance.Address, data, gas(1_000_000))
	if err != nil {
		t.Fatalf("governance isMember: %v", err)
	}
	out, err := governance.ABI().Unpack("isMember", ret)
	if err != nil || out[0] != true {
		t.Errorf("isMember(A) = %v, %v", out, err)
	}
	if len(entered) != 4 || entered[3] != governance.Address || entered[0] != echoAddress {
		t.Errorf("the caller's tracer saw frames %v", entered)
	}
}
