package cocobackend_test

// The mux's authentication, with the guards of package nodetls (which
// imports cocobackend, hence an external test package).

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
)

var muxNetwork = common.HexToHash("0x3333333333333333333333333333333333333333333333333333333333333333")

// vnode is a validating node of a test: its node key and, once
// started, its guard's registry and its mux.
type vnode struct {
	id    string
	key   *ecdsa.PrivateKey
	pub   []byte
	reg   *nodetls.Registry
	guard *nodetls.Guard
	mux   *cocobackend.Mux
}

func newVNode(t *testing.T, id string) *vnode {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &vnode{id: id, key: k, pub: crypto.FromECDSAPub(&k.PublicKey)}
}

func keysOf(nodes ...*vnode) map[string][]byte {
	m := make(map[string][]byte, len(nodes))
	for _, n := range nodes {
		m[n.id] = n.pub
	}
	return m
}

// start runs n's mux on 127.0.0.1 with a guard admitting admitted.
func (n *vnode) start(t *testing.T, admitted ...*vnode) *cocobackend.Mux {
	t.Helper()
	n.reg = nodetls.NewRegistry(keysOf(admitted...))
	g, err := nodetls.NewGuard(nodetls.Identity{ID: n.id, Key: n.key, Network: muxNetwork}, n.reg)
	if err != nil {
		t.Fatal(err)
	}
	n.guard, n.mux = g, newMux(t, g)
	return n.mux
}

// newMux runs a mux on 127.0.0.1, closed when the test ends; guard nil
// is plaintext mode.
func newMux(t *testing.T, guard cocobackend.Guard) *cocobackend.Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := cocobackend.NewMux(ln, cocobackend.TCPDialer{Source: net.IPv4(127, 0, 0, 1)}, guard)
	t.Cleanup(func() { m.Close() })
	return m
}

// acceptor accepts on a channel listener in the background; its
// goroutine ends when the listener's mux closes (waited for at the end of
// the test).
type acceptor struct {
	conns chan net.Conn
}

func accept(t *testing.T, m *cocobackend.Mux, ch byte) *acceptor {
	t.Helper()
	a := &acceptor{conns: make(chan net.Conn, 16)}
	ln := m.Listener(ch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.conns <- c
		}
	}()
	t.Cleanup(func() {
		m.Close()
		<-done
		close(a.conns)
		for c := range a.conns {
			c.Close()
		}
	})
	return a
}

// next waits for the next accepted connection.
func (a *acceptor) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-a.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection reached the channel")
		return nil
	}
}

// none asserts that no connection reached the channel. Call it once the
// connection that should not arrive was refused (its client saw the
// refusal), so the mux is done with it; the wait is a margin.
func (a *acceptor) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-a.conns:
		t.Fatalf("a connection from %s reached the channel (peer %+v)", c.RemoteAddr(), cocobackend.PeerOf(c))
	case <-time.After(300 * time.Millisecond):
	}
}

// logSink captures what the node logs during a test.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// captureLog sends the default logger to a sink until the test ends.
// Call it before starting muxes, so they stop before the logger is
// restored.
func captureLog(t *testing.T) *logSink {
	s := new(logSink)
	prev := log.Root()
	log.SetDefault(log.NewLogger(log.NewTerminalHandlerWithLevel(s, log.LevelTrace, false)))
	t.Cleanup(func() { log.SetDefault(prev) })
	return s
}

func waitLog(t *testing.T, s *logSink, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q; it holds:\n%s", want, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// frame encodes items as one forward frame.
func frame(items ...[]byte) []byte {
	var body []byte
	for _, it := range items {
		body = binary.BigEndian.AppendUint32(body, uint32(len(it)))
		body = append(body, it...)
	}
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(items)))
	return append(hdr, body...)
}

func header(size, n uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, size), n)
}

// dialRaw opens a plain TCP connection to m, closed when the test ends.
func dialRaw(t *testing.T, m *cocobackend.Mux) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	return c.(*net.TCPConn)
}

// closedByPeer asserts that c was closed (or reset) by the other end
// within d, and is not merely silent. Anything still readable before the
// end is discarded.
func closedByPeer(t *testing.T, c net.Conn, d time.Duration) error {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if err == nil {
		err = io.EOF // io.Copy reports a clean end as nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
	return err
}

// roundTrip sends a few bytes each way over an established pair.
func roundTrip(t *testing.T, a, b net.Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	defer a.SetDeadline(time.Time{})
	defer b.SetDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(b, buf); err != nil {
			errc <- err
			return
		}
		_, err := b.Write(bytes.ToUpper(buf))
		errc <- err
	}()
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(a, buf); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(buf) != "PING" {
		t.Fatalf("read %q", buf)
	}
	if err := <-errc; err != nil {
		t.Fatalf("other end: %v", err)
	}
}

