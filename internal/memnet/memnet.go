// Package memnet is an in-memory network for tests: hosts listen on
// addresses and dial each other through it, with connections that behave
// like TCP (buffered in both directions, deadlines, half-close on Close),
// and the failures a cluster test needs:
//
//   - Partition cuts a host off, both ways: its open connections are reset
//     and every dial from or to it fails at once, as TCP to an unreachable
//     host would after its timeout. Heal lets it talk again.
//   - A host that stopped listening (a node that is down) refuses dials at
//     once, as TCP does.
//
// It starts no goroutine of its own; a connection or listener that its
// owner closed holds nothing.
package memnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Errors of dials and connections; each is wrapped in a *net.OpError.
var (
	// ErrRefused: nothing listens at the address.
	ErrRefused = errors.New("connection refused")
	// ErrUnreachable: the dialer or the listener is partitioned away.
	ErrUnreachable = errors.New("host unreachable (partitioned)")
	// ErrReset: the connection was cut by a partition.
	ErrReset = errors.New("connection reset (partitioned)")
	// ErrBrokenPipe: the peer closed its end; nothing more can be sent.
	ErrBrokenPipe = errors.New("broken pipe")
)

// window is how many bytes a connection buffers in each direction before
// a write waits for the reader, as a socket's buffers do.
const window = 256 << 10

// backlog bounds the connections dialed but not yet accepted at a
// listener; beyond it dials are refused.
const backlog = 128

// Addr is an address on the network.
type Addr string

// Network implements net.Addr.
func (Addr) Network() string  { return "memnet" }
func (a Addr) String() string { return string(a) }

// Network is a set of hosts that reach each other by address.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*Listener
	isolated  map[string]bool
	links     map[*link]struct{} // connections with at least one end open
}

// New returns an empty network.
func New() *Network {
	return &Network{listeners: make(map[string]*Listener), isolated: make(map[string]bool), links: make(map[*link]struct{})}
}

// Host returns the host named name: what it dials leaves from it and what
// it listens on belongs to it, so that partitioning it cuts both. The name
// is usually the address the host listens on.
func (n *Network) Host(name string) *Host { return &Host{net: n, name: name} }

// Partition cuts the host off from every other: its open connections are
// reset and dials from or to it fail until Heal.
func (n *Network) Partition(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[host] = true
	for l := range n.links {
		if l.hosts[0] == host || l.hosts[1] == host {
			l.reset()
			delete(n.links, l)
		}
	}
}

// Heal lets a partitioned host reach the others again.
func (n *Network) Heal(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.isolated, host)
}

// Listening reports whether something listens at addr.
func (n *Network) Listening(addr string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.listeners[addr] != nil
}

// Open returns how many connections still have an end that its owner has
// not closed (a partition's resets count as closed).
func (n *Network) Open() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.links)
}

// Host is one machine of the network.
type Host struct {
	net  *Network
	name string
}

// Name is the host's name.
func (h *Host) Name() string { return h.name }

// Listen listens at addr, which no one else may be listening at.
func (h *Host) Listen(addr string) (net.Listener, error) {
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[addr] != nil {
		return nil, &net.OpError{Op: "listen", Net: "memnet", Addr: Addr(addr), Err: errors.New("address already in use")}
	}
	l := &Listener{net: n, host: h.name, addr: addr, queue: make(chan *Conn, backlog), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// Dial connects to the listener at addr. It never waits: it fails at once
// when nothing listens there, when either end is partitioned away or when
// the listener's backlog is full. timeout is ignored.
func (h *Host) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "memnet", Source: Addr(h.name), Addr: Addr(addr), Err: err}
	}
	l := n.listeners[addr]
	switch {
	case n.isolated[h.name] || (l != nil && n.isolated[l.host]):
		return fail(ErrUnreachable)
	case l == nil:
		return fail(ErrRefused)
	}
	lk := &link{net: n, hosts: [2]string{h.name, l.host}}
	ab, ba := newBuffer(), newBuffer()
	client := newConn(lk, ba, ab, Addr(h.name), Addr(addr))
	server := newConn(lk, ab, ba, Addr(addr), Addr(h.name))
	select {
	case l.queue <- server:
	default:
		return fail(fmt.Errorf("%w: backlog full", ErrRefused))
	}
	n.links[lk] = struct{}{}
	return client, nil
}

// Listener accepts the connections dialed to its address.
type Listener struct {
	net   *Network
	host  string
	addr  string
	queue chan *Conn // dialed, not yet accepted; guarded for sends by net.mu
	done  chan struct{}
	once  sync.Once
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, l.closedErr()
	default:
	}
	select {
	case c := <-l.queue:
		return c, nil
	case <-l.done:
		return nil, l.closedErr()
	}
}

func (l *Listener) closedErr() error {
	return &net.OpError{Op: "accept", Net: "memnet", Addr: Addr(l.addr), Err: net.ErrClosed}
}

// Close stops listening: dials to the address are refused from now on,
// and the connections not yet accepted are closed.
func (l *Listener) Close() error {
	l.once.Do(func() {
		n := l.net
		n.mu.Lock()
		if n.listeners[l.addr] == l {
			delete(n.listeners, l.addr)
		}
		close(l.done)
		var pending []*Conn
		for len(l.queue) > 0 {
			pending = append(pending, <-l.queue)
		}
		n.mu.Unlock()
		for _, c := range pending {
			c.Close()
		}
	})
	return nil
}

// Addr is the listening address.
func (l *Listener) Addr() net.Addr { return Addr(l.addr) }

// link is one connection: its two ends and the hosts they belong to.
type link struct {
	net    *Network
	hosts  [2]string // dialer, listener
	ends   [2]*Conn
	mu     sync.Mutex
	closed int // ends closed by their owner
}

