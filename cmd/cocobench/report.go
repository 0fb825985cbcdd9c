package main

import (
	"fmt"
	"io"
	"math/big"
	"strings"
)

// maxShownErrors is how many distinct rejection messages the summary prints.
const maxShownErrors = 5

// printSummary writes the human-readable report of r.
func printSummary(w io.Writer, r *Result) {
	rate := "max"
	if r.Rate > 0 {
		rate = fmt.Sprintf("%g tx/s", r.Rate)
	}
	title := r.Mode
	if r.Label != "" && r.Label != r.Mode {
		title = r.Label + " (" + r.Mode + ")"
	}
	fmt.Fprintf(w, "== cocobench %s: %d txs from %d senders, rate %s, batch %d, conns %d, %d node(s), chain %d\n",
		title, r.Txs, r.Senders, rate, r.Batch, r.Conns, len(r.Nodes), r.ChainID)
	fmt.Fprintf(w, "   stop:       %s\n", r.Stop)
	fmt.Fprintf(w, "   submitted:  %d in %.3fs = %.1f tx/s; rejected %d\n",
		r.Submitted, r.SubmitSeconds, r.SubmittedTPS, r.Rejected)
	if r.Unsent > 0 {
		fmt.Fprintf(w, "               %d never sent (the run was stopped first)\n", r.Unsent)
	}
	for i, e := range r.RejectedErrors {
		if i == maxShownErrors {
			fmt.Fprintf(w, "               ... %d more distinct errors (see --json)\n", len(r.RejectedErrors)-i)
			break
		}
		fmt.Fprintf(w, "               error: %s\n", e)
	}
	fmt.Fprintf(w, "   committed:  %d in %.3fs = %.1f tx/s (first submit to last inclusion)\n",
		r.Committed, r.CommitSeconds, r.CommittedTPS)
	fmt.Fprintf(w, "   failed:     %d receipts with status 0\n", r.Failed)
	if r.Missing > 0 {
		fmt.Fprintf(w, "   missing:    %d never included (%d behind a rejected nonce)\n", r.Missing, r.Unreachable)
	} else {
		fmt.Fprintf(w, "   missing:    0\n")
	}
	l := r.Latency
	fmt.Fprintf(w, "   latency:    p50 %s  p90 %s  p99 %s  max %s  (mean %s, min %s, n=%d)\n",
		fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.Max), fmtMs(l.Mean), fmtMs(l.Min), l.Count)
	for _, win := range r.Windows {
		fmt.Fprintf(w, "   from %5.0fs: p50 %s  p99 %s  (n=%d)\n", win.StartSeconds, fmtMs(win.P50), fmtMs(win.P99), win.Count)
	}
	if r.Blocks > 0 {
		fmt.Fprintf(w, "   blocks:     %d (#%d..#%d), mean %.1f txs/block, max %d; max base fee %s\n",
			r.Blocks, r.FirstBlock, r.LastBlock, r.MeanTxsPerBlock, r.MaxTxsPerBlock, fmtWei(r.MaxBaseFeeWei))
	} else {
		fmt.Fprintf(w, "   blocks:     none carried a benchmark transaction\n")
	}
	for _, c := range r.NodeCPU {
		fmt.Fprintf(w, "   node cpu:   %s: %.2fs = %.0f µs/tx = %.2f recoveries/tx (one recovery %.1f µs)\n",
			c.Name, c.Seconds, c.MicrosTx, c.Recoveries, r.RecoveryMicros)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "   note:       %s\n", n)
	}
}

func fmtMs(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	default:
		return fmt.Sprintf("%.1fms", v)
	}
}

func fmtWei(s string) string {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return "n/a"
	}
	gwei := new(big.Float).Quo(new(big.Float).SetInt(v), big.NewFloat(1e9))
	out := gwei.Text('f', 3)
	out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	return out + " gwei"
}
