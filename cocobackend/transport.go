package cocobackend

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Channels multiplexed over one node-to-node listener. The first byte a
// dialer writes names the channel.
const (
	ChannelRaft    byte = 'R' // hashicorp/raft's RPCs
	ChannelForward byte = 'F' // transactions forwarded to the leader
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

// Mux accepts node-to-node connections on one listener and hands each to
// the channel its first byte names.
type Mux struct {
	ln     net.Listener
	dialer Dialer
	mu     sync.Mutex
	chans  map[byte]*muxListener
	closed chan struct{}
	wg     sync.WaitGroup
}

// NewMux serves channels on ln; dialer opens outgoing connections.
func NewMux(ln net.Listener, dialer Dialer) *Mux {
	if dialer == nil {
		dialer = TCPDialer{}
	}
	m := &Mux{ln: ln, dialer: dialer, chans: make(map[byte]*muxListener), closed: make(chan struct{})}
	m.wg.Add(1)
	go m.serve()
	return m
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
	conn, err := m.dialer.Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte{ch}); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, nil
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
		go m.route(conn)
	}
}

func (m *Mux) route(conn net.Conn) {
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	m.mu.Lock()
	l, ok := m.chans[b[0]]
	m.mu.Unlock()
	if !ok {
		conn.Close()
		return
	}
	select {
	case l.conns <- conn:
	case <-l.closed:
		conn.Close()
	case <-m.closed:
		conn.Close()
	}
}

// Close stops accepting connections.
func (m *Mux) Close() error {
	select {
	case <-m.closed:
		return nil
	default:
	}
	close(m.closed)
	err := m.ln.Close()
	m.wg.Wait()
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

func (l *muxListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
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
