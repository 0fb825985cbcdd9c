package cocobackend

import (
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/log"
)

// rateLog logs a warning at most burst times per period; the lines it
// drops are counted and reported with the next one logged, so that a flood
// of refused connections cannot flood the log.
type rateLog struct {
	period time.Duration
	burst  int
	now    func() time.Time // time.Now unless a test sets it

	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

var refusals = &rateLog{period: 10 * time.Second, burst: 20}

func (r *rateLog) Warn(msg string, ctx ...any) {
	r.mu.Lock()
	now := time.Now()
	if r.now != nil {
		now = r.now()
	}
	if now.Sub(r.start) > r.period {
		r.start, r.n = now, 0
	}
	r.n++
	if r.n > r.burst {
		r.dropped++
		r.mu.Unlock()
		return
	}
	if r.dropped > 0 {
		ctx = append(ctx, "suppressed", r.dropped)
		r.dropped = 0
	}
	r.mu.Unlock()
	log.Warn(msg, ctx...)
}
