package cocobackend

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/log"
)

// Limits of the forwarding channel.
const (
	// maxForwardFrame bounds one frame of forwarded transactions; it is
	// checked before anything is allocated, and a frame's buffer grows
	// only as its bytes arrive.
	maxForwardFrame = 16 << 20
	// forwardIdle is how long a forwarding connection may stay silent
	// before the receiver closes it; the sender closes its own earlier
	// (forwardSenderIdle) and redials, so it never writes into a
	// connection the receiver is closing.
	forwardIdle       = 5 * time.Minute
	forwardSenderIdle = time.Minute
)

// forwardFrameTimeout bounds the reading of one frame once its header
// arrived (a variable for tests).
var forwardFrameTimeout atomic.Int64 // time.Duration; set in init

func init() { forwardFrameTimeout.Store(int64(30 * time.Second)) }

// Forwarder sends transactions admitted on a follower to the leader over
// the node-to-node channel. Sending never blocks the caller: items are
// queued and written in frames by one goroutine, which reconnects to
// whoever leads. The follower keeps each transaction in its own pool until
// a block includes it, so a frame lost with a crashed leader is sent again
// to the next one (Resend).
type Forwarder struct {
	mux    *Mux
	leader func() (id, addr string)
	self   string

	mu     sync.Mutex
	queue  [][]byte
	wake   chan struct{}
	quit   chan struct{}
	wg     sync.WaitGroup
	conn   net.Conn
	connTo string
	used   time.Time     // last write on conn
	bw     *bufio.Writer // reused by every write (only the loop writes)
}

// maxForwardQueue bounds what waits for a leader; beyond it the oldest
// items are dropped (they stay in the follower's pool).
const maxForwardQueue = 200_000

// NewForwarder creates a forwarder; leader names the current leader's
// address, self this node's address.
func NewForwarder(mux *Mux, self string, leader func() (id, addr string)) *Forwarder {
	f := &Forwarder{mux: mux, self: self, leader: leader, wake: make(chan struct{}, 1), quit: make(chan struct{})}
	f.wg.Add(1)
	go f.loop()
	return f
}

// Send queues items for the leader.
func (f *Forwarder) Send(items ...[]byte) {
	f.mu.Lock()
	f.queue = append(f.queue, items...)
	if over := len(f.queue) - maxForwardQueue; over > 0 {
		f.queue = f.queue[over:]
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *Forwarder) loop() {
	defer f.wg.Done()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		select {
		case <-f.quit:
			f.closeConn()
			return
		case <-f.wake:
		case <-retry.C:
		}
		for {
			f.mu.Lock()
			batch := f.queue
			f.queue = nil
			f.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			if err := f.write(batch); err != nil {
				// Put the batch back in front and try again shortly.
				f.mu.Lock()
				f.queue = append(batch, f.queue...)
				f.mu.Unlock()
				f.closeConn()
				log.Debug("Forwarding to leader failed, retrying", "items", len(batch), "err", err)
				retry.Reset(200 * time.Millisecond)
				break
			}
		}
	}
}

func (f *Forwarder) write(batch [][]byte) error {
	_, addr := f.leader()
	if addr == "" {
		return errors.New("no leader")
	}
	if addr == f.self {
		return errors.New("this node leads")
	}
	if f.conn == nil || f.connTo != addr || time.Since(f.used) > forwardSenderIdle {
		f.closeConn()
		conn, err := f.mux.Dial(ChannelForward, addr, 2*time.Second)
		if err != nil {
			return err
		}
		f.conn, f.connTo = conn, addr
	}
	if f.bw == nil {
		f.bw = bufio.NewWriterSize(f.conn, 256<<10)
	}
	w := f.bw
	w.Reset(f.conn) // drops what a failed write left
	f.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	for len(batch) > 0 {
		n, size := 0, 0
		for n < len(batch) && size+len(batch[n])+4 < maxForwardFrame {
			size += len(batch[n]) + 4
			n++
		}
		if n == 0 {
			batch = batch[1:] // an item larger than a frame: never valid
			continue
		}
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(size))
		binary.BigEndian.PutUint32(hdr[4:], uint32(n))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		for _, item := range batch[:n] {
			var l [4]byte
			binary.BigEndian.PutUint32(l[:], uint32(len(item)))
			w.Write(l[:])
			if _, err := w.Write(item); err != nil {
				return err
			}
		}
		batch = batch[n:]
	}
	f.used = time.Now()
	return w.Flush()
}

func (f *Forwarder) closeConn() {
	if f.conn != nil {
		f.conn.Close()
		f.conn, f.connTo = nil, ""
	}
}

// Close stops the forwarder.
func (f *Forwarder) Close() {
	close(f.quit)
	f.wg.Wait()
}

// ForwardHandler receives the items of one forwarded frame. from is the
// authenticated node that sent them, or nil when the mux runs in
// plaintext mode: then nothing about the sender can be trusted.
type ForwardHandler func(from *AuthPeer, items [][]byte)

// ServeForwarded accepts forwarded items on the mux's forward channel and
// hands each frame to handle. It returns when the mux closes.
func ServeForwarded(mux *Mux, handle ForwardHandler) {
	mux.acceptEach(ChannelForward, func(conn net.Conn) {
		from := PeerOf(conn)
		err := readFrames(conn, func(items [][]byte) { handle(from, items) })
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			log.Warn("Forwarded stream ended", "remote", conn.RemoteAddr(), "err", err)
		}
	})
}

func readFrames(conn net.Conn, handle func([][]byte)) error {
	r := bufio.NewReaderSize(conn, 256<<10)
	for {
		var hdr [8]byte
		conn.SetReadDeadline(time.Now().Add(forwardIdle))
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		size, n := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
		if size > maxForwardFrame || n > size/4 {
			return fmt.Errorf("bad forward frame: %d items in %d bytes", n, size)
		}
		conn.SetReadDeadline(time.Now().Add(time.Duration(forwardFrameTimeout.Load())))
		var frame bytes.Buffer // a fresh buffer: handle may keep the items
		if _, err := io.CopyN(&frame, r, int64(size)); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("forward frame of %d bytes: %w", size, err)
		}
		buf := frame.Bytes()
		items := make([][]byte, 0, n)
		for i := uint32(0); i < n; i++ {
			if len(buf) < 4 {
				return errors.New("truncated forward frame")
			}
			l := binary.BigEndian.Uint32(buf[:4])
			if uint32(len(buf)-4) < l {
				return errors.New("truncated forward item")
			}
			items = append(items, buf[4:4+l])
			buf = buf[4+l:]
		}
		handle(items)
	}
}
