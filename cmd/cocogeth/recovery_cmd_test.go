package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/urfave/cli/v2"
)

// runRecoveryCmd runs `cocogeth recovery ARGS…` in an app of its own (the
// command is registered in main.go separately) and returns its output.
func runRecoveryCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{
		Name:      "cocogeth",
		Commands:  []*cli.Command{recoveryCommand},
		Writer:    &out,
		ErrWriter: &errOut,
		// Keep errors as returned values rather than exiting.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	err := app.Run(append([]string{"cocogeth", "recovery"}, args...))
	return out.String(), err
}

func TestRecoveryKeygenAndPubkey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "member.key")
	out, err := runRecoveryCmd(t, "keygen", "--out", file)
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	line := strings.TrimSuffix(out, "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "0x") || len(line) != 2+2*governance.RecoveryKeySize {
		t.Fatalf("keygen printed %q, want one 0x line of %d bytes", out, governance.RecoveryKeySize)
	}
	pub := hexutil.MustDecode(line)
	if _, err := recovery.ParsePublicKey(pub); err != nil {
		t.Fatalf("printed key is not a valid recovery key: %v", err)
	}
	// The file holds the private key of the printed public key, private.
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("key file mode %04o", fi.Mode().Perm())
	}
	k, err := recovery.ReadKeyFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Public(), pub) {
		t.Fatalf("file's key %x, printed %x", k.Public(), pub)
	}
	if data, _ := os.ReadFile(file); bytes.Contains(data, []byte(line[2:])) {
		t.Fatal("the key file holds the public key, not the private one")
	}

	// pubkey prints the same public key.
	got, err := runRecoveryCmd(t, "pubkey", "--key", file)
	if err != nil || got != out {
		t.Fatalf("pubkey: %q (%v), want %q", got, err, out)
	}

	// The printed key is what set-recovery-key takes.
	method, data, err := encodeProposal([]string{"set-recovery-key", "A", line})
	if err != nil || method != "proposeSetRecoveryKey" {
		t.Fatalf("encode: %s %v", method, err)
	}
	a, err := governance.DecodeArgs(governance.ActSetRecoveryKey, data[4:])
	if err != nil || a.(governance.SetRecoveryKey).Key != common.Hash(pub) {
		t.Fatalf("decoded %v (%v)", a, err)
	}

	// keygen never overwrites, and a second key differs.
	before, _ := os.ReadFile(file)
	if _, err := runRecoveryCmd(t, "keygen", "--out", file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("keygen over an existing file: %v", err)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatal("keygen changed an existing file")
	}
	out2, err := runRecoveryCmd(t, "keygen", "--out", filepath.Join(dir, "other.key"))
	if err != nil || out2 == out {
		t.Fatalf("second keygen: %q (%v)", out2, err)
	}
}

func TestRecoveryCommandErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keygen"}, `Required flag "out" not set`},
		{[]string{"keygen", "--out", ""}, "--out FILE is required"},
		{[]string{"keygen", "--out", filepath.Join(dir, "k"), "extra"}, `unexpected argument "extra"`},
		{[]string{"keygen", "--out", filepath.Join(dir, "missing", "k")}, "creating key file"},
		{[]string{"pubkey"}, `Required flag "key" not set`},
		{[]string{"pubkey", "--key", filepath.Join(dir, "nope")}, "opening key file"},
	} {
		if _, err := runRecoveryCmd(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	// A key file readable by others is refused (as ssh does).
	if runtime.GOOS != "windows" {
		k, _ := recovery.GenerateKey(nil)
		file := filepath.Join(dir, "open.key")
		if err := recovery.WriteKeyFile(file, k); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := runRecoveryCmd(t, "pubkey", "--key", file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("world-readable key file: %v", err)
		}
	}
}
