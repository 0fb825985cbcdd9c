package nodetls

import (
	"errors"
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/tee"
)

// simTEE is a simulation TEE measuring file (its code identity is the
// file's SHA-256).
func simTEE(t *testing.T, file string) tee.TEE {
	t.Helper()
	cfg := tee.DefaultConfig()
	cfg.SecretFile = t.TempDir() + "/secret"
	cfg.Executable = file
	s, err := tee.New(tee.KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// codeFile writes a stand-in executable and returns its path and code id.
func codeFile(t *testing.T, content string) (string, [32]byte) {
	t.Helper()
	p := t.TempDir() + "/exe"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := simTEE(t, p)
	r, err := s.Report(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tee.Verify(tee.KindSimulation, r)
	if err != nil {
		t.Fatal(err)
	}
	return p, c.UniqueID
}

// wrongData reports over other data than asked: a report bound to another
// key.
type wrongData struct{ tee.TEE }

func (w wrongData) Report([]byte) ([]byte, error) { return w.TEE.Report(make([]byte, 32)) }

func attestedGuard(t *testing.T, a actor, tt tee.TEE, reg *Registry) *Guard {
	t.Helper()
	id := a.identity()
	id.TEE = tt
	g, err := NewGuard(id, reg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Attested admission: a peer is admitted only with a report over its TLS
// key, of an admitted TEE kind and code identity, and, when pinned, its
// node's code; a changed policy cuts connected peers it no longer admits.
func TestAttestedHandshake(t *testing.T) {
	goodExe, good := codeFile(t, "release 1")
	badExe, bad := codeFile(t, "release 1, patched")
	A, B := newActor(t, "A"), newActor(t, "B")
	policy := Attestation{Required: true, Kinds: []string{tee.KindSimulation}, CodeIDs: [][32]byte{good}}
	server := func() *Guard {
		reg := registryOf(A, B)
		reg.SetAttestation(policy)
		return attestedGuard(t, A, simTEE(t, goodExe), reg)
	}
	for _, c := range []struct {
		name string
		tee  tee.TEE
		want error
	}{
		{"admitted code", simTEE(t, goodExe), nil},
		{"valid node key, wrong code identity", simTEE(t, badExe), ErrCodeNotAllowed},
		{"no attestation", nil, ErrNoAttestation},
		{"report bound to another key", wrongData{simTEE(t, goodExe)}, ErrBadAttestation},
	} {
		t.Run(c.name, func(t *testing.T) {
			gA := server()
			gB := attestedGuard(t, B, c.tee, registryOf(A, B))
			srv, cli := handshake(t, gA.Server, gB.Client)
			if c.want == nil {
				if srv.err != nil || cli.err != nil {
					t.Fatalf("handshake: server %v, client %v", srv.err, cli.err)
				}
				if srv.peer.TEE != tee.KindSimulation || srv.peer.Code != good {
					t.Errorf("server sees TEE %q code %x", srv.peer.TEE, srv.peer.Code)
				}
				// The code is voted out: the connected peer is no longer admitted.
				gA.SetAttestation(Attestation{Required: true, Kinds: []string{tee.KindSimulation}, CodeIDs: [][32]byte{bad}})
				if err := gA.Admit(srv.peer); !errors.Is(err, ErrCodeNotAllowed) {
					t.Errorf("Admit after the code was voted out: %v", err)
				}
				// Pinned to other code: refused too.
				gA.SetAttestation(Attestation{Required: true, Kinds: []string{tee.KindSimulation}, AnyCode: true, Pinned: map[string][32]byte{"B": bad}})
				if err := gA.Admit(srv.peer); !errors.Is(err, ErrCodeNotAllowed) {
					t.Errorf("Admit of a node pinned to other code: %v", err)
				}
				return
			}
			if !errors.Is(srv.err, c.want) {
				t.Errorf("server: %v, want %v", srv.err, c.want)
			}
			if err := clientCannotTalk(t, cli); err == nil {
				t.Error("the refused client can talk")
			}
		})
	}
	// A peer admitted while no attestation was required is cut once it is.
	reg := registryOf(A, B)
	gA := attestedGuard(t, A, nil, reg)
	gB := attestedGuard(t, B, nil, registryOf(A, B))
	srv, _ := handshake(t, gA.Server, gB.Client)
	if srv.err != nil {
		t.Fatal(srv.err)
	}
	gA.SetAttestation(policy)
	if err := gA.Admit(srv.peer); !errors.Is(err, ErrNoAttestation) {
		t.Errorf("Admit once attestation is required: %v", err)
	}
}
