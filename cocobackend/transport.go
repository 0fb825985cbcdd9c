package cocobackend

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/log"
	"github.com/hashicorp/raft"
)

// Channels multiplexed over one node-to-node listener. The first byte a
// dialer writes names the channel.
const (
	ChannelRaft    byte = 'R' // hashicorp/raft's RPCs
	ChannelForward byte = 'F' // transactions forwarded to the leader
	ChannelKeys    byte = 'K' // ledger secrets, to admitted nodes only
)

// Dialer opens node-to-node connections. It is the seam where mutual TLS
// with attested certificates plugs in: a TLS dialer wraps the TCP one.
type Dialer interface {
	Dial(addr string, timeout time.Duration) (net.Conn, error)
}

// TCPDialer dials plain TCP. When Source is set, connections leave from
// that IP (a node bound to one address of a multi-homed host speaks from it
// too, so peers and firewalls see one address per node).
type TCPDialer struct {
	Source net.IP
}

// Dial implements Dialer.
func (d TCPDialer) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	nd := net.Dialer{Timeout: timeout}
	if d.Source != nil {
		nd.LocalAddr = &net.TCPAddr{IP: d.Source}
	}
	return nd.Dial("tcp", addr)
}

// AuthPeer is an authenticated validating node at the other end of a
// node-to-node connection.
type AuthPeer struct {
	ID  string // its node id (Raft server id)
	Key []byte // its node public key, 65 bytes uncompressed
	// TEE and Code are what its attestation proved (empty when the
	// guard requires none): the TEE kind and the code identity.
	TEE  string
	Code [32]byte
}

// Guard authenticates node-to-node connections (package nodetls: mutual
// TLS proving the node key). Server and Client run the handshake on an
// accepted or dialed connection and return the connection to use, or an
// error saying why the peer is refused. Admit re-checks a connected peer
// when the admission rules change.
type Guard interface {
	Server(conn net.Conn) (net.Conn, *AuthPeer, error)
	Client(conn net.Conn) (net.Conn, *AuthPeer, error)
	Admit(p *AuthPeer) error
}

// admitted is the byte a guarded listener sends once it admitted the
// dialer.
const admitted byte = 0xAD

// handshakeTimeout bounds how long a connection may take to authenticate
// and name its channel.
const handshakeTimeout = 5 * time.Second

// Mux accepts node-to-node connections on one listener and hands each to
// the channel its first byte names. With a Guard, every connection, in and
// out, is authenticated before a byte of it reaches a channel; without
// one (plaintext mode) anyone who reaches the port is a peer.
type Mux struct {
	ln     net.Listener
	dialer Dialer
	guard  Guard
	mu     sync.Mutex
	chans  map[byte]*muxListener
	conns  map[*peerConn]struct{}
	// handshaking are accepted connections not yet handed to a channel;
	// Close closes them rather than wait for their deadline.
	handshaking map[net.Conn]struct{}
	closed      chan struct{}
	wg          sync.WaitGroup
}

// NewMux serves channels on ln; dialer opens outgoing connections; guard,
// if not nil, authenticates every connection.
func NewMux(ln net.Listener, dialer Dialer, guard Guard) *Mux {
	if dialer == nil {
		dialer = TCPDialer{}
	}
	m := &Mux{ln: ln, dialer: dialer, guard: guard, chans: make(map[byte]*muxListener), conns: make(map[*peerConn]struct{}), handshaking: make(map[net.Conn]struct{}), closed: make(chan struct{})}
	m.wg.Add(1)
	go m.serve()
	return m
}

// Authenticated reports whether the mux authenticates its peers.
func (m *Mux) Authenticated() bool { return m.guard != nil }

// PeerOf returns the authenticated node at the other end of a connection
// the mux handed out, or nil in plaintext mode.
func PeerOf(conn net.Conn) *AuthPeer {
	if pc, ok := conn.(*peerConn); ok {
		return pc.peer
	}
	return nil
}

