package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPrintSummary(t *testing.T) {
	r := &Result{
		Label: "steady", Mode: modeTransfer, Nodes: []string{"http://127.0.0.1:8545"}, ChainID: 1337,
		Senders: 10, Txs: 100, Rate: 1000, Batch: 10, Conns: 2, Stop: "complete",
		Submitted: 100, SubmitSeconds: 0.1, SubmittedTPS: 1000, Rejected: 1,
		RejectedErrors: []string{"a (x1)", "b (x1)", "c (x1)", "d (x1)", "e (x1)", "f (x1)"},
		Committed:      99, CommitSeconds: 0.2, CommittedTPS: 495,
		Latency: LatencyStats{Count: 99, P50: 12.5, P90: 1500, P99: 12000, Max: 12000},
		Blocks:  2, FirstBlock: 3, LastBlock: 4, MeanTxsPerBlock: 49.5, MaxTxsPerBlock: 50, MaxBaseFeeWei: "1500000000",
		Notes: []string{"something"},
	}
	var buf bytes.Buffer
	printSummary(&buf, r)
	out := buf.String()
	for _, want := range []string{
		"steady (transfer): 100 txs from 10 senders, rate 1000 tx/s",
		"rejected 1", "error: e (x1)", "... 1 more distinct errors",
		"495.0 tx/s", "p50 12.5ms  p90 1.50s  p99 12.0s", "#3..#4", "1.5 gwei", "note:       something",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "error: f") {
		t.Errorf("more than %d errors shown", maxShownErrors)
	}
	// The JSON form carries the headline numbers under stable names.
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	for _, k := range []string{"committed_tps", "submitted_tps", "rejected", "missing", "latency", "blocks", "mean_txs_per_block"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %s", k)
		}
	}
}
