package testnode

import (
	"io"
	"net"
	"sync"
	"time"
)

// proxyDialTimeout bounds a proxy's dial of the node behind it.
const proxyDialTimeout = 2 * time.Second

// refuseHold is how long a proxy reads and discards what a peer the
// partition separates sends before it resets the connection: what a TCP
// proxy or load balancer in front of an unreachable node does. The peer's
// connect and first writes succeed; what it wrote is lost.
const refuseHold = 50 * time.Millisecond

// Proxy is a TCP proxy in front of one node's node-to-node listener. The
// cluster's genesis names the proxy's address as the node's raftAddr, so
// every connection between nodes (Raft and transaction forwarding) passes
// through the proxy of the node it goes to. Since each node dials from its
// own loopback IP, a proxy knows which node a connection comes from and can
// refuse or cut it according to the cluster's partition.
//
// A refused connection is accepted, what the peer sends for refuseHold is
// discarded, then the connection is reset; a cut connection is reset at
// once on both sides.
type Proxy struct {
	to      int                     // index of the node behind the proxy
	target  string                  // the node's listen address
	ln      net.Listener            // the address peers dial
	allowed func(from, to int) bool // the partition in force
	source  func(addr net.Addr) int // node index of a remote address, or -1
	mu      sync.Mutex              // guards conns, closed and stats
	conns   map[*proxyConn]struct{} // live relayed connections
	closed  bool                    // set by Close
	wg      sync.WaitGroup          // accept loop and relays
	stats   struct{ accepted, refused, cut int }
}

type proxyConn struct {
	from int // index of the dialing node, -1 if unknown
	a, b net.Conn
	once sync.Once
}

// close ends both sides after one side closed.
func (pc *proxyConn) close() {
	pc.once.Do(func() {
		pc.a.Close()
		pc.b.Close()
	})
}

// cut ends both sides with a reset, as a network failure would.
func (pc *proxyConn) cut() {
	pc.once.Do(func() {
		reset(pc.a)
		reset(pc.b)
	})
}

// reset closes conn with a TCP reset rather than an orderly shutdown, so
// that the peer's next read or write fails at once, as after a network
// failure.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// newProxy serves ln, relaying to target.
func newProxy(to int, ln net.Listener, target string, allowed func(from, to int) bool, source func(net.Addr) int) *Proxy {
	p := &Proxy{to: to, target: target, ln: ln, allowed: allowed, source: source, conns: make(map[*proxyConn]struct{})}
	p.wg.Add(1)
	go p.serve()
	return p
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address of the node behind the proxy.
func (p *Proxy) Target() string { return p.target }

// Stats returns how many connections the proxy relayed, refused because
// of a partition, and cut when a partition began.
func (p *Proxy) Stats() (accepted, refused, cut int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats.accepted, p.stats.refused, p.stats.cut
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			var ne net.Error
			if ne, _ = err.(net.Error); ne != nil && ne.Timeout() {
				continue
			}
			return
		}
		p.wg.Add(1)
		go p.relay(a)
	}
}

// relay copies bytes both ways between a peer and the node until either
// side closes or the connection is cut.
func (p *Proxy) relay(a net.Conn) {
	defer p.wg.Done()
	from := p.source(a.RemoteAddr())
	if !p.allowed(from, p.to) {
		p.count(&p.stats.refused)
		a.SetReadDeadline(time.Now().Add(refuseHold))
		io.Copy(io.Discard, a)
		reset(a)
		return
	}
	b, err := net.DialTimeout("tcp", p.target, proxyDialTimeout)
	if err != nil { // the node is down: the peer sees a closed connection
		reset(a)
		return
	}
	pc := &proxyConn{from: from, a: a, b: b}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pc.close()
		return
	}
	p.conns[pc] = struct{}{}
	p.stats.accepted++
	p.mu.Unlock()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	// A partition that began while this connection was being set up has
	// not seen it: check again now that it is registered.
	if !p.allowed(from, p.to) {
		p.count(&p.stats.refused)
		pc.cut()
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(b, a)
		pc.close()
		close(done)
	}()
	io.Copy(a, b)
	pc.close()
	<-done
}

func (p *Proxy) count(c *int) {
	p.mu.Lock()
	*c++
	p.mu.Unlock()
}

// cut closes the relayed connections the partition no longer allows.
func (p *Proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		if !p.allowed(pc.from, p.to) {
			pc.cut()
			p.stats.cut++
		}
	}
}

// Close stops accepting, cuts every connection and waits for the relays.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for pc := range p.conns {
		pc.close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