// peerConn is a connection the mux handed out, tracked so that Close can
// close it and Recheck cut it when its peer (nil in plaintext mode) is no
// longer admitted.
type peerConn struct {
	net.Conn
	peer *AuthPeer
	mux  *Mux
	once sync.Once
}

func (c *peerConn) Close() error {
	c.once.Do(func() {
		c.mux.mu.Lock()
		delete(c.mux.conns, c)
		c.mux.mu.Unlock()
	})
	return c.Conn.Close()
}

func (m *Mux) track(conn net.Conn, p *AuthPeer) net.Conn {
	pc := &peerConn{Conn: conn, peer: p, mux: m}
	m.mu.Lock()
	m.conns[pc] = struct{}{}
	m.mu.Unlock()
	return pc
}

// Recheck asks the guard about every open connection's peer again and
// closes the connections of peers it no longer admits; call it after the
// admission rules changed (a node voted out is cut off at once).
func (m *Mux) Recheck() {
	if m.guard == nil {
		return
	}
	m.mu.Lock()
	var cut []*peerConn
	for pc := range m.conns {
		if pc.peer == nil {
			continue
		}
		if err := m.guard.Admit(pc.peer); err != nil {
			cut = append(cut, pc)
			log.Warn("Disconnecting node no longer admitted", "peer", pc.peer.ID, "remote", pc.RemoteAddr(), "reason", err)
		}
	}
	m.mu.Unlock()
	for _, pc := range cut {
		pc.Close()
	}
}

// Addr is the listening address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Listener returns the listener of a channel, creating it on first use.
func (m *Mux) Listener(ch byte) net.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.chans[ch]; ok {
		return l
	}
	l := &muxListener{mux: m, ch: ch, conns: make(chan net.Conn, 16), closed: make(chan struct{})}
	m.chans[ch] = l
	return l
}

// Dial opens a connection to the channel ch of the node at addr.
func (m *Mux) Dial(ch byte, addr string, timeout time.Duration) (net.Conn, error) {
	conn, p, err := dialChannel(m.dialer, m.guard, ch, addr, timeout)
	if err != nil {
		return nil, err
	}
	return m.track(conn, p), nil
}

// dialChannel dials addr, authenticates the node there with guard (none
// when nil: plaintext), waits for its admission and names the channel.
func dialChannel(dialer Dialer, guard Guard, ch byte, addr string, timeout time.Duration) (net.Conn, *AuthPeer, error) {
	conn, err := dialer.Dial(addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	conn.SetDeadline(time.Now().Add(min(timeout, handshakeTimeout)))
	var p *AuthPeer
	if guard != nil {
		tc, peer, err := guard.Client(conn)
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("node %s refused: %w", addr, err)
		}
		// A TLS 1.3 client finishes its handshake before the server has
		// checked the client's certificate: wait for the server's word
		// that it admitted us, so a refused dial fails here instead of
		// swallowing what is written next.
		var ack [1]byte
		if _, err := io.ReadFull(tc, ack[:]); err != nil || ack[0] != admitted {
			tc.Close()
			if err == nil {
				err = fmt.Errorf("answered %#x", ack[0])
			}
			return nil, nil, fmt.Errorf("node %s did not admit this node: %v", addr, err)
		}
		conn, p = tc, peer
	}
	if _, err := conn.Write([]byte{ch}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, p, nil
}

// acceptEach accepts the connections of channel ch and runs handle on each
// in a goroutine of its own, closing the connection after; it returns when
// the mux closes and every handler has returned (closing the mux closes
// their connections).
func (m *Mux) acceptEach(ch byte, handle func(net.Conn)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	ln := m.Listener(ch)
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			handle(conn)
		}()
	}
}

func (m *Mux) serve() {
	defer m.wg.Done()
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		// Under the lock Close takes to cut handshakes: a connection
		// accepted as the mux closes is either cut by Close or closed
		// here, never left to its handshake timeout.
		m.mu.Lock()
		select {
		case <-m.closed:
			m.mu.Unlock()
			conn.Close()
			return
		default:
		}
		m.handshaking[conn] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.route(conn)
	}
}

