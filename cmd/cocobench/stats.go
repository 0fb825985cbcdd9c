package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. p <= 0 gives the minimum; an empty
// slice gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	// Guard against p/100*n landing a hair above an integer through
	// floating-point error (e.g. 0.29*100 = 29.000000000000004).
	if r := float64(rank-1) - p/100*float64(n); r > -1e-9 && r <= 0 {
		rank--
	}
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// LatencyStats summarises inclusion latencies, in milliseconds.
type LatencyStats struct {
	Count int     `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarizeLatencies computes LatencyStats of lats; lats is sorted in place.
func summarizeLatencies(lats []time.Duration) LatencyStats {
	if len(lats) == 0 {
		return LatencyStats{}
	}
	slices.Sort(lats)
	var sum float64
	for _, l := range lats {
		sum += float64(l)
	}
	return LatencyStats{
		Count: len(lats),
		Min:   ms(lats[0]),
		Mean:  sum / float64(len(lats)) / float64(time.Millisecond),
		P50:   ms(percentile(lats, 50)),
		P90:   ms(percentile(lats, 90)),
		P99:   ms(percentile(lats, 99)),
		Max:   ms(lats[len(lats)-1]),
	}
}
