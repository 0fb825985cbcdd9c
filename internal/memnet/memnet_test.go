package memnet

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

// Every test must leave no goroutine running (the network starts none).
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }

// pair dials b's listener from a and returns both ends.
func pair(t *testing.T, n *Network, a, b string) (client, server net.Conn) {
	t.Helper()
	ln, err := n.Host(b).Listen(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err = n.Host(a).Dial(b, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// result runs f in a goroutine and returns its outcome on a channel.
func result(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func wait(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still blocked", what)
		return nil
	}
}

func mustBlock(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s returned %v, want it blocked", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

// Bytes cross in both directions, in order, with the addresses of the two
// hosts; a write larger than the buffers completes as the reader reads.
func TestConnTransfers(t *testing.T) {
	n := New()
	c, s := pair(t, n, "a:1", "b:1")
	if c.LocalAddr().String() != "a:1" || c.RemoteAddr().String() != "b:1" || s.LocalAddr().String() != "b:1" || s.RemoteAddr().String() != "a:1" {
		t.Fatalf("addresses: client %v→%v, server %v→%v", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
	}
	big := make([]byte, 4*window+123)
	rand.Read(big)
	sent := result(func() error { _, err := c.Write(big); return err })
	got := make([]byte, len(big))
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, sent, "the big write"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("bytes differ")
	}
	if _, err := s.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if k, err := c.Read(buf); err != nil || string(buf[:k]) != "back" {
		t.Fatalf("read %q, %v", buf[:k], err)
	}
}

// A closed end's peer reads what was sent, then EOF, and cannot write;
// the closed end itself fails with net.ErrClosed, including a read that was
// waiting.
func TestConnClose(t *testing.T) {
	n := New()
	c, s := pair(t, n, "a", "b")
	blocked := result(func() error { _, err := c.Read(make([]byte, 1)); return err })
	mustBlock(t, blocked, "read")
	if _, err := s.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, blocked, "read"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got, err := io.ReadAll(c); err != nil || string(got) != "ast" {
		t.Fatalf("after the peer closed: read %q, %v; want the rest, then EOF", got, err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrBrokenPipe) {
		t.Fatalf("write to a closed peer: %v", err)
	}
	waiting := result(func() error { _, err := c.Read(make([]byte, 1)); return err })
	if err := wait(t, waiting, "read"); err != io.EOF {
		t.Fatalf("read: %v", err)
	}
	c2, s2 := pair(t, n, "a", "b2")
	waiting = result(func() error { _, err := c2.Read(make([]byte, 1)); return err })
	mustBlock(t, waiting, "read")
	c2.Close()
	if err := wait(t, waiting, "read on a closing end"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed end: %v", err)
	}
	if c2.Close() != nil {
		t.Fatal("second Close failed")
	}
	s2.Close()
	c.Close()
	if k := n.Open(); k != 0 {
		t.Fatalf("%d connections still open", k)
	}
}

// Deadlines make reads and writes (a write waits on a full buffer) fail
// with a timeout; moving a deadline wakes a waiting read; removing one lets
// it wait on.
func TestConnDeadlines(t *testing.T) {
	n := New()
	c, s := pair(t, n, "a", "b")
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	// Moved far away while a read waits: it waits on, then gets data.
	c.SetReadDeadline(time.Now().Add(time.Hour))
	blocked := result(func() error { _, err := c.Read(make([]byte, 1)); return err })
	mustBlock(t, blocked, "read")
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if err := wait(t, blocked, "read"); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after the deadline moved into the past: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	blocked = result(func() error { _, err := c.Read(make([]byte, 1)); return err })
	mustBlock(t, blocked, "read without deadline")
	s.Write([]byte{1})
	if err := wait(t, blocked, "read"); err != nil {
		t.Fatal(err)
	}
	// Nobody reads: the write fills the buffer and times out, having
	// written what fit.
	s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	k, err := s.Write(make([]byte, 2*window))
	if !errors.Is(err, os.ErrDeadlineExceeded) || k != window {
		t.Fatalf("write into a full buffer: %d, %v", k, err)
	}
}

// Nothing listening, or a listener closed: dials fail at once; a dial not
// yet accepted when the listener closes sees EOF.
func TestDialRefused(t *testing.T) {
	n := New()
	if _, err := n.Host("a").Dial("b", time.Hour); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial to nothing: %v", err)
	}
	ln, err := n.Host("b").Listen("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Host("c").Listen("b"); err == nil {
		t.Fatal("two listeners on one address")
	}
	pending, err := n.Host("a").Dial("b", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Close()
	ln.Close()
	if n.Listening("b") {
		t.Fatal("still listening")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("accept on a closed listener: %v", err)
	}
	if _, err := pending.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("dial pending at close: %v", err)
	}
	start := time.Now()
	if _, err := n.Host("a").Dial("b", time.Hour); !errors.Is(err, ErrRefused) || time.Since(start) > time.Second {
		t.Fatalf("dial to a closed listener: %v after %v", err, time.Since(start))
	}
	// Listening again at the address works (a node restarts).
	ln2, err := n.Host("b").Listen("b")
	if err != nil {
		t.Fatal(err)
	}
	ln2.Close()
}

// A partitioned host's connections are reset on both ends, waiting reads
// included; dials from and to it fail at once; the other hosts go on.
// Healed, it dials and is dialed again.
func TestPartition(t *testing.T) {
	n := New()
	ab, ba := pair(t, n, "a", "b")
	ca, ac := pair(t, n, "c", "a")
	cd, dc := pair(t, n, "c", "d")
	waiting := result(func() error { _, err := ba.Read(make([]byte, 1)); return err })
	mustBlock(t, waiting, "read")
	n.Partition("a")
	if err := wait(t, waiting, "read on a cut connection"); !errors.Is(err, ErrReset) {
		t.Fatalf("read on a cut connection: %v", err)
	}
	for _, c := range []net.Conn{ab, ba, ca, ac} {
		if _, err := c.Write([]byte("x")); !errors.Is(err, ErrReset) {
			t.Fatalf("write on a cut connection %v→%v: %v", c.LocalAddr(), c.RemoteAddr(), err)
		}
	}
	if _, err := n.Host("a").Dial("b", time.Hour); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("dial from the partitioned host: %v", err)
	}
	if _, err := n.Host("c").Dial("a", time.Hour); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("dial to the partitioned host: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dc.Write([]byte("ok"))
	}()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(cd, buf); err != nil || string(buf) != "ok" {
		t.Fatalf("others' connection: %q, %v", buf, err)
	}
	wg.Wait()

	n.Heal("a")
	c, err := n.Host("a").Dial("b", time.Hour)
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	c.Close()
	c, err = n.Host("c").Dial("a", time.Hour)
	if err != nil {
		t.Fatalf("dial to the healed host: %v", err)
	}
	c.Close()
}

// Concurrent reads, writes, deadline changes, closes and a partition are
// race-free (run with -race) and leave nothing open.
func TestConcurrentUse(t *testing.T) {
	n := New()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		c, s := pair(t, n, "a", "b"+string(rune('0'+i)))
		wg.Add(3)
		go func() {
			defer wg.Done()
			for {
				c.SetWriteDeadline(time.Now().Add(time.Millisecond))
				if _, err := c.Write(make([]byte, 1000)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, 700)
			for {
				s.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := s.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			if i%2 == 0 {
				c.Close()
				s.Close()
			}
		}()
	}
	time.Sleep(30 * time.Millisecond)
	n.Partition("a")
	wg.Wait()
	t.Cleanup(func() {
		if k := n.Open(); k != 0 {
			t.Errorf("%d connections open after their ends closed", k)
		}
	})
}