func (m *Mux) route(raw net.Conn) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.handshaking, raw)
		m.mu.Unlock()
	}()
	conn := raw
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if m.guard != nil {
		tc, p, err := m.guard.Server(conn)
		if err != nil {
			refusals.Warn("Refused node-to-node connection", "remote", conn.RemoteAddr(), "reason", err)
			conn.Close()
			return
		}
		if _, err := tc.Write([]byte{admitted}); err != nil {
			tc.Close()
			return
		}
		if p.TEE != "" {
			log.Info("Node-to-node connection", "peer", p.ID, "remote", conn.RemoteAddr(), "tee", teeLabel(p.TEE), "code", fmt.Sprintf("%x", p.Code))
		} else {
			log.Debug("Node-to-node connection", "peer", p.ID, "remote", conn.RemoteAddr())
		}
		conn = m.track(tc, p)
	} else {
		conn = m.track(conn, nil)
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		conn.Close()
		return
	}
	conn.SetDeadline(time.Time{})
	m.mu.Lock()
	l, ok := m.chans[b[0]]
	m.mu.Unlock()
	if !ok {
		conn.Close()
		return
	}
	select {
	case <-l.closed:
		// The channel's owner is gone (a halted node's Raft): refuse at
		// once rather than queue for nobody.
		conn.Close()
		return
	default:
	}
	select {
	case l.conns <- conn:
		// Closed meanwhile: Close may have drained before this queued.
		select {
		case <-l.closed:
			l.drain()
		default:
		}
	case <-l.closed:
		conn.Close()
	case <-m.closed:
		conn.Close()
	}
}

// Close stops accepting connections and closes those it handed out that
// are still open.
func (m *Mux) Close() error {
	select {
	case <-m.closed:
		return nil
	default:
	}
	close(m.closed)
	err := m.ln.Close()
	m.mu.Lock()
	for c := range m.handshaking {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	open := make([]*peerConn, 0, len(m.conns))
	for pc := range m.conns {
		open = append(open, pc)
	}
	m.mu.Unlock()
	for _, pc := range open {
		pc.Close()
	}
	return err
}

type muxListener struct {
	mux    *Mux
	ch     byte
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.mux.closed:
		return nil, net.ErrClosed
	}
}

// Close stops the channel and closes the connections queued for it, so
// their dialers learn at once instead of waiting out their timeouts.
func (l *muxListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	l.drain()
	return nil
}

// drain closes the connections queued and not accepted.
func (l *muxListener) drain() {
	for {
		select {
		case c := <-l.conns:
			c.Close()
		default:
			return
		}
	}
}

func (l *muxListener) Addr() net.Addr { return l.mux.Addr() }

// raftStream is the raft.StreamLayer of the mux's raft channel. Its Addr
// is the address peers reach this node at: raft puts it into every RPC, and
// followers learn the leader's address from it.
type raftStream struct {
	net.Listener
	mux       *Mux
	advertise net.Addr
}

func (s *raftStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.Listener.Addr()
}

type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

func (s *raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.mux.Dial(ChannelRaft, string(addr), timeout)
}

// RaftStreamLayer returns the stream layer raft's network transport uses;
// advertise is the address peers know this node by ("" means the
// listener's address), which may differ from where it listens (0.0.0.0, a
// proxy, NAT).
func (m *Mux) RaftStreamLayer(advertise string) raft.StreamLayer {
	s := &raftStream{Listener: m.Listener(ChannelRaft), mux: m}
	if advertise != "" {
		s.advertise = advertisedAddr(advertise)
	}
	return s
}

func (m *Mux) String() string { return fmt.Sprintf("mux(%s)", m.Addr()) }

// teeLabel marks a simulated TEE in logs as what it is.
func teeLabel(kind string) string {
	if kind == "simulation" {
		return "simulation (INSECURE)"
	}
	return kind
}
