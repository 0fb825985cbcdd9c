package confidential

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

var (
	testKey, _ = crypto.HexToECDSA("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcbc8efcaa3f4f2ff8")
	testAddr   = crypto.PubkeyToAddress(testKey.PublicKey)
	otherKey   = mustKey()
	chainID    = big.NewInt(1337)
	t0         = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

func mustKey() *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}

func testVerifier() *Verifier {
	v := NewVerifier(chainID, nil)
	v.now = func() time.Time { return t0 }
	return v
}

// siweMessage writes an EIP-4361 message in canonical form.
func siweMessage(addr common.Address, chain int64, issued time.Time, expires *time.Time) string {
	m := fmt.Sprintf("app.example wants you to sign in with your Ethereum account:\n%s\n\nSign in to cocogeth\n\nURI: https://app.example\nVersion: 1\nChain ID: %d\nNonce: abcdefgh12345678\nIssued At: %s",
		addr.Hex(), chain, issued.UTC().Format(time.RFC3339))
	if expires != nil {
		m += "\nExpiration Time: " + expires.UTC().Format(time.RFC3339)
	}
	return m
}

// personalSign signs as a wallet's personal_sign.
func personalSign(t *testing.T, key *ecdsa.PrivateKey, msg string) string {
	t.Helper()
	sig, err := crypto.Sign(accounts.TextHash([]byte(msg)), key)
	if err != nil {
		t.Fatal(err)
	}
	sig[64] += 27
	return hexutil.Encode(sig)
}

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestLogin(t *testing.T) {
	v := testVerifier()
	msg := siweMessage(testAddr, 1337, t0.Add(-time.Minute), at(time.Hour))
	s, err := v.Login(msg, personalSign(t, testKey, msg))
	if err != nil {
		t.Fatal(err)
	}
	if s.Address != testAddr || !s.Expires.Equal(t0.Add(time.Hour)) || s.Token == "" {
		t.Fatalf("session %+v", s)
	}
	// The token verifies on any verifier (another node), and is cached.
	other := testVerifier()
	got, err := other.Session(s.Token)
	if err != nil || got.Address != testAddr {
		t.Fatalf("token on another node: %+v %v", got, err)
	}
	// Expiry applies to a cached token too.
	other.now = func() time.Time { return t0.Add(time.Hour) }
	if _, err := other.Session(s.Token); err == nil || !strings.Contains(err.Error(), "session expired") {
		t.Fatalf("expired cached token: %v", err)
	}
}

func TestLoginRefusals(t *testing.T) {
	good := siweMessage(testAddr, 1337, t0.Add(-time.Minute), at(time.Hour))
	for _, c := range []struct {
		name, msg, sig, want string
	}{
		{"garbage", "hello", "0x00", "malformed sign-in message"},
		{"wrong chain", siweMessage(testAddr, 1, t0, at(time.Hour)), "", "for chain id 1, this network is 1337"},
		{"no expiry", siweMessage(testAddr, 1337, t0, nil), "", "no expiration time"},
		{"too long", siweMessage(testAddr, 1337, t0, at(25*time.Hour)), "", "longer than the network allows (24h0m0s)"},
		{"expired", siweMessage(testAddr, 1337, t0.Add(-2*time.Hour), at(-time.Hour)), "", "session expired"},
		{"issued in the future", siweMessage(testAddr, 1337, t0.Add(time.Hour), at(2*time.Hour)), "", "issued in the future"},
		{"signed by another key", good, personalSign(t, otherKey, good), "sign-in signature is not by " + testAddr.Hex()},
		{"short signature", good, "0x1234", "malformed signature"},
		{"not hex", good, "zz", "malformed signature"},
		{"not canonical", strings.Replace(good, "Version: 1", "Version:  1", 1), "", "malformed sign-in message"},
	} {
		sig := c.sig
		if sig == "" {
			sig = personalSign(t, testKey, c.msg)
		}
		_, err := testVerifier().Login(c.msg, sig)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if _, ok := err.(*ProofError); err != nil && !ok {
			t.Errorf("%s: error %T, want *ProofError", c.name, err)
		}
	}
}

func TestSessionTokenRefusals(t *testing.T) {
	v := testVerifier()
	msg := siweMessage(testAddr, 1337, t0, at(time.Hour))
	forged := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"message":%q,"signature":%q}`, msg, personalSign(t, otherKey, msg))))
	for _, c := range []struct{ name, token, want string }{
		{"not base64", "!!!", "not base64url"},
		{"not json", base64.RawURLEncoding.EncodeToString([]byte("x")), "malformed session token"},
		{"empty members", base64.RawURLEncoding.EncodeToString([]byte(`{}`)), "malformed session token"},
		{"forged", forged, "signature is not by"},
		{"huge", strings.Repeat("A", maxTokenLen+1), "longer than"},
	} {
		if _, err := v.Session(c.token); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestHandler(t *testing.T) {
	v := testVerifier()
	msg := siweMessage(testAddr, 1337, t0, at(time.Hour))
	s, err := v.Login(msg, personalSign(t, testKey, msg))
	if err != nil {
		t.Fatal(err)
	}
	var seen *Session
	var anonymous bool
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok, err := v.SessionOf(r.Context())
		if err != nil {
			t.Errorf("SessionOf: %v", err)
		}
		seen, anonymous = &got, !ok
	}))
	for _, c := range []struct {
		name   string
		set    func(*http.Request)
		status int
		anon   bool
	}{
		{"anonymous", func(*http.Request) {}, 200, true},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s.Token) }, 200, false},
		{"query", func(r *http.Request) { r.URL.RawQuery = "session=" + s.Token }, 200, false},
		{"bad bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer junk") }, 401, false},
		// Another scheme (a proxy's basic auth) is not a session.
		{"not bearer", func(r *http.Request) { r.Header.Set("Authorization", "Basic abc") }, 200, true},
		{"bad query", func(r *http.Request) { r.URL.RawQuery = "session=junk" }, 401, false},
	} {
		seen = nil
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		c.set(r)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.name, w.Code, c.status)
			continue
		}
		if c.status != 200 {
			if seen != nil {
				t.Errorf("%s: a refused request reached the RPC server", c.name)
			}
			if !strings.Contains(w.Body.String(), `"code":-32001`) || !strings.Contains(w.Body.String(), "session token") {
				t.Errorf("%s: body %s", c.name, w.Body.String())
			}
			continue
		}
		if anonymous != c.anon || (!c.anon && seen.Address != testAddr) {
			t.Errorf("%s: anonymous %v session %+v", c.name, anonymous, seen)
		}
	}
	if _, ok, _ := v.SessionOf(context.Background()); ok {
		t.Error("a bare context has a session")
	}
}

// SignIn's message and signature open a session as they are.
func TestSignInRoundTrip(t *testing.T) {
	v := NewVerifier(chainID, nil)
	msg, sig, err := SignIn(testKey, chainID, "http://127.0.0.1:8545", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Login(msg, sig)
	if err != nil || s.Address != testAddr {
		t.Fatalf("login with SignIn's message: %+v %v\n%s", s, err, msg)
	}
}
