package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Write creates the directory, replaces a file whole with the mode asked,
// and leaves no temporary file behind, also when it fails.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "f")
	for _, data := range [][]byte{[]byte("first"), []byte("second, longer")} {
		if err := Write(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
	// A directory where the file should be: the rename fails.
	if err := os.Mkdir(path+"2", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path+"2", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(path+"2", []byte("x"), 0o600); err == nil {
		t.Fatal("a file written over a non-empty directory")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Fatalf("left in the directory: %v", entries)
	}
}
