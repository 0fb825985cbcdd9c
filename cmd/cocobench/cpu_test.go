package main

import (
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

// The meter sees the CPU this process burns.
func TestCPUMeterSeesWork(t *testing.T) {
	m := newCPUMeter([]int{os.Getpid()}, nil)
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	got := m.finish(100, 50)
	if len(got) != 1 || got[0].Seconds < 0.1 || got[0].MicrosTx != got[0].Seconds*1e4 || got[0].Recoveries != got[0].MicrosTx/50 {
		t.Fatalf("meter after 300 ms of work: %+v (%d)", got, x)
	}
	if r := recoveryMicros(); r <= 1 || r > 10_000 {
		t.Fatalf("one recovery %.1f µs", r)
	}
}
