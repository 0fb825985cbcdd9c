package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// fakeChain answers the calls the follower makes about block 0x7, which
// holds two transactions; withBlockReceipts says whether
// eth_getBlockReceipts exists.
func fakeChain(t *testing.T, withBlockReceipts bool) *httptest.Server {
	h1, h2 := common.Hash{1}, common.Hash{2}
	receipt := func(h common.Hash, status string) map[string]any {
		return map[string]any{"transactionHash": h, "status": status, "blockNumber": "0x7", "gasUsed": "0x5208"}
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		type req struct {
			ID     int               `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		answer := func(q req) map[string]any {
			out := map[string]any{"jsonrpc": "2.0", "id": q.ID}
			switch {
			case q.Method == "eth_getBlockByNumber" && string(q.Params[0]) == `"0x7"`:
				out["result"] = map[string]any{
					"number": "0x7", "timestamp": "0x64", "gasUsed": "0xa410", "gasLimit": "0x1000000",
					"baseFeePerGas": "0x3b9aca00", "transactions": []common.Hash{h1, h2},
				}
			case q.Method == "eth_getBlockReceipts" && withBlockReceipts:
				out["result"] = []any{receipt(h1, "0x1"), receipt(h2, "0x0")}
			case q.Method == "eth_getTransactionReceipt":
				var h common.Hash
				json.Unmarshal(q.Params[0], &h)
				out["result"] = receipt(h, map[common.Hash]string{h1: "0x1", h2: "0x0"}[h])
			default:
				out["error"] = map[string]any{"code": -32601, "message": "the method " + q.Method + " does not exist/is not available"}
			}
			return out
		}
		var qs []req
		if err := json.Unmarshal(body, &qs); err == nil {
			var out []map[string]any
			for _, q := range qs {
				out = append(out, answer(q))
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		var q req
		json.Unmarshal(body, &q)
		json.NewEncoder(w).Encode(answer(q))
	}))
}

func TestFetchBlock(t *testing.T) {
	for _, withBR := range []bool{true, false} {
		srv := fakeChain(t, withBR)
		f := newFollower(newRPCClient(srv.URL, newHTTPClient(2, 0)), nil, 0, 0, "")
		info, receipts, err := f.fetchBlock(context.Background(), 7)
		srv.Close()
		if err != nil {
			t.Fatalf("eth_getBlockReceipts=%v: %v", withBR, err)
		}
		if f.noBlockReceipts.Load() == withBR {
			t.Fatalf("eth_getBlockReceipts=%v: fallback flag %v", withBR, f.noBlockReceipts.Load())
		}
		if info.Timestamp != 100 || info.GasUsed != 42000 || info.BaseFeeWei != "1000000000" {
			t.Fatalf("block info %+v", info)
		}
		want := []receiptInfo{{TxHash: common.Hash{1}, Status: 1}, {TxHash: common.Hash{2}, Status: 0}}
		if len(receipts) != 2 || receipts[0] != want[0] || receipts[1] != want[1] {
			t.Fatalf("receipts %+v", receipts)
		}
		// A block the node does not have is an error (the follower retries).
		if _, _, err := f.fetchBlock(context.Background(), 8); err == nil && withBR {
			t.Fatal("missing block accepted")
		}
	}
}
