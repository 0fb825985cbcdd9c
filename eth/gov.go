package eth

import (
	"errors"
	"fmt"
	"maps"
	"math/big"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// govPrecompile binds the governance contract into one EVM. go-ethereum's
// precompiles see neither state nor caller, so the binding follows the
// call frames through the EVM's OnEnter/OnExit hooks: when a frame enters
// governance.Address, the binding knows msg.sender, the gas, the value and
// whether the context is static, and runs the contract on the EVM's state.
// The work happens in RequiredGas (the only place the gas it costs can be
// charged); Run returns its result. The EVM's own snapshot around the call
// frame undoes the contract's writes on any failure.
type govPrecompile struct {
	contract *governance.Contract
	evm      *vm.EVM
	frames   []govFrame
	static   int // frames on the stack that are static

	ret []byte
	err error
}

type govFrame struct {
	from, to common.Address
	typ      vm.OpCode
	gas      uint64
	value    *big.Int
}

var errGovNoFrame = errors.New("governance: call frame unknown")

// newGovHooks returns the binding and the tracer hooks the EVM must be
// created with.
func newGovHooks() (*govPrecompile, *tracing.Hooks) {
	g := &govPrecompile{contract: governance.NewContract()}
	return g, &tracing.Hooks{OnEnter: g.onEnter, OnExit: g.onExit}
}

// attach installs the binding into evm's precompiles.
func (g *govPrecompile) attach(evm *vm.EVM, rules params.Rules) {
	g.evm = evm
	pcs := maps.Clone(vm.ActivePrecompiledContracts(rules))
	pcs[governance.Address] = g
	evm.SetPrecompiles(pcs)
}

func (g *govPrecompile) onEnter(depth int, typ byte, from, to common.Address, input []byte, gas uint64, value *big.Int) {
	op := vm.OpCode(typ)
	g.frames = append(g.frames, govFrame{from: from, to: to, typ: op, gas: gas, value: value})
	if op == vm.STATICCALL {
		g.static++
	}
}

func (g *govPrecompile) onExit(depth int, output []byte, gasUsed uint64, err error, reverted bool) {
	if n := len(g.frames); n > 0 {
		if g.frames[n-1].typ == vm.STATICCALL {
			g.static--
		}
		g.frames = g.frames[:n-1]
	}
}

// RequiredGas runs the call and returns the gas it used; more than the
// frame's gas when it ran out, so the EVM fails the frame.
func (g *govPrecompile) RequiredGas(input []byte) uint64 {
	g.ret, g.err = nil, nil
	n := len(g.frames)
	if n == 0 || g.frames[n-1].to != governance.Address || g.evm == nil {
		g.err = errGovNoFrame
		return 0
	}
	f := g.frames[n-1]
	if f.typ == vm.DELEGATECALL || f.typ == vm.CALLCODE {
		g.ret, g.err = governance.RevertData("governance: delegatecall is not supported"), vm.ErrExecutionReverted
		return 0
	}
	var value *uint256.Int
	if f.value != nil && f.value.Sign() > 0 {
		value, _ = uint256.FromBig(f.value)
	}
	ret, used, err := g.contract.Run(governance.CallContext{
		State:       g.evm.StateDB,
		Caller:      f.from,
		BlockNumber: g.evm.Context.BlockNumber.Uint64(),
		ReadOnly:    g.static > 0,
		Gas:         f.gas,
		Value:       value,
	}, input)
	g.ret, g.err = ret, err
	if errors.Is(err, vm.ErrOutOfGas) {
		return f.gas + 1
	}
	return used
}

// Run returns the result computed by RequiredGas.
func (g *govPrecompile) Run(input []byte) ([]byte, error) {
	ret, err := g.ret, g.err
	g.ret, g.err = nil, nil
	if err != nil && !errors.Is(err, vm.ErrExecutionReverted) {
		return ret, fmt.Errorf("governance: %w", err)
	}
	return ret, err
}

// Name implements vm.PrecompiledContract.
func (g *govPrecompile) Name() string { return "COCO_GOVERNANCE" }

// newEVM creates an EVM for block execution or calls, with the governance
// contract bound when the network has a constitution.
func (c *Chain) newEVM(blockCtx vm.BlockContext, statedb vm.StateDB, cfg vm.Config) *vm.EVM {
	if !c.spec.Coco.Governed() {
		return vm.NewEVM(blockCtx, statedb, c.config, cfg)
	}
	g, hooks := newGovHooks()
	cfg.Tracer = hooks
	evm := vm.NewEVM(blockCtx, statedb, c.config, cfg)
	g.attach(evm, c.config.Rules(blockCtx.BlockNumber, true, blockCtx.Time))
	return evm
}
