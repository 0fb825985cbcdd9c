package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const crashChildEnv = "COCOGETH_STORE_CRASH_CHILD"

// TestCrashAtomicity (on an encrypted database, as nodes run) kills (SIGKILL) a process in the middle of a stream of
// batch writes, then reopens its database: every batch must be wholly
// present or wholly absent, and every batch whose Write had returned must
// be present (the journal is flushed to the OS before Write returns, and
// the OS outlives the process). A power loss is not simulated: that is what
// SyncKeyValue and WriteSync's fsyncs are for.
func TestCrashAtomicity(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAtomicity$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // never leave the child running, whatever fails
		cmd.Process.Kill()
		cmd.Wait()
	})
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			if acked, err = strconv.Atoi(r); err != nil {
				t.Fatal(err)
			}
			if acked >= 300 {
				break
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if acked < 300 {
		t.Fatalf("child stopped early at round %d", acked)
	}

	db := openTestDB(t, dir, Options{Keys: newTestKeys(1), Identity: "crash"})
	it := db.NewIterator(nil, nil)
	defer it.Release()
	n := 0
	var round uint64
	for it.Next() {
		r := binary.BigEndian.Uint64(it.Value())
		if n == 0 {
			round = r
		} else if r != round {
			t.Fatalf("torn batch after crash: key %s has round %d, first key round %d", it.Key(), r, round)
		}
		n++
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	if n != crashKeys {
		t.Fatalf("%d keys after crash, want %d", n, crashKeys)
	}
	if round < uint64(acked) {
		t.Fatalf("acknowledged round %d lost: database has round %d", acked, round)
	}
	t.Logf("killed after acknowledging round %d; database has round %d", acked, round)
}

const crashKeys = 500

// crashChild writes rounds of batches forever, printing each acknowledged
// round, until it is killed.
func crashChild(dir string) {
	db, err := Open(dir, Options{CacheMiB: 16, Keys: newTestKeys(1), Identity: "crash"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	val := make([]byte, 300)
	for round := uint64(0); ; round++ {
		b := db.NewBatch()
		binary.BigEndian.PutUint64(val, round)
		for i := 0; i < crashKeys; i++ {
			b.Put(testKey(i), val)
		}
		if err := b.Write(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("acked %d\n", round)
	}
}
