package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

func TestParseBatchResponse(t *testing.T) {
	// Out of order, one error, one missing.
	data := []byte(`[{"jsonrpc":"2.0","id":2,"result":"0x2"},{"jsonrpc":"2.0","id":0,"error":{"code":-32000,"message":"nonce too low"}}]`)
	out, err := parseBatchResponse(data, 3)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] == nil || out[0].Error == nil || out[0].Error.Message != "nonce too low" {
		t.Fatalf("id 0: %+v", out[0])
	}
	if out[1] != nil {
		t.Fatalf("id 1 should be missing")
	}
	if out[2] == nil || string(out[2].Result) != `"0x2"` {
		t.Fatalf("id 2: %+v", out[2])
	}
	// A batch-level error object.
	_, err = parseBatchResponse([]byte(` {"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}`), 3)
	if err == nil || err.Error() != "batch too large (code -32600)" {
		t.Fatalf("err %v", err)
	}
	if _, err := parseBatchResponse([]byte(`garbage`), 1); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestRPCClientBatchAndCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		type req struct {
			ID     int             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		answer := func(q req) map[string]any {
			switch q.Method {
			case "eth_chainId":
				return map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": "0x539"}
			case "echo":
				return map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": q.Params}
			default:
				return map[string]any{"jsonrpc": "2.0", "id": q.ID, "error": map[string]any{"code": -32601, "message": "the method does not exist"}}
			}
		}
		if len(body) > 0 && body[0] == '[' {
			var qs []req
			if err := json.Unmarshal(body, &qs); err != nil {
				t.Error(err)
			}
			var out []map[string]any
			for i := len(qs) - 1; i >= 0; i-- { // answer in reverse order
				out = append(out, answer(qs[i]))
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		var q req
		json.Unmarshal(body, &q)
		json.NewEncoder(w).Encode(answer(q))
	}))
	defer srv.Close()

	rc := newRPCClient(srv.URL, newHTTPClient(2, 0))
	ctx := context.Background()
	id, err := chainID(ctx, rc)
	if err != nil || id.Int64() != 1337 {
		t.Fatalf("chainId %v err %v", id, err)
	}
	var a, b []any
	elems := []batchElem{
		{Method: "echo", Params: []any{"x", 1}, Result: &a},
		{Method: "nope"},
		{Method: "echo", Result: &b},
	}
	if err := rc.BatchCall(ctx, elems); err != nil {
		t.Fatal(err)
	}
	if elems[0].Err != nil || len(a) != 2 || a[0] != "x" {
		t.Fatalf("echo: %v %v", a, elems[0].Err)
	}
	if !isMethodNotFound(elems[1].Err) {
		t.Fatalf("nope: %v", elems[1].Err)
	}
	if elems[2].Err != nil || b == nil || len(b) != 0 {
		t.Fatalf("params must be sent as [] when empty, got %v", b)
	}
	var n hexutil.Uint64
	if err := rc.Call(ctx, &n, "nope"); !isMethodNotFound(err) {
		t.Fatalf("err %v", err)
	}
}
