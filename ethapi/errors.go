package ethapi

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rpc"
)

// JSON-RPC error codes used by the API, the same numbers as geth's.
const (
	errCodeReverted      = 3      // EVM revert, with the revert data as error data
	errCodeInvalidParams = -32602 // malformed or inconsistent arguments
)

// revertError is the error of an eth_call or eth_estimateGas whose execution
// reverted. On the wire it is {"code":3,"message":"execution reverted[: reason]",
// "data":"0x<revert data>"}, as geth sends it.
type revertError struct {
	error
	reason string // the revert data, 0x-prefixed hex
}

var (
	_ rpc.Error     = (*revertError)(nil)
	_ rpc.DataError = (*revertError)(nil)
)

// ErrorCode implements rpc.Error.
func (e *revertError) ErrorCode() int { return errCodeReverted }

// ErrorData implements rpc.DataError: the raw revert data in hex.
func (e *revertError) ErrorData() interface{} { return e.reason }

// Unwrap exposes vm.ErrExecutionReverted to errors.Is.
func (e *revertError) Unwrap() error { return e.error }

// newRevertError wraps the data returned by a reverted execution. When the
// data is a Solidity Error(string) or Panic(uint256) the decoded reason is
// appended to the message ("execution reverted: <reason>"); any other data
// (custom errors, empty data) leaves the bare "execution reverted" message,
// with the data still available through ErrorData.
func newRevertError(revertData []byte) *revertError {
	err := vm.ErrExecutionReverted
	if reason, uerr := abi.UnpackRevert(revertData); uerr == nil {
		err = fmt.Errorf("%w: %v", vm.ErrExecutionReverted, reason)
	}
	return &revertError{error: err, reason: hexutil.Encode(revertData)}
}

// invalidParamsError is an error with JSON-RPC code -32602.
type invalidParamsError struct{ message string }

var _ rpc.Error = (*invalidParamsError)(nil)

func (e *invalidParamsError) Error() string  { return e.message }
func (e *invalidParamsError) ErrorCode() int { return errCodeInvalidParams }

// newInvalidParamsError formats an invalidParamsError.
func newInvalidParamsError(format string, args ...any) *invalidParamsError {
	return &invalidParamsError{message: fmt.Sprintf(format, args...)}
}

// wrapCallError gives a consensus error of a call's message execution (for
// example insufficient funds or a nonce problem, not an EVM failure, which is
// in ExecutionResult.Err) the wording geth uses for eth_call.
func wrapCallError(err error, gasLimit uint64) error {
	return fmt.Errorf("err: %w (supplied gas %d)", err, gasLimit)
}

// callTimeoutError is the error geth returns when an eth_call is cancelled
// because it ran past the RPC EVM timeout.
func callTimeoutError(timeout time.Duration) error {
	return fmt.Errorf("execution aborted (timeout = %v)", timeout)
}