// A guarded mux hands nothing of an unauthenticated connection to a
// channel, and its log names the refusal without echoing what the peer
// sent.
func TestMuxGuardRefusesUnauthenticated(t *testing.T) {
	logs := captureLog(t)
	A, B, C := newVNode(t, "A"), newVNode(t, "B"), newVNode(t, "C")
	mA := A.start(t, A, B)
	fwd := accept(t, mA, cocobackend.ChannelForward)
	raft := accept(t, mA, cocobackend.ChannelRaft)
	secret := []byte("SECRET-FORGED-TRANSACTION-4f1c")

	t.Run("plain TCP", func(t *testing.T) {
		c := dialRaw(t, mA)
		msg := append([]byte{cocobackend.ChannelForward}, frame(secret)...)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		err := closedByPeer(t, c, 10*time.Second)
		t.Logf("plain client: %v", err)
		fwd.none(t)
		raft.none(t)
		waitLog(t, logs, "Refused node-to-node connection")
		if !strings.Contains(logs.String(), c.LocalAddr().String()) {
			t.Errorf("refusal does not name the remote %s:\n%s", c.LocalAddr(), logs)
		}
	})
	t.Run("node not admitted", func(t *testing.T) {
		// C runs the protocol with its own node key, which A does not list.
		mC := C.start(t, A, C)
		before := strings.Count(logs.String(), "Refused node-to-node connection")
		// The dial itself fails: the mux waits for the listener's word
		// that it admitted the dialer (a TLS 1.3 client alone would finish
		// its handshake before the refusal).
		conn, err := mC.Dial(cocobackend.ChannelForward, mA.Addr().String(), 5*time.Second)
		if err == nil {
			conn.Close()
			t.Fatal("C's dial to A succeeded; A does not admit C")
		}
		t.Logf("refused node: %v", err)
		fwd.none(t)
		raft.none(t)
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(logs.String(), "Refused node-to-node connection") == before {
			if time.Now().After(deadline) {
				t.Fatalf("refusal of C not logged:\n%s", logs)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), nodetls.ErrUnknownNode.Error()) {
			t.Errorf("refusal does not say why:\n%s", logs)
		}
	})
	out := logs.String()
	t.Logf("log:\n%s", out)
	for what, s := range map[string]string{
		"the payload":         string(secret),
		"A's node key":        hex.EncodeToString(crypto.FromECDSA(A.key)),
		"C's node key":        hex.EncodeToString(crypto.FromECDSA(C.key)),
		"the payload, in hex": hex.EncodeToString(secret),
	} {
		if strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
			t.Errorf("log holds %s", what)
		}
	}
}

