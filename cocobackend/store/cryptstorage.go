package store

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/syndtr/goleveldb/leveldb/storage"
)

// cryptStorage is goleveldb's file storage with every file it writes
// through Create (tables, journals, manifests) encrypted and authenticated
// in blocks (see crypt.go), the analogue of RocksDB's encrypted
// environment. goleveldb's own text log (LOG) is not written, because it
// quotes keys; CURRENT names the manifest in plaintext, as it holds nothing
// else.
type cryptStorage struct {
	storage.Storage
	st *cryptState
}

func fdName(fd storage.FileDesc) string {
	return fmt.Sprintf("%d/%d", fd.Type, fd.Num)
}

func (s *cryptStorage) path(fd storage.FileDesc) string {
	return filepath.Join(s.st.dir, fileName(fd))
}

// fileName is goleveldb's name of a file (for messages).
func fileName(fd storage.FileDesc) string {
	switch fd.Type {
	case storage.TypeManifest:
		return fmt.Sprintf("MANIFEST-%06d", fd.Num)
	case storage.TypeJournal:
		return fmt.Sprintf("%06d.log", fd.Num)
	case storage.TypeTable:
		return fmt.Sprintf("%06d.ldb", fd.Num)
	case storage.TypeTemp:
		return fmt.Sprintf("%06d.tmp", fd.Num)
	}
	return fmt.Sprintf("%#x-%d", fd.Type, fd.Num)
}

// Log drops goleveldb's informational messages: they quote keys.
func (s *cryptStorage) Log(string) {}

// Rename is used by goleveldb only to repair a database, which a store
// never does; a renamed file would not authenticate under its new name.
func (s *cryptStorage) Rename(oldfd, newfd storage.FileDesc) error {
	return fmt.Errorf("store: renaming %s is not supported on encrypted storage", fileName(oldfd))
}

func (s *cryptStorage) Create(fd storage.FileDesc) (storage.Writer, error) {
	if err := s.st.err(); err != nil {
		return nil, err
	}
	w, err := s.Storage.Create(fd)
	if err != nil {
		return nil, err
	}
	wa, ok := w.(io.WriterAt)
	if !ok {
		w.Close()
		return nil, errors.New("store: the file storage does not support positioned writes")
	}
	h, k, err := s.st.newHeader(fdName(fd))
	if err == nil {
		_, err = wa.WriteAt(h, 0)
	}
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: create %s: %w", s.path(fd), err)
	}
	// Journals and manifests must reach the OS on every write, as goleveldb
	// expects (a write returned is in the OS, so survives a process crash).
	// Tables are only used once synced and closed.
	eager := fd.Type == storage.TypeJournal || fd.Type == storage.TypeManifest
	return &cryptWriter{w: w, wa: wa, k: k, eager: eager}, nil
}

func (s *cryptStorage) Open(fd storage.FileDesc) (storage.Reader, error) {
	if err := s.st.err(); err != nil {
		return nil, err
	}
	r, err := s.Storage.Open(fd)
	if err != nil {
		return nil, err
	}
	cr, err := s.openReader(r, fd)
	if err != nil {
		r.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, s.st.fail(ce)
		}
		return nil, err
	}
	return cr, nil
}

// openReader checks the file's header and layout, and that a file goleveldb
// only reads complete (a table) ends with its final block.
func (s *cryptStorage) openReader(r storage.Reader, fd storage.FileDesc) (*cryptReader, error) {
	path := s.path(fd)
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	h := make([]byte, min(size, headerSize))
	if _, err := r.ReadAt(h, 0); err != nil {
		return nil, err
	}
	k, _, err := s.st.openHeader(h, path, fdName(fd))
	if err != nil {
		return nil, err
	}
	l, ok := fileLayout(size)
	if !ok {
		return nil, &CorruptError{File: path, Block: -1, Reason: fmt.Sprintf("has %d bytes, which no encrypted file has (cut short or extended)", size)}
	}
	cr := &cryptReader{r: r, k: k, l: l, path: path, st: s.st, cur: -1}
	needFinal := fd.Type == storage.TypeTable || fd.Type == storage.TypeTemp
	if l.blocks == 0 {
		if needFinal {
			return nil, &CorruptError{File: path, Block: -1, Reason: "holds no data (truncated)"}
		}
		return cr, nil
	}
	final, err := cr.load(l.blocks - 1)
	if err != nil {
		return nil, err
	}
	if needFinal && !final {
		return nil, &CorruptError{File: path, Block: l.blocks - 1, Reason: "is not the file's last: the file was cut short"}
	}
	return cr, nil
}

// verifyAll authenticates every block of every file the database uses,
// so a damaged database refuses to open and names the file, rather than
// fail (or, worse, lose data silently) on the read that meets it.
func (s *cryptStorage) verifyAll() error {
	fds, err := s.Storage.List(storage.TypeManifest | storage.TypeJournal | storage.TypeTable)
	if err != nil {
		return err
	}
	for _, fd := range fds {
		r, err := s.Open(fd)
		if err != nil {
			return err
		}
		cr := r.(*cryptReader)
		for i := int64(0); i < cr.l.blocks-1; i++ { // Open checked the last
			if _, err := cr.load(i); err != nil {
				r.Close()
				return err
			}
		}
		r.Close()
	}
	return nil
}

