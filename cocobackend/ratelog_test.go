package cocobackend

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/log"
)

// A flood of refusals logs at most burst lines per period; the next line
// logged says how many were dropped.
func TestRateLog(t *testing.T) {
	var buf bytes.Buffer
	prev := log.Root()
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(&buf, log.LevelTrace, false)))
	defer log.SetDefault(prev)
	clock := time.Unix(1_000_000, 0)
	r := &rateLog{period: 10 * time.Second, burst: 3, now: func() time.Time { return clock }}
	for i := 0; i < 50; i++ {
		r.Warn("Refused node-to-node connection", "i", i)
	}
	if n := strings.Count(buf.String(), "Refused node-to-node connection"); n != 3 {
		t.Fatalf("%d lines logged for 50 refusals in one period, want 3:\n%s", n, buf.String())
	}
	clock = clock.Add(11 * time.Second)
	r.Warn("Refused node-to-node connection", "i", 50)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; len(lines) != 4 || !strings.Contains(last, "suppressed=47") || !strings.Contains(last, "i=50") {
		t.Errorf("line after the period: %q (of %d lines), want i=50 with suppressed=47", last, len(lines))
	}
}