// Two admitted nodes connect, and each side knows who is at the other end.
func TestMuxAuthenticatedDial(t *testing.T) {
	A, B := newVNode(t, "A"), newVNode(t, "B")
	mA, mB := A.start(t, A, B), B.start(t, A, B)
	if !mA.Authenticated() || !mB.Authenticated() {
		t.Fatal("guarded mux reports plaintext")
	}
	inB := accept(t, mB, cocobackend.ChannelForward)
	raftB := accept(t, mB, cocobackend.ChannelRaft)

	connA, err := mA.Dial(cocobackend.ChannelForward, mB.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer connA.Close()
	connB := inB.next(t)
	defer connB.Close()
	if p := cocobackend.PeerOf(connB); p == nil || p.ID != "A" || !bytes.Equal(p.Key, A.pub) {
		t.Fatalf("B sees %+v, want A", p)
	}
	if p := cocobackend.PeerOf(connA); p == nil || p.ID != "B" || !bytes.Equal(p.Key, B.pub) {
		t.Fatalf("A sees %+v, want B", p)
	}
	roundTrip(t, connA, connB)
	roundTrip(t, connB, connA)
	raftB.none(t) // the channel byte chose the forward channel

	// And the raft channel, dialed the same way.
	rA, err := mA.Dial(cocobackend.ChannelRaft, mB.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rA.Close()
	rB := raftB.next(t)
	defer rB.Close()
	if p := cocobackend.PeerOf(rB); p == nil || p.ID != "A" {
		t.Fatalf("raft channel: B sees %+v, want A", p)
	}
	roundTrip(t, rA, rB)
}

// When B stops admitting A, Recheck cuts A's open connections to B and A
// cannot connect again; other peers keep theirs.
func TestMuxRecheckCutsRemovedPeer(t *testing.T) {
	A, B, C := newVNode(t, "A"), newVNode(t, "B"), newVNode(t, "C")
	mA, mB, mC := A.start(t, A, B, C), B.start(t, A, B, C), C.start(t, A, B, C)
	inB := accept(t, mB, cocobackend.ChannelForward)

	dial := func(m *cocobackend.Mux) (net.Conn, net.Conn) {
		t.Helper()
		c, err := m.Dial(cocobackend.ChannelForward, mB.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s := inB.next(t)
		t.Cleanup(func() { s.Close() })
		return c, s
	}
	aToB, bFromA := dial(mA)
	cToB, bFromC := dial(mC)
	if p := cocobackend.PeerOf(bFromA); p == nil || p.ID != "A" {
		t.Fatalf("first connection is from %+v", p)
	}
	if p := cocobackend.PeerOf(bFromC); p == nil || p.ID != "C" {
		t.Fatalf("second connection is from %+v", p)
	}

	// Nothing changed: nothing is cut.
	mB.Recheck()
	roundTrip(t, aToB, bFromA)
	roundTrip(t, cToB, bFromC)

	if !B.reg.Set(keysOf(B, C)) {
		t.Fatal("removing A reported no change")
	}
	mB.Recheck()
	err := closedByPeer(t, aToB, 10*time.Second)
	t.Logf("A's read after the recheck: %v", err)
	if _, err := bFromA.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("B's end of A's connection is not closed: %v", err)
	}
	roundTrip(t, cToB, bFromC) // C is still admitted

	conn, err := mA.Dial(cocobackend.ChannelForward, mB.Addr().String(), 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatal("A's dial to B succeeded after B dropped A")
	}
	t.Logf("A's new connection: %v", err)
	inB.none(t)

	// A listed again may connect again.
	B.reg.Set(keysOf(A, B, C))
	aToB2, bFromA2 := dial(mA)
	roundTrip(t, aToB2, bFromA2)
}

type received struct {
	from  *cocobackend.AuthPeer
	items [][]byte
}

// serveForwarded runs ServeForwarded on m until the test ends.
func serveForwarded(t *testing.T, m *cocobackend.Mux) <-chan received {
	t.Helper()
	out := make(chan received, 16)
	done := make(chan struct{})
	// The channel exists before this returns: a stream opened before the
	// goroutine below runs would otherwise be refused as unknown.
	m.Listener(cocobackend.ChannelForward)
	go func() {
		defer close(done)
		cocobackend.ServeForwarded(m, func(from *cocobackend.AuthPeer, items [][]byte) {
			cp := make([][]byte, len(items))
			for i, it := range items {
				cp[i] = bytes.Clone(it)
			}
			select {
			case out <- received{from, cp}:
			default:
				t.Error("handler called too often")
			}
		})
	}()
	t.Cleanup(func() {
		m.Close()
		<-done
	})
	return out
}

func nextFrame(t *testing.T, ch <-chan received) received {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no forwarded frame arrived")
		return received{}
	}
}

// ServeForwarded names the sender on an authenticated mux, and nobody on
// a plaintext one.
func TestServeForwardedSender(t *testing.T) {
	items := [][]byte{[]byte("first transaction"), []byte("second transaction")}
	check := func(t *testing.T, r received) {
		t.Helper()
		if len(r.items) != len(items) {
			t.Fatalf("%d items, want %d", len(r.items), len(items))
		}
		for i := range items {
			if !bytes.Equal(r.items[i], items[i]) {
				t.Errorf("item %d is %q, want %q", i, r.items[i], items[i])
			}
		}
	}
	t.Run("authenticated", func(t *testing.T) {
		A, B := newVNode(t, "A"), newVNode(t, "B")
		mA, mB := A.start(t, A, B), B.start(t, A, B)
		got := serveForwarded(t, mB)
		f := cocobackend.NewForwarder(mA, mA.Addr().String(), func() (string, string) { return "B", mB.Addr().String() })
		defer f.Close()
		f.Send(items...)
		r := nextFrame(t, got)
		if r.from == nil {
			t.Fatal("handler got no sender over an authenticated mux")
		}
		if r.from.ID != "A" || !bytes.Equal(r.from.Key, A.pub) {
			t.Fatalf("sender is %q, want A", r.from.ID)
		}
		check(t, r)
	})
	t.Run("plaintext", func(t *testing.T) {
		mA, mB := newMux(t, nil), newMux(t, nil)
		if mA.Authenticated() {
			t.Fatal("plaintext mux reports authentication")
		}
		got := serveForwarded(t, mB)
		f := cocobackend.NewForwarder(mA, mA.Addr().String(), func() (string, string) { return "B", mB.Addr().String() })
		defer f.Close()
		f.Send(items...)
		r := nextFrame(t, got)
		if r.from != nil {
			t.Fatalf("handler got sender %+v over a plaintext mux", r.from)
		}
		check(t, r)
	})
}

// forwardStream opens a plaintext forwarding stream to m by hand.
func forwardStream(t *testing.T, m *cocobackend.Mux) *net.TCPConn {
	t.Helper()
	c := dialRaw(t, m)
	if _, err := c.Write([]byte{cocobackend.ChannelForward}); err != nil {
		t.Fatal(err)
	}
	return c
}

// A frame header is checked before anything is read or allocated for the
// frame: a declared size over the limit ends the stream at once.
func TestForwardFrameHeaderBounds(t *testing.T) {
	logs := captureLog(t)
	m := newMux(t, nil)
	got := serveForwarded(t, m)
	cases := []struct {
		name string
		hdr  []byte
		msg  string
	}{
		{"over 16 MiB", header(16<<20+1, 1), "bad forward frame: 1 items in 16777217 bytes"},
		{"4 GiB", header(^uint32(0), 1), "bad forward frame: 1 items in 4294967295 bytes"},
		{"more items than fit", header(8, 3), "bad forward frame: 3 items in 8 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := forwardStream(t, m)
			if _, err := s.Write(frame([]byte("fine"))); err != nil {
				t.Fatal(err)
			}
			if r := nextFrame(t, got); len(r.items) != 1 || string(r.items[0]) != "fine" {
				t.Fatalf("first frame: %q", r.items)
			}
			// No body follows: the stream must end on the header
			// alone, long before the frame timeout (30 s).
			if _, err := s.Write(c.hdr); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			closedByPeer(t, s, 10*time.Second)
			t.Logf("closed after %v", time.Since(start))
			waitLog(t, logs, c.msg)
		})
	}
	select {
	case r := <-got:
		t.Fatalf("handler got a frame of a refused header: %q", r.items)
	default:
	}
}