// cryptWriter encrypts a file as goleveldb writes it. The block being
// filled is kept in memory and written (re-encrypted under a fresh nonce)
// whenever it must reach the OS; full blocks are written once.
type cryptWriter struct {
	w     storage.Writer
	wa    io.WriterAt
	k     *fileKeys
	eager bool

	mu     sync.Mutex
	tail   []byte // plaintext of block idx, len < blockData
	idx    int64
	dirty  bool
	buf    []byte
	closed bool
}

func (w *cryptWriter) writeBlock(plain []byte, i int64, final bool) error {
	var err error
	if w.buf, err = w.k.sealBlock(w.buf[:0], plain, i, final); err != nil {
		return err
	}
	_, err = w.wa.WriteAt(w.buf, headerSize+i*pageSize)
	return err
}

func (w *cryptWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, storage.ErrClosed
	}
	n := len(p)
	if w.tail == nil {
		w.tail = make([]byte, 0, blockData)
		w.buf = make([]byte, 0, pageSize)
	}
	for len(p) > 0 {
		c := min(len(p), blockData-len(w.tail))
		w.tail = append(w.tail, p[:c]...)
		p = p[c:]
		w.dirty = true
		if len(w.tail) == blockData {
			if err := w.writeBlock(w.tail, w.idx, false); err != nil {
				return 0, err
			}
			w.idx++
			w.tail = w.tail[:0]
			w.dirty = false
		}
	}
	if w.eager && w.dirty {
		if err := w.writeBlock(w.tail, w.idx, false); err != nil {
			return 0, err
		}
		w.dirty = false
	}
	return n, nil
}

func (w *cryptWriter) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirty {
		if err := w.writeBlock(w.tail, w.idx, false); err != nil {
			return err
		}
		w.dirty = false
	}
	return w.w.Sync()
}

// Close writes the final block (empty when the data ended on a block
// boundary), which marks the file complete.
func (w *cryptWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return storage.ErrClosed
	}
	w.closed = true
	err := w.writeBlock(w.tail, w.idx, true)
	if cerr := w.w.Close(); err == nil {
		err = cerr
	}
	return err
}

// cryptReader decrypts a file block by block as goleveldb reads it. Every
// block is authenticated before any of its bytes is returned.
type cryptReader struct {
	r    storage.Reader
	k    *fileKeys
	l    layout
	path string
	st   *cryptState

	mu    sync.Mutex
	cur   int64  // index of the block in plain, -1 for none
	plain []byte // plaintext of block cur
	disk  []byte
	pos   int64
}

// load decrypts block i into r.plain; it reports whether the block is
// marked final. Called with mu held or before the reader is shared.
func (r *cryptReader) load(i int64) (bool, error) {
	if r.disk == nil {
		r.disk = make([]byte, pageSize)
		r.plain = make([]byte, 0, pageSize)
	}
	last := i == r.l.blocks-1
	n := int64(pageSize)
	if last {
		n = r.l.lastDisk
	}
	if _, err := r.r.ReadAt(r.disk[:n], headerSize+i*pageSize); err != nil {
		r.cur = -1
		return false, fmt.Errorf("store: read %s: %w", r.path, err)
	}
	p, final, err := r.k.openBlock(r.plain, r.disk[:n], i, last)
	if err != nil {
		r.cur = -1
		return false, r.st.fail(&CorruptError{File: r.path, Block: i, Reason: err.Error()})
	}
	if !last && len(p) != blockData {
		r.cur = -1
		return false, r.st.fail(&CorruptError{File: r.path, Block: i, Reason: "is short inside the file"})
	}
	r.plain, r.cur = p, i
	return final, nil
}

func (r *cryptReader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *cryptReader) readAt(p []byte, off int64) (int, error) {
	if err := r.st.err(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	n := 0
	for n < len(p) {
		if off >= r.l.plain {
			return n, io.EOF
		}
		i := off / blockData
		if r.cur != i {
			if _, err := r.load(i); err != nil {
				return n, err
			}
		}
		c := copy(p[n:], r.plain[off-i*blockData:])
		n += c
		off += int64(c)
	}
	return n, nil
}

func (r *cryptReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.readAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (r *cryptReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.l.plain
	default:
		return 0, errors.New("store: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("store: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *cryptReader) Close() error { return r.r.Close() }

// isEncrypted reports whether a database's manifest is an encrypted file.
func isEncrypted(fs storage.Storage) (bool, error) {
	fds, err := fs.List(storage.TypeManifest)
	if err != nil || len(fds) == 0 {
		return false, err
	}
	r, err := fs.Open(fds[0])
	if err != nil {
		return false, err
	}
	defer r.Close()
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return false, nil
	}
	return magic == fileMagic, nil
}
