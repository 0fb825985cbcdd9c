package main

import (
	"math"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50 ticks.
	line := []byte("4242 (co (co) geth) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0")
	d, err := parseStat(line, 4242)
	if err != nil || d != 3*time.Second {
		t.Fatalf("parsed %v, %v; want 3s", d, err)
	}
	if _, err := parseStat([]byte("4242 (x) S 1"), 4242); err == nil {
		t.Fatal("a short line parsed")
	}
}

// The meter sees the CPU this process burns (busy until the process's own
// counters show 0.2 s more, whatever the machine's load).
func TestCPUMeterSeesWork(t *testing.T) {
	m := newCPUMeter([]int{os.Getpid()}, nil)
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	x := 0
	for time.Now().Before(deadline) {
		for i := 0; i < 1_000_000; i++ {
			x++
		}
		if now, _ := procCPU(os.Getpid()); now-before >= 200*time.Millisecond {
			break
		}
	}
	got := m.finish(100, 50)
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	if len(got) != 1 || got[0].Seconds < 0.2 || !near(got[0].MicrosTx, got[0].Seconds*1e4) || !near(got[0].Recoveries, got[0].MicrosTx/50) {
		t.Fatalf("meter after 0.2 s of work: %+v (%d)", got, x)
	}
	if r := recoveryMicros(); r <= 1 || r > 10_000 {
		t.Fatalf("one recovery %.1f µs", r)
	}
}

// waitQuiet sees a busy process as busy until its deadline, and an idle
// one as quiet at once.
func TestWaitQuiet(t *testing.T) {
	m := newCPUMeter([]int{os.Getpid()}, nil)
	done := make(chan struct{})
	go func() {
		x := 0
		for {
			select {
			case <-done:
				return
			default:
				for i := 0; i < 100_000; i++ {
					x++
				}
			}
		}
	}()
	start := time.Now()
	busy := m.waitQuiet(600 * time.Millisecond)
	close(done)
	if busy < 0.1 || time.Since(start) < 600*time.Millisecond {
		t.Fatalf("a spinning process: %.2f cores after %v", busy, time.Since(start))
	}
	time.Sleep(50 * time.Millisecond)
	if busy := m.waitQuiet(5 * time.Second); busy >= 0.1 {
		t.Fatalf("an idle process: %.2f cores", busy)
	}
}
