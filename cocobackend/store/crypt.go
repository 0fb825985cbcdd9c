package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Keys gives a store the secrets its files are encrypted under: the ledger
// secret of each epoch. New files are written under Current; a file names
// its epoch in its header and is read with Secret of that epoch, so files
// of older epochs stay readable while the keys are kept.
type Keys interface {
	// Current returns the epoch new files are written under and its
	// secret (32 bytes).
	Current() (epoch uint64, secret []byte)
	// Secret returns the secret of an epoch, or an error if this node
	// does not hold it.
	Secret(epoch uint64) ([]byte, error)
}

// The encrypted file format. A file is a header page followed by blocks,
// each one page on disk, the last possibly shorter:
//
//	header (4096 bytes): magic (8) | epoch (8, big endian) | salt (16) |
//	                     HMAC-SHA256 of the first 32 bytes (32) | zeros
//	block i:             nonce (12, random) | AES-256-GCM ciphertext of up
//	                     to 4068 bytes | tag (16)
//
// The file's keys (one for AES-GCM, one for the header MAC) are derived
// with HKDF-SHA256 from the epoch's secret, the header's salt and the
// file's identity: the database's identity (node and database, given by
// the opener) and goleveldb's file type and number, or the snapshot's id.
// A block's additional data is its index and whether it is the file's
// final block. So a block moved within a file or between files, a file
// moved between databases or nodes, renamed, or written under another
// secret, and a header edited in any byte, all fail authentication; a file
// cut short fails too, except at a block boundary of a file still being
// appended (a journal or manifest of a crashed node), which carries no
// final block by design.
const (
	pageSize      = 4096
	nonceSize     = 12
	tagSize       = 16
	blockOverhead = nonceSize + tagSize
	blockData     = pageSize - blockOverhead // plaintext bytes per full block
	headerSize    = pageSize
	headerMACSize = 32
)

var fileMagic = [8]byte{'c', 'o', 'c', 'o', 'e', 'n', 'c', 1}

// CorruptError reports a file that failed authentication: it was altered,
// cut short, moved, or written under a key this node does not hold. A store
// that met one refuses every later read.
type CorruptError struct {
	File   string // path of the file
	Block  int64  // index of the failing block; -1 for the header or the layout
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Block >= 0 {
		return fmt.Sprintf("store: %s: block %d %s", e.File, e.Block, e.Reason)
	}
	return fmt.Sprintf("store: %s: %s", e.File, e.Reason)
}

// cryptState is what the files of one store share: the keys, the
// database's identity and the sticky corruption.
type cryptState struct {
	keys     Keys
	identity string
	dir      string

	corrupt   atomic.Pointer[CorruptError]
	onCorrupt func(error)
	once      sync.Once
}

// fail records the first corruption, reports it once, and returns it.
func (s *cryptState) fail(e *CorruptError) error {
	s.corrupt.CompareAndSwap(nil, e)
	if s.onCorrupt != nil {
		first := s.corrupt.Load()
		s.once.Do(func() { s.onCorrupt(first) })
	}
	return e
}

// err returns the store's corruption, if any.
func (s *cryptState) err() error {
	if e := s.corrupt.Load(); e != nil {
		return e
	}
	return nil
}

// fileKeys are the keys of one file.
type fileKeys struct {
	aead cipher.AEAD
	mac  []byte
}

func deriveFileKeys(secret, salt []byte, identity, name string) (*fileKeys, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("store: ledger secret of %d bytes, want 32", len(secret))
	}
	k, err := hkdf.Key(sha256.New, secret, salt, "cocogeth store file v1\x00"+identity+"\x00"+name, 64)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k[:32])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &fileKeys{aead: aead, mac: k[32:]}, nil
}

func (k *fileKeys) headerMAC(fields []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(fields)
	return m.Sum(nil)
}

// newHeader makes the header page of a new file under the current epoch,
// and the file's keys.
func (s *cryptState) newHeader(name string) ([]byte, *fileKeys, error) {
	epoch, secret := s.keys.Current()
	h := make([]byte, headerSize)
	copy(h, fileMagic[:])
	binary.BigEndian.PutUint64(h[8:], epoch)
	if _, err := rand.Read(h[16:32]); err != nil {
		return nil, nil, err
	}
	k, err := deriveFileKeys(secret, h[16:32], s.identity, name)
	if err != nil {
		return nil, nil, err
	}
	copy(h[32:32+headerMACSize], k.headerMAC(h[:32]))
	return h, k, nil
}

