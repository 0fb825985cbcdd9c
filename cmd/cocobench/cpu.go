package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// Node cost is measured as the CPU time (user + system, from the
// process's own counters) the node processes spend during the measured
// phase, per committed transaction, and in units of one secp256k1 public
// key recovery measured by this process in the same run: machines differ
// by more than 2x from day to day, ratios measured together do not.

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// procCPU returns the CPU time process pid has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b, pid)
}

// parseStat reads utime + stime of a /proc/PID/stat line.
func parseStat(b []byte, pid int) (time.Duration, error) {
	// The command name is in parentheses and may hold spaces: fields
	// count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ... utime(14) stime(15), 1-based overall.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// recoveryMicros measures one public key recovery (crypto.Ecrecover, what
// a node does once per transaction at admission), in microseconds: the
// median of 9 rounds of 500.
func recoveryMicros() float64 {
	key, _ := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	const n = 500
	hashes, sigs := make([][]byte, n), make([][]byte, n)
	for i := range hashes {
		hashes[i] = crypto.Keccak256([]byte(strconv.Itoa(i)))
		sigs[i], _ = crypto.Sign(hashes[i], key)
	}
	var rounds []float64
	for r := 0; r < 9; r++ {
		start := time.Now()
		for i := range hashes {
			if _, err := crypto.Ecrecover(hashes[i], sigs[i]); err != nil {
				panic(err)
			}
		}
		rounds = append(rounds, float64(time.Since(start).Microseconds())/n)
	}
	sort.Float64s(rounds)
	return rounds[len(rounds)/2]
}

// waitQuiet waits, at most max, until the node processes together use
// less than a tenth of a core over 200 ms, so that the recovery measured
// next is not slowed by a node still busy with the setup (on a machine whose
// cores share execution units that alone can move it by a third). It
// returns the share of a core they used in the last window.
func (m *cpuMeter) waitQuiet(max time.Duration) float64 {
	const window = 200 * time.Millisecond
	total := func() time.Duration {
		var sum time.Duration
		for _, pid := range m.pids {
			if t, err := procCPU(pid); err == nil {
				sum += t
			}
		}
		return sum
	}
	deadline := time.Now().Add(max)
	for {
		before := total()
		time.Sleep(window)
		busy := float64(total()-before) / float64(window)
		if busy < 0.1 || time.Now().After(deadline) {
			return busy
		}
	}
}

// NodeCPU is the CPU one node process spent in the measured phase.
type NodeCPU struct {
	Name       string  `json:"name"`
	PID        int     `json:"pid"`
	Seconds    float64 `json:"cpu_seconds"`
	MicrosTx   float64 `json:"cpu_us_per_tx"`
	Recoveries float64 `json:"recoveries_per_tx"`
}

// cpuMeter samples the node processes before and after the measured phase.
type cpuMeter struct {
	names  []string
	pids   []int
	before []time.Duration
}

func newCPUMeter(pids []int, names []string) *cpuMeter {
	m := &cpuMeter{pids: pids, names: names}
	for i, pid := range pids {
		if i >= len(m.names) {
			m.names = append(m.names, fmt.Sprintf("pid %d", pid))
		}
	}
	return m
}

func (m *cpuMeter) start() error {
	m.before = make([]time.Duration, len(m.pids))
	for i, pid := range m.pids {
		t, err := procCPU(pid)
		if err != nil {
			return fmt.Errorf("node process %d: %w", pid, err)
		}
		m.before[i] = t
	}
	return nil
}

// finish returns each node's CPU per committed transaction.
func (m *cpuMeter) finish(committed int, recovery float64) []NodeCPU {
	var out []NodeCPU
	for i, pid := range m.pids {
		t, err := procCPU(pid)
		if err != nil {
			continue
		}
		c := NodeCPU{Name: m.names[i], PID: pid, Seconds: (t - m.before[i]).Seconds()}
		if committed > 0 {
			c.MicrosTx = c.Seconds * 1e6 / float64(committed)
			if recovery > 0 {
				c.Recoveries = c.MicrosTx / recovery
			}
		}
		out = append(out, c)
	}
	return out
}
