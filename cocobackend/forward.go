package cocobackend

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/log"
)

// maxForwardFrame bounds one frame of forwarded transactions.
const maxForwardFrame = 16 << 20

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
	if f.conn == nil || f.connTo != addr {
		f.closeConn()
		conn, err := f.mux.Dial(ChannelForward, addr, 2*time.Second)
		if err != nil {
			return err
		}
		f.conn, f.connTo = conn, addr
	}
	w := bufio.NewWriterSize(f.conn, 256<<10)
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

// ServeForwarded accepts forwarded items on the mux's forward channel and
// hands each frame to handle. It returns when the mux closes.
func ServeForwarded(mux *Mux, handle func(items [][]byte)) {
	ln := mux.Listener(ChannelForward)
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			if err := readFrames(conn, handle); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Debug("Forwarded stream ended", "remote", conn.RemoteAddr(), "err", err)
			}
		}()
	}
}

func readFrames(conn net.Conn, handle func([][]byte)) error {
	r := bufio.NewReaderSize(conn, 256<<10)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		size, n := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
		if size > maxForwardFrame || n > size/4 {
			return fmt.Errorf("bad forward frame: %d items in %d bytes", n, size)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
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
