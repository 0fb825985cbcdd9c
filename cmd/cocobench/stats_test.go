package main

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/params"
)

func msList(vals ...int) []time.Duration {
	out := make([]time.Duration, len(vals))
	for i, v := range vals {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	ten := msList(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
	cases := []struct {
		data []time.Duration
		p    float64
		want time.Duration
	}{
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{hundred, 29, 29 * time.Millisecond}, // 0.29*100 is 29.000000000000004 in floating point
		{hundred, 0, 1 * time.Millisecond},
		{hundred, 0.5, 1 * time.Millisecond},
		{hundred, 99.5, 100 * time.Millisecond},
		{ten, 50, 50 * time.Millisecond},
		{ten, 51, 60 * time.Millisecond},
		{ten, 90, 90 * time.Millisecond},
		{ten, 99, 100 * time.Millisecond},
		{ten, 10, 10 * time.Millisecond},
		{ten, 11, 20 * time.Millisecond},
		{msList(7), 50, 7 * time.Millisecond},
		{msList(7), 99, 7 * time.Millisecond},
		{nil, 50, 0},
	}
	for _, c := range cases {
		if got := percentile(c.data, c.p); got != c.want {
			t.Errorf("percentile(n=%d, p=%v) = %v, want %v", len(c.data), c.p, got, c.want)
		}
	}
}

func TestSummarizeLatencies(t *testing.T) {
	lats := msList(40, 10, 30, 20) // unsorted on purpose
	s := summarizeLatencies(lats)
	want := LatencyStats{Count: 4, Min: 10, Mean: 25, P50: 20, P90: 40, P99: 40, Max: 40}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if z := summarizeLatencies(nil); z != (LatencyStats{}) {
		t.Fatalf("empty: %+v", z)
	}
}

func TestSplitCounts(t *testing.T) {
	c := splitCounts(50003, 500)
	sum := 0
	for i, n := range c {
		sum += n
		if (i < 3 && n != 101) || (i >= 3 && n != 100) {
			t.Fatalf("count[%d] = %d", i, n)
		}
	}
	if sum != 50003 {
		t.Fatalf("sum %d", sum)
	}
	if c := splitCounts(3, 5); c[0] != 1 || c[3] != 0 {
		t.Fatalf("fewer txs than senders: %v", c)
	}
}

func TestChooseFeeCap(t *testing.T) {
	gwei := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.GWei)) }
	rich := new(big.Int).Lsh(big.NewInt(1), 200)
	// Rich funder: the ceiling.
	if got := chooseFeeCap(nil, gwei(1), gwei(1), rich, 21000, 21000*50000); got.Cmp(gwei(10000)) != 0 {
		t.Fatalf("rich: %v", got)
	}
	// A large gas limit keeps one transaction's fee at half an ether.
	if got := chooseFeeCap(nil, gwei(1), gwei(1), rich, 100_000, 1); got.Cmp(gwei(5000)) != 0 {
		t.Fatalf("per-tx limit: %v", got)
	}
	// An override wins.
	if got := chooseFeeCap(gwei(7), gwei(1), gwei(1), rich, 21000, 1); got.Cmp(gwei(7)) != 0 {
		t.Fatalf("override: %v", got)
	}
	// A poor funder: a quarter of the balance spread over the gas.
	bal := new(big.Int).Mul(gwei(4*5), big.NewInt(1000)) // quarter pays 5 gwei for 1000 gas
	if got := chooseFeeCap(nil, gwei(1), gwei(1), bal, 21000, 1000); got.Cmp(gwei(5)) != 0 {
		t.Fatalf("budget: %v", got)
	}
	// ... but never below 2*basefee + tip.
	if got := chooseFeeCap(nil, gwei(10), gwei(1), bal, 21000, 1000); got.Cmp(gwei(21)) != 0 {
		t.Fatalf("floor: %v", got)
	}
}
