package tee

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
)

func randomSecret(t testing.TB) Secret {
	b := make([]byte, SecretSize)
	rand.Read(b)
	return NewSecret(b)
}

func newSim(t testing.TB, secret Secret) TEE {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Secret = secret
	s, err := New(KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// spki stands for a TLS certificate's public key.
func spki(name string) []byte { return []byte("spki of " + name) }

func TestKindsMatchGovernance(t *testing.T) {
	if KindSGX != governance.TEESGX || KindSimulation != governance.TEESimulation || !slices.Equal(Kinds, governance.KnownTEEs) {
		t.Fatalf("tee kinds %v, governance kinds %v", Kinds, governance.KnownTEEs)
	}
}

func TestSimulationReportRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Secret = randomSecret(t)
	cfg.ProductID, cfg.SecurityVersion = 7, 3
	sim, err := New(KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sim.Kind() != KindSimulation {
		t.Fatalf("kind %q", sim.Kind())
	}
	code, err := SimulationCodeID()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	if want, _ := hashFile(exe); code != want || code == ([32]byte{}) {
		t.Fatalf("code id %x, want SHA-256 of %s %x", code, exe, want)
	}
	data := ReportData(spki("A"))
	report, err := sim.Report(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != SimulationReportSize || !bytes.HasPrefix(report, []byte("cocogeth simulation report (insecure)")) {
		t.Fatalf("report of %d bytes, not labelled: %q", len(report), report[:40])
	}
	for name, verify := range map[string]func([]byte) (Claims, error){
		"method":   sim.Verify,
		"function": func(r []byte) (Claims, error) { return Verify(KindSimulation, r) },
	} {
		c, err := verify(report)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := Claims{Kind: KindSimulation, UniqueID: code, SignerID: Signer, ProductID: 7, SecurityVersion: 3, Data: append(bytes.Clone(data), make([]byte, 32)...)}
		if fmt.Sprint(c) != fmt.Sprint(want) || !bytes.Equal(c.Data, want.Data) {
			t.Fatalf("%s: claims\n%v %x\nwant\n%v %x", name, c, c.Data, want, want.Data)
		}
		if err := Check(c, Policy{Data: data, Kinds: []string{KindSimulation}, CodeIDs: [][32]byte{code}, Signers: [][32]byte{Signer}, ProductIDs: []uint16{7}, MinSecurityVersion: 3}); err != nil {
			t.Fatalf("%s: check: %v", name, err)
		}
	}
	if _, err := Verify("tpm", report); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := Verify(KindSGX, report); err == nil {
		t.Fatal("a simulation report verified as sgx")
	}
}

func TestReportDataSize(t *testing.T) {
	sim := newSim(t, randomSecret(t))
	for _, n := range []int{0, ReportDataSize + 1} {
		if _, err := sim.Report(make([]byte, n)); !errors.Is(err, ErrDataSize) {
			t.Errorf("%d bytes: %v, want ErrDataSize", n, err)
		}
	}
	for _, n := range []int{1, 32, ReportDataSize} {
		r, err := sim.Report(bytes.Repeat([]byte{0xAB}, n))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		c, err := sim.Verify(r)
		if err != nil || !bytes.Equal(c.Data[:n], bytes.Repeat([]byte{0xAB}, n)) || !allZero(c.Data[n:]) {
			t.Fatalf("%d bytes: data %x, %v", n, c.Data, err)
		}
	}
}

// signed returns a verified simulation report with the given changes to
// an honest one: what anyone who runs the simulation code can make.
func signed(t *testing.T, change func(*simReport)) Claims {
	t.Helper()
	code, err := SimulationCodeID()
	if err != nil {
		t.Fatal(err)
	}
	r := simReport{UniqueID: code, SignerID: Signer, ProductID: 1, SecurityVersion: 2}
	copy(r.Data[:], ReportData(spki("A")))
	if change != nil {
		change(&r)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	c, err := verifySimulation(r.sign(key))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	code, _ := SimulationCodeID()
	otherCode := sha256.Sum256([]byte("another build"))
	base := func() Policy {
		return Policy{
			Data:               ReportData(spki("A")),
			Kinds:              []string{KindSimulation},
			CodeIDs:            [][32]byte{otherCode, code},
			Signers:            [][32]byte{Signer},
			ProductIDs:         []uint16{1},
			MinSecurityVersion: 2,
		}
	}
	tests := []struct {
		name   string
		report func(*simReport)
		policy func(*Policy)
		claims func(*Claims)
		want   error
	}{
		{name: "honest"},
		{name: "lax policy", policy: func(p *Policy) { p.Signers, p.ProductIDs, p.MinSecurityVersion = nil, nil, 0 }},
		{name: "wrong signer", report: func(r *simReport) { r.SignerID = sha256.Sum256([]byte("mallory")) }, want: ErrWrongSigner},
		{name: "signer not checked when none listed", report: func(r *simReport) { r.SignerID = sha256.Sum256([]byte("mallory")) }, policy: func(p *Policy) { p.Signers = nil }},
		{name: "wrong product", report: func(r *simReport) { r.ProductID = 2 }, want: ErrWrongProduct},
		{name: "one of the products", report: func(r *simReport) { r.ProductID = 2 }, policy: func(p *Policy) { p.ProductIDs = []uint16{1, 2} }},
		{name: "debug report", report: func(r *simReport) { r.Debug = true }, want: ErrDebug},
		{name: "debug allowed", report: func(r *simReport) { r.Debug = true }, policy: func(p *Policy) { p.AllowDebug = true }},
		{name: "stale security version", report: func(r *simReport) { r.SecurityVersion = 1 }, want: ErrStaleSVN},
		{name: "newer security version", report: func(r *simReport) { r.SecurityVersion = 9 }},
		{name: "bound to another key", policy: func(p *Policy) { p.Data = ReportData(spki("B")) }, want: ErrDataMismatch},
		{name: "data is compared in full", report: func(r *simReport) { r.Data[63] = 1 }, want: ErrDataMismatch},
		{name: "kind not in the manifest", policy: func(p *Policy) { p.Kinds = []string{KindSGX} }, want: ErrWrongKind},
		{name: "code id not in the manifest", report: func(r *simReport) { r.UniqueID = sha256.Sum256([]byte("patched")) }, want: ErrCodeNotAllowed},
		{name: "node pins another code id", policy: func(p *Policy) { p.CodeIDs = [][32]byte{otherCode} }, want: ErrCodeNotAllowed},
		{name: "claims without data", claims: func(c *Claims) { c.Data = nil }, want: ErrMalformed},
		{name: "policy: empty TEE manifest", policy: func(p *Policy) { p.Kinds = nil }, want: ErrBadPolicy},
		{name: "policy: unknown kind", policy: func(p *Policy) { p.Kinds = []string{"simulated"} }, want: ErrBadPolicy},
		{name: "policy: empty code manifest", policy: func(p *Policy) { p.CodeIDs = nil }, want: ErrBadPolicy},
		{name: "policy: no expected data", policy: func(p *Policy) { p.Data = nil }, want: ErrBadPolicy},
		{name: "policy: data too long", policy: func(p *Policy) { p.Data = make([]byte, 65) }, want: ErrBadPolicy},
	}
	sentinels := []error{ErrWrongKind, ErrDataMismatch, ErrCodeNotAllowed, ErrWrongSigner, ErrWrongProduct, ErrStaleSVN, ErrDebug, ErrBadPolicy, ErrMalformed}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := signed(t, tt.report)
			if tt.claims != nil {
				tt.claims(&c)
			}
			p := base()
			if tt.policy != nil {
				tt.policy(&p)
			}
			err := Check(c, p)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, s := range sentinels { // exactly one rule names the refusal
				if s != tt.want && errors.Is(err, s) {
					t.Fatalf("%v also matches %v", err, s)
				}
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	sim := newSim(t, randomSecret(t))
	report, err := sim.Report(ReportData(spki("A")))
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, SimulationReportSize)
	rand.Read(garbage)
	headed := slices.Concat(report[:offUnique], garbage[offUnique:])
	headed[offFlags] = 0
	wrongVersion := bytes.Clone(report)
	wrongVersion[offVersion] = 2
	unknownFlag := bytes.Clone(report)
	unknownFlag[offFlags] = 2
	// A's report with B's public key spliced in: signed by another key.
	other, _ := newSim(t, randomSecret(t)).Report(ReportData(spki("A")))
	spliced := slices.Concat(report[:offPub], other[offPub:offSig], report[offSig:])

	tests := []struct {
		name   string
		report []byte
		want   error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated by one byte", report[:len(report)-1], ErrMalformed},
		{"truncated to the header", report[:offUnique], ErrMalformed},
		{"extended by one byte", append(bytes.Clone(report), 0), ErrMalformed},
		{"garbage", garbage, ErrMalformed},
		{"garbage with a valid header", headed, ErrNotAuthentic},
		{"wrong version", wrongVersion, ErrMalformed},
		{"unknown flag", unknownFlag, ErrMalformed},
		{"signed by another key", spliced, ErrNotAuthentic},
	}
	for _, tt := range tests {
		if c, err := sim.Verify(tt.report); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v (claims %v), want %v", tt.name, err, c, tt.want)
		}
	}
	// Every single altered byte is refused.
	for i := range report {
		for _, mask := range []byte{0x01, 0x80} {
			r := bytes.Clone(report)
			r[i] ^= mask
			_, err := sim.Verify(r)
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAuthentic) {
				t.Fatalf("byte %d ^ %#x: got %v", i, mask, err)
			}
		}
	}
}

// The limit the doc states: whoever runs the simulation code can claim
// anything. This test pins that down so nobody mistakes simulation for
// proof: a forged report with a made-up code id verifies.
func TestSimulationProvesNothingAgainstItsOwnCode(t *testing.T) {
	forged := sha256.Sum256([]byte("any code id I like"))
	c := signed(t, func(r *simReport) { r.UniqueID = forged })
	if c.UniqueID != forged || c.Kind != KindSimulation {
		t.Fatalf("claims %v", c)
	}
	if !strings.Contains(Label(KindSimulation), "INSECURE") || strings.Contains(Label(KindSGX), "INSECURE") {
		t.Fatalf("labels %q, %q", Label(KindSimulation), Label(KindSGX))
	}
}

func TestSimulationSeal(t *testing.T) {
	secret := randomSecret(t)
	sim := newSim(t, secret)
	for _, pt := range [][]byte{nil, []byte("node key"), bytes.Repeat([]byte{7}, 10_000)} {
		sealed, err := sim.Seal(pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 0 && bytes.Contains(sealed, pt) {
			t.Fatal("plaintext visible in the sealed blob")
		}
		again, _ := sim.Seal(pt)
		if bytes.Equal(sealed, again) {
			t.Fatal("sealing is deterministic: nonce not random")
		}
		got, err := sim.Unseal(sealed)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("unseal: %x, %v", got, err)
		}
		// A restart with the same secret (new process key) unseals.
		if got, err := newSim(t, secret).Unseal(sealed); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("unseal after restart: %v", err)
		}
	}

	sealed, _ := sim.Seal([]byte("node key"))
	for i := range sealed {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		if _, err := sim.Unseal(b); !errors.Is(err, ErrUnseal) {
			t.Fatalf("byte %d altered: %v", i, err)
		}
	}
	for _, n := range []int{0, 1, 12, len(sealed) - 1} {
		if _, err := sim.Unseal(sealed[:n]); !errors.Is(err, ErrUnseal) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := newSim(t, randomSecret(t)).Unseal(sealed); !errors.Is(err, ErrUnseal) {
		t.Fatalf("another secret: %v", err)
	}

	// No zero or constant key: neither an all-zero AES key (ego's outside
	// an enclave, 16 or 32 bytes) nor the key of a zero secret opens it.
	zeroSecretKey, _ := hkdf.Key(sha256.New, make([]byte, SecretSize), nil, simSealInfo, 32)
	for _, key := range [][]byte{make([]byte, 16), make([]byte, 32), zeroSecretKey} {
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		if _, err := aead.Open(nil, sealed[1:13], sealed[13:], simSealAD()); err == nil {
			t.Fatalf("sealed blob opens under constant key %x", key)
		}
	}
}

func TestSimulationSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tee.secret")
	cfg := DefaultConfig()
	cfg.SecretFile = path
	a, err := New(KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != SecretSize {
		t.Fatalf("secret file %v, %v", fi, err)
	}
	sealed, _ := a.Seal([]byte("x"))
	b, err := New(KindSimulation, cfg) // reuses the file
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Unseal(sealed); err != nil {
		t.Fatalf("second start: %v", err)
	}

	write := func(name string, content []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	good := make([]byte, SecretSize)
	rand.Read(good)
	for name, c := range map[string]Config{
		"no secret":           {},
		"zero secret":         {Secret: NewSecret(make([]byte, SecretSize))},
		"short secret":        {Secret: NewSecret(good[:16])},
		"world-readable file": {SecretFile: write("readable", good, 0o644)},
		"zero file":           {SecretFile: write("zero", make([]byte, SecretSize), 0o600)},
		"short file":          {SecretFile: write("short", good[:31], 0o600)},
	} {
		if s, err := New(KindSimulation, c); !errors.Is(err, ErrNoSecret) || s != nil {
			t.Errorf("%s: got %v, %v; want ErrNoSecret", name, s, err)
		}
	}
}

func TestSecretRedacted(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	cfg := Config{Secret: NewSecret(raw)}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{string(j)}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs, fmt.Sprintf(f, cfg.Secret), fmt.Sprintf(f, cfg), fmt.Sprintf(f, &cfg))
	}
	for _, o := range outs {
		for _, leak := range []string{string(raw), fmt.Sprintf("%x", raw), "48 49 50", "[48"} {
			if strings.Contains(o, leak) {
				t.Fatalf("secret leaked: %s", o)
			}
		}
	}
	if cfg.Secret.String() != "<redacted>" || !strings.Contains(string(j), `redacted`) {
		t.Fatalf("String %q, JSON %s", cfg.Secret, j)
	}
}

func TestConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Secret = randomSecret(t)
	cfg.SecurityVersion = 1 << 16
	if _, err := New(KindSimulation, cfg); err == nil {
		t.Fatal("security version beyond 16 bits accepted")
	}
	if _, err := New("tpm", DefaultConfig()); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Secret = randomSecret(t)
	cfg.Executable = filepath.Join(t.TempDir(), "missing")
	if _, err := New(KindSimulation, cfg); err == nil {
		t.Fatal("missing executable measured")
	}
}

func BenchmarkSimulationReport(b *testing.B) {
	sim := newSim(b, randomSecret(b))
	data := ReportData(spki("A"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sim.Report(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSimulationVerifyCheck(b *testing.B) {
	sim := newSim(b, randomSecret(b))
	data := ReportData(spki("A"))
	report, _ := sim.Report(data)
	code, _ := SimulationCodeID()
	p := Policy{Data: data, Kinds: []string{KindSimulation}, CodeIDs: [][32]byte{code}}
	b.ReportAllocs()
	for b.Loop() {
		c, err := Verify(KindSimulation, report)
		if err != nil {
			b.Fatal(err)
		}
		if err := Check(c, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSimulationSeal(b *testing.B) {
	sim := newSim(b, randomSecret(b))
	pt := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		s, err := sim.Seal(pt)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sim.Unseal(s); err != nil {
			b.Fatal(err)
		}
	}
}
