package eth

import (
	"errors"
	"fmt"
	"maps"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// StatefulPrecompile is a contract at a fixed address that runs natively
// with the EVM's state and its calling frame (go-ethereum's precompiles
// see neither). It must behave like a contract: ABI-encoded input, gas,
// logs and revert data through the state, callable from EOAs, contracts
// and eth_call. The governance contract is one; enclave randomness is
// another to come.
type StatefulPrecompile interface {
	Address() common.Address
	Name() string
	// Run executes one call; it returns the gas used, or vm.ErrOutOfGas
	// when the call's gas did not suffice.
	Run(call PrecompileCall, input []byte) (ret []byte, gasUsed uint64, err error)
}

// PrecompileCall is the calling frame of a stateful precompile.
type PrecompileCall struct {
	EVM      *vm.EVM
	Caller   common.Address
	Gas      uint64       // gas given to the frame
	Value    *uint256.Int // nil when none
	ReadOnly bool         // inside a STATICCALL
	// Delegated: reached by DELEGATECALL or CALLCODE, so the state and
	// caller are another contract's.
	Delegated bool
}

// precompileRegistry binds stateful precompiles into EVMs. It follows the
// call frames through the EVM's OnEnter/OnExit hooks, chained with any
// tracer the caller already set, so it claims vm.Config.Tracer for nobody.
type precompileRegistry []StatefulPrecompile

// newEVM creates an EVM with the registry's precompiles bound; an empty
// registry creates a plain one.
func (r precompileRegistry) newEVM(blockCtx vm.BlockContext, statedb vm.StateDB, c *Chain, cfg vm.Config) *vm.EVM {
	if len(r) == 0 {
		return vm.NewEVM(blockCtx, statedb, c.config, cfg)
	}
	b := &frameBinding{}
	cfg.Tracer = b.hooks(cfg.Tracer)
	evm := vm.NewEVM(blockCtx, statedb, c.config, cfg)
	b.evm = evm
	pcs := maps.Clone(vm.ActivePrecompiledContracts(c.config.Rules(blockCtx.BlockNumber, true, blockCtx.Time)))
	for _, p := range r {
		pcs[p.Address()] = &boundPrecompile{p: p, b: b}
	}
	evm.SetPrecompiles(pcs)
	return evm
}

// frameBinding is the call frame stack of one EVM.
type frameBinding struct {
	evm    *vm.EVM
	frames []callFrame
	static int // frames on the stack that are static
}

type callFrame struct {
	from, to common.Address
	typ      vm.OpCode
	gas      uint64
	value    *big.Int
}

// hooks returns tracer hooks that track frames, then call next's.
func (b *frameBinding) hooks(next *tracing.Hooks) *tracing.Hooks {
	h := &tracing.Hooks{}
	if next != nil {
		*h = *next
	}
	onEnter, onExit := h.OnEnter, h.OnExit
	h.OnEnter = func(depth int, typ byte, from, to common.Address, input []byte, gas uint64, value *big.Int) {
		op := vm.OpCode(typ)
		b.frames = append(b.frames, callFrame{from: from, to: to, typ: op, gas: gas, value: value})
		if op == vm.STATICCALL {
			b.static++
		}
		if onEnter != nil {
			onEnter(depth, typ, from, to, input, gas, value)
		}
	}
	h.OnExit = func(depth int, output []byte, gasUsed uint64, err error, reverted bool) {
		if n := len(b.frames); n > 0 {
			if b.frames[n-1].typ == vm.STATICCALL {
				b.static--
			}
			b.frames = b.frames[:n-1]
		}
		if onExit != nil {
			onExit(depth, output, gasUsed, err, reverted)
		}
	}
	return h
}

var errNoFrame = errors.New("precompile: call frame unknown")

// boundPrecompile is a stateful precompile as one EVM's
// vm.PrecompiledContract. The work happens in RequiredGas, the only place
// its gas can be charged; Run returns the result. The EVM's own snapshot
// around the call frame undoes its writes on any failure.
type boundPrecompile struct {
	p   StatefulPrecompile
	b   *frameBinding
	ret []byte
	err error
}

func (bp *boundPrecompile) RequiredGas(input []byte) uint64 {
	bp.ret, bp.err = nil, nil
	b := bp.b
	n := len(b.frames)
	if n == 0 || b.frames[n-1].to != bp.p.Address() || b.evm == nil {
		bp.err = errNoFrame
		return 0
	}
	f := b.frames[n-1]
	var value *uint256.Int
	if f.value != nil && f.value.Sign() > 0 {
		value, _ = uint256.FromBig(f.value)
	}
	ret, used, err := bp.p.Run(PrecompileCall{EVM: b.evm, Caller: f.from, Gas: f.gas, Value: value, ReadOnly: b.static > 0,
		Delegated: f.typ == vm.DELEGATECALL || f.typ == vm.CALLCODE,
	}, input)
	bp.ret, bp.err = ret, err
	if errors.Is(err, vm.ErrOutOfGas) {
		return f.gas + 1 // more than the frame has: the EVM fails it
	}
	return used
}

func (bp *boundPrecompile) Run(input []byte) ([]byte, error) {
	ret, err := bp.ret, bp.err
	bp.ret, bp.err = nil, nil
	if err != nil && !errors.Is(err, vm.ErrExecutionReverted) {
		return ret, fmt.Errorf("%s: %w", bp.p.Name(), err)
	}
	return ret, err
}

func (bp *boundPrecompile) Name() string { return bp.p.Name() }