// openHeader checks a file's header page and returns the file's keys and
// epoch. path names the file in errors.
func (s *cryptState) openHeader(h []byte, path, name string) (*fileKeys, uint64, error) {
	if len(h) >= len(fileMagic) && !bytes.Equal(h[:8], fileMagic[:]) {
		return nil, 0, &CorruptError{File: path, Block: -1, Reason: "is not an encrypted cocogeth file (no header): it was replaced, or written by a node without encryption at rest"}
	}
	if len(h) < headerSize {
		return nil, 0, &CorruptError{File: path, Block: -1, Reason: "is too short to hold an encrypted file's header (truncated)"}
	}
	epoch := binary.BigEndian.Uint64(h[8:16])
	secret, err := s.keys.Secret(epoch)
	if err != nil {
		return nil, 0, &CorruptError{File: path, Block: -1, Reason: fmt.Sprintf("is encrypted under epoch %d, whose ledger secret this node does not hold: %v", epoch, err)}
	}
	k, err := deriveFileKeys(secret, h[16:32], s.identity, name)
	if err != nil {
		return nil, 0, err
	}
	if !hmac.Equal(k.headerMAC(h[:32]), h[32:32+headerMACSize]) {
		return nil, 0, &CorruptError{File: path, Block: -1, Reason: "header fails authentication: the file was altered, renamed, or belongs to another database or node"}
	}
	for _, b := range h[32+headerMACSize : headerSize] {
		if b != 0 {
			return nil, 0, &CorruptError{File: path, Block: -1, Reason: "header padding was altered"}
		}
	}
	return k, epoch, nil
}

// blockAD is the additional data of block i.
func blockAD(i int64, final bool) []byte {
	var ad [9]byte
	binary.BigEndian.PutUint64(ad[:8], uint64(i))
	if final {
		ad[8] = 1
	}
	return ad[:]
}

// sealBlock encrypts plain as block i into dst (which it returns, grown).
func (k *fileKeys) sealBlock(dst, plain []byte, i int64, final bool) ([]byte, error) {
	if cap(dst) < pageSize {
		dst = make([]byte, 0, pageSize)
	}
	dst = dst[:nonceSize]
	if _, err := rand.Read(dst); err != nil {
		return nil, err
	}
	return k.aead.Seal(dst, dst[:nonceSize], plain, blockAD(i, final)), nil
}

// openBlock decrypts block i (its on-disk bytes) into dst, trying the
// final flag the layout expects. It reports whether the block was final.
func (k *fileKeys) openBlock(dst, disk []byte, i int64, last bool) ([]byte, bool, error) {
	if len(disk) < blockOverhead {
		return nil, false, errors.New("is cut short")
	}
	nonce, ct := disk[:nonceSize], disk[nonceSize:]
	if last {
		if p, err := k.aead.Open(dst[:0], nonce, ct, blockAD(i, true)); err == nil {
			return p, true, nil
		}
	}
	p, err := k.aead.Open(dst[:0], nonce, ct, blockAD(i, false))
	if err != nil {
		return nil, false, errors.New("fails authentication: it was altered, moved, or written under another key")
	}
	return p, false, nil
}

// layout describes an encrypted file of a given on-disk size.
type layout struct {
	blocks   int64 // number of blocks
	lastDisk int64 // on-disk size of the last block
	plain    int64 // plaintext size
}

func fileLayout(size int64) (layout, bool) {
	if size < headerSize {
		return layout{}, false
	}
	n := size - headerSize
	full, rem := n/pageSize, n%pageSize
	switch {
	case rem == 0 && full == 0:
		return layout{}, true
	case rem == 0:
		return layout{blocks: full, lastDisk: pageSize, plain: full * blockData}, true
	case rem < blockOverhead:
		return layout{}, false
	default:
		return layout{blocks: full + 1, lastDisk: rem, plain: full*blockData + rem - blockOverhead}, true
	}
}

// plainSize is the plaintext size of an encrypted file of the given
// on-disk size (for a well-formed file).
func plainSize(size int64) int64 {
	l, _ := fileLayout(size)
	return l.plain
}

// FileEpoch reads the header of a file: whether it is an encrypted store
// file and, if so, the epoch it is encrypted under. Nothing is
// authenticated here (recovery uses it to learn which epochs' secrets a
// datadir needs; opening the stores authenticates).
func FileEpoch(path string) (epoch uint64, encrypted bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	var h [16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, false, nil
	}
	if !bytes.Equal(h[:8], fileMagic[:]) {
		return 0, false, nil
	}
	return binary.BigEndian.Uint64(h[8:16]), true, nil
}
