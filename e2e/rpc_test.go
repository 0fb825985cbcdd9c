package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/testnode"
)

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// post sends a raw JSON-RPC body and returns the HTTP status and body.
func post(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp.StatusCode, out
}

// postOne sends a single request and decodes the single response.
func postOne(t *testing.T, url, body string) rpcResponse {
	t.Helper()
	status, out := post(t, url, []byte(body))
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", body, status, out)
	}
	var r rpcResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: response %s is not a JSON-RPC response: %v", body, out, err)
	}
	return r
}

func wantRPCError(t *testing.T, what string, r rpcResponse, code int, substr string) {
	t.Helper()
	if r.Error == nil {
		t.Errorf("%s: result %s, want error %d %q", what, r.Result, code, substr)
		return
	}
	if r.Error.Code != code || !strings.Contains(r.Error.Message, substr) {
		t.Errorf("%s: error %d %q, want %d containing %q", what, r.Error.Code, r.Error.Message, code, substr)
		return
	}
	t.Logf("%s: %d %s", what, r.Error.Code, r.Error.Message)
}

// stillServing checks that eth_chainId answers 0x539.
func stillServing(t *testing.T, n *testnode.Node) {
	t.Helper()
	r := postOne(t, n.HTTPURL(), `{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}`)
	if r.Error != nil || string(r.Result) != `"0x539"` || string(r.ID) != "7" {
		t.Fatalf("node no longer serving: %+v", r)
	}
}

func TestMalformedRequests(t *testing.T) {
	n := startDev(t)
	url := n.HTTPURL()

	t.Run("malformed JSON", func(t *testing.T) {
		r := postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[`)
		wantRPCError(t, "truncated JSON", r, -32700, "parse error")
		r = postOne(t, url, `not json at all`)
		wantRPCError(t, "garbage", r, -32700, "parse error")
	})
	t.Run("invalid request", func(t *testing.T) {
		r := postOne(t, url, `{"jsonrpc":"2.0","id":1,"params":[]}`)
		wantRPCError(t, "no method", r, -32600, "invalid request")
	})
	t.Run("wrong parameter types", func(t *testing.T) {
		r := postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[123,"latest"]}`)
		wantRPCError(t, "eth_getBalance(123)", r, -32602, "invalid argument 0")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xzz","latest"]}`)
		wantRPCError(t, "eth_getBalance(0xzz)", r, -32602, "invalid argument 0")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":[true,false]}`)
		wantRPCError(t, "eth_getBlockByNumber(true)", r, -32602, "invalid argument 0")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest","yes"]}`)
		wantRPCError(t, "eth_getBlockByNumber(latest, \"yes\")", r, -32602, "invalid argument 1")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}`)
		wantRPCError(t, "eth_getBalance()", r, -32602, "missing value for required argument 0")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[1,2,3]}`)
		wantRPCError(t, "eth_chainId(1,2,3)", r, -32602, "too many arguments")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x1234"]}`)
		if r.Error == nil {
			t.Errorf("eth_sendRawTransaction(0x1234) succeeded")
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		r := postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"eth_noSuchMethod","params":[]}`)
		wantRPCError(t, "eth_noSuchMethod", r, -32601, "the method eth_noSuchMethod does not exist/is not available")
		r = postOne(t, url, `{"jsonrpc":"2.0","id":1,"method":"admin_nodeInfo","params":[]}`)
		wantRPCError(t, "admin_nodeInfo (module not enabled)", r, -32601, "does not exist/is not available")
	})
	t.Run("batch", func(t *testing.T) {
		status, out := post(t, url, []byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":2,"method":"eth_nope","params":[]}]`))
		var rs []rpcResponse
		if status != http.StatusOK || json.Unmarshal(out, &rs) != nil || len(rs) != 2 {
			t.Fatalf("small batch: HTTP %d %s", status, out)
		}
		if rs[0].Error != nil || rs[1].Error == nil || rs[1].Error.Code != -32601 {
			t.Errorf("small batch responses %s", out)
		}
		status, out = post(t, url, []byte(`[]`))
		var empty rpcResponse
		if status != http.StatusOK || json.Unmarshal(out, &empty) != nil || empty.Error == nil || empty.Error.Code != -32600 {
			t.Errorf("empty batch: HTTP %d %s, want a single -32600 error", status, out)
		}
	})
	t.Run("batch at the limit", func(t *testing.T) {
		rs := batch(t, url, 1000)
		if len(rs) != 1000 {
			t.Fatalf("batch of 1000: %d responses, want 1000", len(rs))
		}
		for _, r := range rs {
			if r.Error != nil {
				t.Fatalf("batch of 1000: error %+v", r.Error)
			}
		}
	})
	t.Run("batch over the limit", func(t *testing.T) {
		rs := batch(t, url, 1001)
		if len(rs) != 1 || rs[0].Error == nil {
			t.Fatalf("batch of 1001: %d responses (%+v), want a single error", len(rs), rs)
		}
		if rs[0].Error.Code != -32600 || rs[0].Error.Message != "batch too large" {
			t.Errorf("batch of 1001: error %d %q, want -32600 \"batch too large\"", rs[0].Error.Code, rs[0].Error.Message)
		}
		if string(rs[0].ID) != "0" {
			t.Errorf("batch-too-large error id %s, want the first call's id 0", rs[0].ID)
		}
	})
	t.Run("huge body", func(t *testing.T) {
		// geth's HTTP server refuses bodies over 5 MiB with 413.
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x` + strings.Repeat("ab", 3*1024*1024) + `"]}`)
		status, out := post(t, url, body)
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("6 MiB body: HTTP %d %.200s, want 413", status, out)
		} else {
			t.Logf("6 MiB body: HTTP %d %s", status, strings.TrimSpace(string(out)))
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		resp, err := http.Post(url, "text/plain", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain request: HTTP %d, want 415", resp.StatusCode)
		}
	})
	stillServing(t, n)
	if _, err := n.Client().BlockNumber(ctx(t)); err != nil {
		t.Errorf("eth_blockNumber after the bad requests: %v", err)
	}
}

func batch(t *testing.T, url string, size int) []rpcResponse {
	t.Helper()
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"eth_chainId","params":[]}`, i)
	}
	b.WriteByte(']')
	status, out := post(t, url, []byte(b.String()))
	if status != http.StatusOK {
		t.Fatalf("batch of %d: HTTP %d %.300s", size, status, out)
	}
	var rs []rpcResponse
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("batch of %d: response %.300s is not an array: %v", size, out, err)
	}
	return rs
}
