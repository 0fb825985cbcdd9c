package ethapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rpc"
)

const (
	// Error(string) "insufficient balance", as require(cond, "insufficient balance") reverts.
	rpctRevertReason = "0x08c379a0" +
		"0000000000000000000000000000000000000000000000000000000000000020" +
		"0000000000000000000000000000000000000000000000000000000000000014" +
		"696e73756666696369656e742062616c616e6365000000000000000000000000"
	// Panic(0x11), an arithmetic overflow in checked Solidity arithmetic.
	rpctRevertPanic = "0x4e487b71" +
		"0000000000000000000000000000000000000000000000000000000000000011"
	// InsufficientBalance(100, 250), a custom error (selector 0xcf479181).
	rpctRevertCustom = "0xcf479181" +
		"0000000000000000000000000000000000000000000000000000000000000064" +
		"00000000000000000000000000000000000000000000000000000000000000fa"
)

func TestNewRevertError(t *testing.T) {
	for _, tc := range []struct {
		name, data, msg string
	}{
		{"reason string", rpctRevertReason, "execution reverted: insufficient balance"},
		{"panic 0x11", rpctRevertPanic, "execution reverted: arithmetic underflow or overflow"},
		{"unknown panic code", "0x4e487b71" + "0000000000000000000000000000000000000000000000000000000000000099", "execution reverted: unknown panic code: 0x99"},
		{"custom error", rpctRevertCustom, "execution reverted"},
		{"no data", "0x", "execution reverted"},
		{"truncated Error(string)", "0x08c379a0", "execution reverted"},
	} {
		err := newRevertError(common.FromHex(tc.data))
		if err.Error() != tc.msg {
			t.Errorf("%s: message %q, want %q", tc.name, err.Error(), tc.msg)
		}
		if err.ErrorCode() != 3 {
			t.Errorf("%s: code %d, want 3", tc.name, err.ErrorCode())
		}
		if data := err.ErrorData(); data != tc.data {
			t.Errorf("%s: data %v, want %s", tc.name, data, tc.data)
		}
		if !errors.Is(err, vm.ErrExecutionReverted) {
			t.Errorf("%s: not an ErrExecutionReverted", tc.name)
		}
	}
}

type rpctErrorService struct{}

func (rpctErrorService) Revert(data hexutil.Bytes) error { return newRevertError(data) }
func (rpctErrorService) BadParams() error {
	return newInvalidParamsError("invalid block range %d-%d", 5, 2)
}
func (rpctErrorService) CallFailed() error {
	return wrapCallError(core.ErrInsufficientFunds, 50_000_000)
}
func (rpctErrorService) Timeout() error { return callTimeoutError(5 * time.Second) }

// The errors as a JSON-RPC client receives them, byte for byte.
func TestRPCErrorWireFormat(t *testing.T) {
	srv := rpc.NewServer()
	defer srv.Stop()
	if err := srv.RegisterName("test", rpctErrorService{}); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	call := func(method, params string) string {
		t.Helper()
		body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":` + params + `}`
		resp, err := http.Post(hs.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(out))
	}
	for _, tc := range []struct {
		method, params, want string
	}{
		{"test_revert", `["` + rpctRevertReason + `"]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted: insufficient balance","data":"` + rpctRevertReason + `"}}`},
		{"test_revert", `["` + rpctRevertCustom + `"]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"` + rpctRevertCustom + `"}}`},
		{"test_revert", `["` + rpctRevertPanic + `"]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted: arithmetic underflow or overflow","data":"` + rpctRevertPanic + `"}}`},
		{"test_revert", `["0x"]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted","data":"0x"}}`},
		{"test_badParams", `[]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid block range 5-2"}}`},
		{"test_callFailed", `[]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"err: insufficient funds for gas * price + value (supplied gas 50000000)"}}`},
		{"test_timeout", `[]`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"execution aborted (timeout = 5s)"}}`},
	} {
		if have := call(tc.method, tc.params); have != tc.want {
			t.Errorf("%s %s:\nhave %s\nwant %s", tc.method, tc.params, have, tc.want)
		}
	}
}
