package eth

import (
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
)

// govPrecompile is the governance contract as a stateful precompile: the
// constitution and proposals live in the storage of governance.Address and
// change only through it. Registered on governed chains.
type govPrecompile struct {
	contract *governance.Contract // stateless: shared by every EVM
}

var _ StatefulPrecompile = govPrecompile{}

func (govPrecompile) Address() common.Address { return governance.Address }

// Name implements StatefulPrecompile.
func (govPrecompile) Name() string { return "COCO_GOVERNANCE" }

// Run implements StatefulPrecompile.
func (g govPrecompile) Run(call PrecompileCall, input []byte) ([]byte, uint64, error) {
	if call.Delegated {
		return governance.RevertData("governance: delegatecall is not supported"), 0, vm.ErrExecutionReverted
	}
	return g.contract.Run(governance.CallContext{
		State:       call.EVM.StateDB,
		Caller:      call.Caller,
		BlockNumber: call.EVM.Context.BlockNumber.Uint64(),
		ReadOnly:    call.ReadOnly,
		Gas:         call.Gas,
		Value:       call.Value,
	}, input)
}

// newEVM creates an EVM for block execution or calls, with the chain's
// stateful precompiles bound.
func (c *Chain) newEVM(blockCtx vm.BlockContext, statedb vm.StateDB, cfg vm.Config) *vm.EVM {
	return c.precompiles.newEVM(blockCtx, statedb, c, cfg)
}