// A frame declaring the largest size allowed costs the receiver only what
// actually arrives.
func TestForwardFrameGrowsAsBytesArrive(t *testing.T) {
	m := newMux(t, nil)
	got := serveForwarded(t, m)
	s := forwardStream(t, m)
	// A first frame, so the stream's reader and buffers exist before the
	// measurement.
	if _, err := s.Write(frame([]byte("warm-up"))); err != nil {
		t.Fatal(err)
	}
	nextFrame(t, got)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := s.Write(header(16<<20, 1)); err != nil {
		t.Fatal(err)
	}
	// The item's length, then 16 KiB of it in small writes.
	if _, err := s.Write(binary.BigEndian.AppendUint32(nil, 16<<20-4)); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xab}, 256)
	for i := 0; i < 64; i++ {
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// End the stream mid-frame: the receiver gives up on the frame.
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	closedByPeer(t, s, 10*time.Second)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for a 16 MiB frame of which 16 KiB arrived", alloc)
	if alloc >= 1<<20 {
		t.Fatalf("allocated %d bytes for 16 KiB received", alloc)
	}
	select {
	case r := <-got:
		t.Fatalf("handler got a truncated frame: %d items", len(r.items))
	default:
	}
}

// A frame must arrive within the frame timeout of its header (30 s;
// shortened here), no matter how steadily its bytes trickle in.
func TestForwardFrameTimeout(t *testing.T) {
	const frameTimeout = 3 * time.Second
	defer cocobackend.SetForwardFrameTimeout(frameTimeout)()
	m := newMux(t, nil)
	got := serveForwarded(t, m)
	s := forwardStream(t, m)
	if _, err := s.Write(frame([]byte("warm-up"))); err != nil {
		t.Fatal(err)
	}
	nextFrame(t, got)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := s.Write(header(16<<20, 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	closed := make(chan error, 1)
	go func() {
		s.SetReadDeadline(start.Add(frameTimeout + 15*time.Second))
		_, err := io.Copy(io.Discard, s)
		closed <- err
	}()
	// One byte every 100 ms: never idle for long, never done.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	sent := 0
	var elapsed time.Duration
wait:
	for {
		select {
		case err := <-closed:
			elapsed = time.Since(start)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("stream still open %v after the header", elapsed)
			}
			break wait
		case <-tick.C:
			s.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := s.Write([]byte{0xab}); err == nil {
				sent++
			}
		}
	}
	runtime.ReadMemStats(&after)
	t.Logf("stream closed %v after the header; %d bytes trickled; %d bytes allocated", elapsed, sent, after.TotalAlloc-before.TotalAlloc)
	if elapsed < frameTimeout-time.Second {
		t.Fatalf("stream closed after %v, before the frame timeout", elapsed)
	}
	if elapsed > frameTimeout+5*time.Second {
		t.Fatalf("stream closed after %v, long after the frame timeout", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc >= 1<<20 {
		t.Fatalf("allocated %d bytes while %d bytes trickled", alloc, sent)
	}
	select {
	case r := <-got:
		t.Fatalf("handler got a frame that never completed: %d items", len(r.items))
	default:
	}
}

// Closing a mux does not wait for connections still in their handshake:
// a silent peer cannot hold a node's shutdown for the handshake deadline.
func TestMuxCloseCutsHandshakes(t *testing.T) {
	A := newVNode(t, "A")
	m := A.start(t, A)
	c, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	m.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v with a silent connection open", took)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the silent connection is still open after Close")
	}
}

// A channel whose listener closed (a halted node's Raft) refuses new
// connections at once and closes those queued for it: their dialers learn
// straight away instead of waiting out their timeouts.
func TestMuxClosedChannelRefusesAtOnce(t *testing.T) {
	m := newMux(t, nil)
	ln := m.Listener(7)
	// Queued, never accepted.
	queued, err := m.Dial(7, m.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer queued.Close()
	time.Sleep(50 * time.Millisecond) // let the mux route it
	ln.Close()
	queued.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := queued.Read(make([]byte, 1)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a queued connection of a closed channel: read %v after %v, want closed at once", err, time.Since(start))
	}
	later, err := m.Dial(7, m.Addr().String(), 5*time.Second)
	if err != nil {
		return // refused at dial: as good
	}
	defer later.Close()
	later.SetReadDeadline(time.Now().Add(5 * time.Second))
	start = time.Now()
	if _, err := later.Read(make([]byte, 1)); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a new connection to a closed channel: read %v after %v, want closed at once", err, time.Since(start))
	}
}

// fakeKeys is a keyring whose export is fixed.
type fakeKeys struct{ export []byte }

func (fakeKeys) Current() (uint64, []byte)     { return 1, make([]byte, 32) }
func (fakeKeys) Secret(uint64) ([]byte, error) { return make([]byte, 32), nil }
func (k fakeKeys) Export() ([]byte, error)     { return k.export, nil }

// The keys channel answers admitted nodes only, and never without a guard.
func TestKeysChannelAdmittedOnly(t *testing.T) {
	A, B, C := newVNode(t, "A"), newVNode(t, "B"), newVNode(t, "C")
	_, mB := A.start(t, A, B), B.start(t, A, B)
	C.start(t, A, B, C) // C admits B, but B does not admit C
	secret := []byte("the ledger secrets of B")
	done := make(chan struct{})
	go func() { defer close(done); cocobackend.ServeKeys(mB, fakeKeys{secret}) }()
	t.Cleanup(func() { mB.Close(); <-done })

	got, p, err := cocobackend.FetchKeys(A.guard, mB.Addr().String())
	if err != nil || !bytes.Equal(got, secret) || p == nil || p.ID != "B" {
		t.Fatalf("admitted node: %q from %+v, %v", got, p, err)
	}
	if got, _, err := cocobackend.FetchKeys(C.guard, mB.Addr().String()); err == nil || len(got) > 0 {
		t.Fatalf("a node B does not admit got %q", got)
	}
	if _, _, err := cocobackend.FetchKeys(nil, mB.Addr().String()); err == nil {
		t.Fatal("fetched without authentication")
	}
	// A plain TCP client naming the keys channel gets nothing.
	raw, err := net.Dial("tcp", mB.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte{cocobackend.ChannelKeys})
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(raw); bytes.Contains(b, secret) {
		t.Fatal("an unauthenticated client read the ledger secrets")
	}

	// A mux without a guard (plaintext mode) serves no secrets at all.
	plain := newMux(t, nil)
	pdone := make(chan struct{})
	go func() { defer close(pdone); cocobackend.ServeKeys(plain, fakeKeys{secret}) }()
	t.Cleanup(func() { plain.Close(); <-pdone })
	conn, err := plain.Dial(cocobackend.ChannelKeys, plain.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(conn); len(b) > 0 {
		t.Fatalf("a plaintext mux served %q", b)
	}
}