// reset cuts both directions at once (net.mu held).
func (l *link) reset() {
	for _, c := range l.ends {
		c.rx.reset()
	}
}

// endClosed is told when an end is closed; the link is forgotten once
// both are.
func (l *link) endClosed() {
	l.mu.Lock()
	l.closed++
	both := l.closed == 2
	l.mu.Unlock()
	if both {
		l.net.mu.Lock()
		delete(l.net.links, l)
		l.net.mu.Unlock()
	}
}

// buffer is one direction of a connection.
type buffer struct {
	mu     sync.Mutex
	data   []byte
	eof    bool          // the writer closed its end: EOF once drained
	broken bool          // the reader closed its end: writes fail
	cut    bool          // reset by a partition: everything fails
	change chan struct{} // closed and replaced whenever the above change
}

func newBuffer() *buffer { return &buffer{change: make(chan struct{})} }

// changed wakes the waiters (mu held).
func (b *buffer) changed() {
	close(b.change)
	b.change = make(chan struct{})
}

func (b *buffer) reset() {
	b.mu.Lock()
	b.cut, b.data = true, nil
	b.changed()
	b.mu.Unlock()
}

// Conn is one end of a connection.
type Conn struct {
	link          *link
	rx, tx        *buffer
	local, remote Addr
	rd, wd        deadline
	done          chan struct{} // closed by Close
	once          sync.Once
}

func newConn(lk *link, rx, tx *buffer, local, remote Addr) *Conn {
	c := &Conn{link: lk, rx: rx, tx: tx, local: local, remote: remote, done: make(chan struct{})}
	c.rd.init()
	c.wd.init()
	if lk.ends[0] == nil {
		lk.ends[0] = c
	} else {
		lk.ends[1] = c
	}
	return c
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "memnet", Source: c.local, Addr: c.remote, Err: err}
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Read reads what the peer wrote; io.EOF once the peer closed and
// everything was read.
func (c *Conn) Read(p []byte) (int, error) {
	b := c.rx
	for {
		if c.isClosed() {
			return 0, c.opError("read", net.ErrClosed)
		}
		expired, deadlineChange := c.rd.state()
		if expired {
			return 0, c.opError("read", os.ErrDeadlineExceeded)
		}
		b.mu.Lock()
		switch {
		case b.cut:
			b.mu.Unlock()
			return 0, c.opError("read", ErrReset)
		case len(b.data) > 0:
			n := copy(p, b.data)
			if b.data = b.data[n:]; len(b.data) == 0 {
				b.data = nil
			}
			b.changed()
			b.mu.Unlock()
			return n, nil
		case b.eof:
			b.mu.Unlock()
			return 0, io.EOF
		case len(p) == 0:
			b.mu.Unlock()
			return 0, nil
		}
		wake := b.change
		b.mu.Unlock()
		select {
		case <-wake:
		case <-deadlineChange:
		case <-c.done:
		}
	}
}

// Write writes p for the peer, waiting while its buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	b := c.tx
	n := 0
	for {
		if c.isClosed() {
			return n, c.opError("write", net.ErrClosed)
		}
		expired, deadlineChange := c.wd.state()
		if expired {
			return n, c.opError("write", os.ErrDeadlineExceeded)
		}
		b.mu.Lock()
		switch {
		case b.cut:
			b.mu.Unlock()
			return n, c.opError("write", ErrReset)
		case b.broken:
			b.mu.Unlock()
			return n, c.opError("write", ErrBrokenPipe)
		}
		if room := window - len(b.data); room > 0 && len(p) > 0 {
			k := min(room, len(p))
			b.data = append(b.data, p[:k]...)
			p, n = p[k:], n+k
			b.changed()
		}
		if len(p) == 0 {
			b.mu.Unlock()
			return n, nil
		}
		wake := b.change
		b.mu.Unlock()
		select {
		case <-wake:
		case <-deadlineChange:
		case <-c.done:
		}
	}
}

// Close closes this end: the peer reads what was sent, then EOF, and its
// writes fail. Closing again does nothing.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.tx.mu.Lock()
		c.tx.eof = true
		c.tx.changed()
		c.tx.mu.Unlock()
		c.rx.mu.Lock()
		c.rx.broken, c.rx.data = true, nil
		c.rx.changed()
		c.rx.mu.Unlock()
		c.rd.set(time.Time{})
		c.wd.set(time.Time{})
		c.link.endClosed()
	})
	return nil
}

// LocalAddr is this end's host (the dialer) or listening address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the other end's listening address or host (the dialer).
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines, as net.Conn's.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the read deadline, as net.Conn's.
func (c *Conn) SetReadDeadline(t time.Time) error { c.rd.set(t); return nil }

// SetWriteDeadline sets the write deadline, as net.Conn's.
func (c *Conn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// deadline is the read or write deadline of a connection end.
type deadline struct {
	mu     sync.Mutex
	at     time.Time // zero: none
	timer  *time.Timer
	change chan struct{} // closed when the deadline changes or passes
}

func (d *deadline) init() { d.change = make(chan struct{}) }

// set moves the deadline (zero removes it) and wakes the waiters, which
// look again.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.at = t
	d.wake()
	if !t.IsZero() {
		change := d.change
		d.timer = time.AfterFunc(time.Until(t), func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.change == change { // not moved since
				d.wake()
			}
		})
	}
}

// wake closes and replaces change (mu held).
func (d *deadline) wake() {
	close(d.change)
	d.change = make(chan struct{})
}

// state reports whether the deadline has passed, and a channel closed when
// that may have changed.
func (d *deadline) state() (expired bool, change <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.at.IsZero() && !time.Now().Before(d.at), d.change
}
