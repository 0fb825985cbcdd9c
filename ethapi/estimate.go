package ethapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
)

// estimateGas finds the least gas limit with which msg succeeds, by binary
// search over executions on copies of st with the backend's EVM (which
// binds the governance contract). Same bounds and answers as go-ethereum's
// estimator: the block gas limit (or the message's, or the RPC cap) above,
// an error with the revert data when it fails even with all of it.
func estimateGas(ctx context.Context, b Backend, gasCap uint64, msg *core.Message, st *state.StateDB, header *types.Header) (hexutil.Uint64, error) {
	hi := header.GasLimit
	if msg.GasLimit >= params.TxGas && msg.GasLimit < hi {
		hi = msg.GasLimit
	}
	if cap := gasCap; cap != 0 && hi > cap {
		hi = cap
	}
	if b.ChainConfig().IsOsaka(header.Number, header.Time) && hi > params.MaxTxGas {
		hi = params.MaxTxGas
	}
	run := func(gas uint64) (*core.ExecutionResult, error) {
		m := *msg
		m.GasLimit = gas
		blockCtx := core.NewEVMBlockContext(header, b.ChainContext(), nil)
		prepareCallContext(&m, &blockCtx)
		evm := b.NewEVM(blockCtx, st.Copy(), vm.Config{NoBaseFee: true})
		return core.ApplyMessage(evm, &m, core.NewGasPool(gas))
	}
	res, err := run(hi)
	if err != nil {
		return 0, err
	}
	if res.Failed() {
		if errors.Is(res.Err, vm.ErrExecutionReverted) {
			return 0, newRevertError(res.Revert())
		}
		return 0, fmt.Errorf("gas required exceeds allowance (%d)", hi)
	}
	lo := res.UsedGas - 1
	// The gas used is usually enough; try it (with the 63/64 margin) first.
	if guess := (res.MaxUsedGas + params.CallStipend) * 64 / 63; guess < hi {
		if r, err := run(guess); err == nil && !r.Failed() {
			hi = guess
		} else if err == nil {
			lo = guess
		}
	}
	for lo+1 < hi {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if float64(hi-lo)/float64(hi) < 0.015 {
			break
		}
		mid := lo + (hi-lo)/2
		r, err := run(mid)
		if err != nil && !errors.Is(err, core.ErrIntrinsicGas) && !errors.Is(err, core.ErrFloorDataGas) {
			return 0, err
		}
		if err != nil || r.Failed() {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hexutil.Uint64(hi), nil
}
