package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
)

func newTestSnapStore(t *testing.T, dir string, keys *testKeys, id string) *SnapshotStore {
	t.Helper()
	inner, err := raft.NewFileSnapshotStore(dir, 3, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSnapshotStore(inner, keys, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeSnap(t *testing.T, s *SnapshotStore, index uint64, data []byte) string {
	t.Helper()
	_, trans := raft.NewInmemTransport("a")
	cfg := raft.Configuration{Servers: []raft.Server{{ID: "a", Address: "a", Suffrage: raft.Voter}}}
	sink, err := s.Create(1, index, 1, cfg, 1, trans)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 1000 {
		if _, err := sink.Write(data[off:min(off+1000, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	return sink.ID()
}

func readSnap(s *SnapshotStore, id string) (*raft.SnapshotMeta, []byte, error) {
	meta, rc, err := s.Open(id)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return meta, b, err
}

func knownSnapData(n int) []byte {
	return bytes.Repeat([]byte("SNAPSECRET-"), n/11+1)[:n]
}

func TestSnapshotStoreRoundTrip(t *testing.T) {
	for i, n := range []int{0, 1, blockData, blockData + 1, 3*blockData - 7, 100_000} {
		dir := t.TempDir()
		s := newTestSnapStore(t, dir, newTestKeys(1), "node")
		data := knownSnapData(n)
		id := writeSnap(t, s, uint64(10+i), data)
		meta, got, err := readSnap(s, id)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(got, data) || meta.Size != int64(n) {
			t.Fatalf("%d bytes: read %d bytes, meta size %d", n, len(got), meta.Size)
		}
		metas, err := s.List()
		if err != nil || len(metas) != 1 || metas[0].Size != int64(n) {
			t.Fatalf("list: %v %+v", err, metas)
		}
		if n > 20 {
			if hits := grepDir(t, dir, []byte("SNAPSECRET")); len(hits) > 0 {
				t.Fatalf("snapshot plaintext found in %v", hits)
			}
		}
	}
}

// rewriteState replaces a snapshot's state file and fixes raft's CRC in
// its metadata, as an attacker who edits the disk would.
func rewriteState(t *testing.T, dir, id string, f func([]byte) []byte) {
	t.Helper()
	sdir := filepath.Join(dir, "snapshots", id)
	b, err := os.ReadFile(filepath.Join(sdir, "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	b = f(b)
	if err := os.WriteFile(filepath.Join(sdir, "state.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	mb, err := os.ReadFile(filepath.Join(sdir, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &meta); err != nil {
		t.Fatal(err)
	}
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	h.Write(b)
	meta["CRC"] = h.Sum(nil)
	meta["Size"] = len(b)
	if mb, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sdir, "meta.json"), mb, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotStoreTamper(t *testing.T) {
	keys := newTestKeys(1)
	data := knownSnapData(50_000)
	cases := map[string]func([]byte) []byte{
		"flip in header":  func(b []byte) []byte { b[10] ^= 1; return b },
		"flip in a block": func(b []byte) []byte { b[headerSize+3*pageSize+77] ^= 1; return b },
		"flip last byte":  func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"cut at a block":  func(b []byte) []byte { return b[:headerSize+5*pageSize] },
		"cut in a block":  func(b []byte) []byte { return b[:len(b)-50] },
		"swap blocks": func(b []byte) []byte {
			x := bytes.Clone(b[headerSize : headerSize+pageSize])
			copy(b[headerSize:], b[headerSize+pageSize:headerSize+2*pageSize])
			copy(b[headerSize+pageSize:], x)
			return b
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSnapStore(t, dir, keys, "node")
			id := writeSnap(t, s, 5, data)
			rewriteState(t, dir, id, f)
			_, got, err := readSnap(s, id)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("read a damaged snapshot: err %v, %d bytes", err, len(got))
			}
			if len(got) > 0 && !bytes.Equal(got, data[:len(got)]) {
				t.Fatal("wrong data served before the damage was met")
			}
		})
	}
	t.Run("another node's snapshot", func(t *testing.T) {
		dir := t.TempDir()
		id := writeSnap(t, newTestSnapStore(t, dir, keys, "other"), 5, data)
		if _, _, err := readSnap(newTestSnapStore(t, dir, keys, "node"), id); err == nil {
			t.Fatal("read another node's snapshot")
		}
	})
}
