package store

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// SnapshotStore encrypts the snapshots of another raft.SnapshotStore (the
// file snapshot store of a node) in the format of the database files (see
// crypt.go): each snapshot is one encrypted file bound to the identity
// "<Identity>/<snapshot id>". raft's metadata (index, term, the cluster
// configuration: node ids and addresses) stays in plaintext beside it, as
// it holds nothing private; its Size is reported as the plaintext size,
// which is what raft sends to followers.
//
// Open authenticates the header at once and every block as it is read: the
// read that meets a bad block fails (and OnCorrupt is called), so a restore
// from a damaged snapshot fails rather than apply data it cannot trust.
type SnapshotStore struct {
	inner raft.SnapshotStore
	st    *cryptState
}

// NewSnapshotStore encrypts inner's snapshots under keys, bound to
// identity. onCorrupt is called once with the first *CorruptError a read
// meets; it may be nil.
func NewSnapshotStore(inner raft.SnapshotStore, keys Keys, identity string, onCorrupt func(error)) (*SnapshotStore, error) {
	if keys == nil || identity == "" {
		return nil, errors.New("store: an encrypted snapshot store needs keys and an identity")
	}
	return &SnapshotStore{inner: inner, st: &cryptState{keys: keys, identity: identity, onCorrupt: onCorrupt}}, nil
}

// Create starts a snapshot; its writes are encrypted as they come.
func (s *SnapshotStore) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.inner.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, err
	}
	h, k, err := s.st.newHeader(sink.ID())
	if err == nil {
		_, err = sink.Write(h)
	}
	if err != nil {
		sink.Cancel()
		return nil, fmt.Errorf("store: create snapshot %s: %w", sink.ID(), err)
	}
	return &cryptSink{SnapshotSink: sink, k: k, tail: make([]byte, 0, blockData)}, nil
}

// List lists the snapshots, newest first, with their plaintext sizes.
func (s *SnapshotStore) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.inner.List()
	if err != nil {
		return nil, err
	}
	out := make([]*raft.SnapshotMeta, len(metas))
	for i, m := range metas {
		c := *m
		c.Size = plainSize(m.Size)
		out[i] = &c
	}
	return out, nil
}

// Open opens a snapshot for reading: its header is authenticated here,
// every block as it is read.
func (s *SnapshotStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.inner.Open(id)
	if err != nil {
		return nil, nil, err
	}
	path := "snapshot " + id
	l, ok := fileLayout(meta.Size)
	if !ok {
		rc.Close()
		return nil, nil, s.st.fail(&CorruptError{File: path, Block: -1, Reason: fmt.Sprintf("has %d bytes, which no encrypted file has (cut short or extended)", meta.Size)})
	}
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(rc, h); err != nil {
		rc.Close()
		return nil, nil, fmt.Errorf("store: read snapshot %s: %w", id, err)
	}
	k, _, err := s.st.openHeader(h, path, id)
	if err != nil {
		rc.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, nil, s.st.fail(ce)
		}
		return nil, nil, err
	}
	c := *meta
	c.Size = l.plain
	return &c, &snapReader{rc: rc, k: k, l: l, st: s.st, path: path, disk: make([]byte, pageSize), buf: make([]byte, pageSize)}, nil
}

// cryptSink encrypts a snapshot sequentially: full blocks are written as
// they fill, the final block on Close.
type cryptSink struct {
	raft.SnapshotSink
	k    *fileKeys
	mu   sync.Mutex
	tail []byte
	idx  int64
	buf  []byte
}

func (w *cryptSink) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		c := min(len(p), blockData-len(w.tail))
		w.tail = append(w.tail, p[:c]...)
		p = p[c:]
		if len(w.tail) == blockData {
			if err := w.flush(false); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *cryptSink) flush(final bool) error {
	var err error
	if w.buf, err = w.k.sealBlock(w.buf[:0], w.tail, w.idx, final); err != nil {
		return err
	}
	if _, err := w.SnapshotSink.Write(w.buf); err != nil {
		return err
	}
	w.idx++
	w.tail = w.tail[:0]
	return nil
}

func (w *cryptSink) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flush(true); err != nil {
		w.SnapshotSink.Cancel()
		return err
	}
	return w.SnapshotSink.Close()
}

// snapReader decrypts a snapshot sequentially.
type snapReader struct {
	rc    io.ReadCloser
	k     *fileKeys
	l     layout
	st    *cryptState
	path  string
	idx   int64
	disk  []byte
	buf   []byte // plaintext of the last block read
	plain []byte // its part not yet delivered
}

func (r *snapReader) Read(p []byte) (int, error) {
	if err := r.st.err(); err != nil {
		return 0, err
	}
	for len(r.plain) == 0 {
		if r.idx >= r.l.blocks {
			return 0, io.EOF
		}
		last := r.idx == r.l.blocks-1
		n := int64(pageSize)
		if last {
			n = r.l.lastDisk
		}
		if _, err := io.ReadFull(r.rc, r.disk[:n]); err != nil {
			return 0, fmt.Errorf("store: read %s: %w", r.path, err)
		}
		p, final, err := r.k.openBlock(r.buf[:0], r.disk[:n], r.idx, last)
		if err == nil && last && !final {
			err = errors.New("is not the snapshot's last: the snapshot was cut short")
		}
		if err == nil && !last && len(p) != blockData {
			err = errors.New("is short inside the snapshot")
		}
		if err != nil {
			return 0, r.st.fail(&CorruptError{File: r.path, Block: r.idx, Reason: err.Error()})
		}
		r.plain = p
		r.idx++
	}
	n := copy(p, r.plain)
	r.plain = r.plain[n:]
	return n, nil
}

func (r *snapReader) Close() error { return r.rc.Close() }
