package nodetls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

var (
	testNetwork  = common.HexToHash("0x1111111111111111111111111111111111111111111111111111111111111111")
	otherNetwork = common.HexToHash("0x2222222222222222222222222222222222222222222222222222222222222222")
)

// actor is a validating node (or an impostor): an id and a node key.
type actor struct {
	id  string
	key *ecdsa.PrivateKey
	pub []byte // 65-byte uncompressed node public key
}

func newActor(t testing.TB, id string) actor {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return actor{id: id, key: k, pub: crypto.FromECDSAPub(&k.PublicKey)}
}

func (a actor) identity() Identity { return Identity{ID: a.id, Key: a.key, Network: testNetwork} }

func registryOf(actors ...actor) *Registry {
	m := make(map[string][]byte, len(actors))
	for _, a := range actors {
		m[a.id] = a.pub
	}
	return NewRegistry(m)
}

func newGuard(t testing.TB, self actor, reg *Registry) *Guard {
	t.Helper()
	g, err := NewGuard(self.identity(), reg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// forgery describes a certificate built by hand, to make what
// Identity.Certificate never makes.
type forgery struct {
	id        string
	signer    *ecdsa.PrivateKey // signs the proof
	network   common.Hash
	notBefore time.Time
	notAfter  time.Time
	// proofNotAfter is the expiry the proof states and its signature
	// covers; zero means notAfter.
	proofNotAfter time.Time
	version       uint // zero means 1
	sigLen        int  // when > 0, the signature is cut to this length
	noExt         bool // leave the proof extension out
	rawExt        []byte
}

func forge(t testing.TB, f forgery) *x509.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pna := f.proofNotAfter
	if pna.IsZero() {
		pna = f.notAfter
	}
	sig, err := crypto.Sign(proofDigest(f.network, f.id, spki, uint64(pna.Unix())), f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if f.sigLen > 0 {
		sig = sig[:f.sigLen]
	}
	version := f.version
	if version == 0 {
		version = 1
	}
	ext := f.rawExt
	if ext == nil {
		if ext, err = rlp.EncodeToBytes(&proof{Version: version, ID: f.id, NotAfter: uint64(pna.Unix()), Sig: sig}); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "forged " + f.id},
		NotBefore:    f.notBefore,
		NotAfter:     f.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if !f.noExt {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: ExtensionOID, Value: ext}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// withExtension returns a copy of leaf signed by a fresh Ed25519 key whose
// proof extension is ext (copied from another certificate).
func withExtension(t testing.TB, leaf *x509.Certificate, ext []byte) *x509.Certificate {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(2),
		Subject:         leaf.Subject,
		NotBefore:       leaf.NotBefore,
		NotAfter:        leaf.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: ExtensionOID, Value: ext}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func extensionOf(leaf *x509.Certificate) []byte {
	for _, e := range leaf.Extensions {
		if e.Id.Equal(ExtensionOID) {
			return e.Value
		}
	}
	return nil
}

func certOf(t testing.TB, id Identity, now time.Time) *x509.Certificate {
	t.Helper()
	c, err := id.Certificate(now)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func TestVerify(t *testing.T) {
	A, B, C := newActor(t, "A"), newActor(t, "B"), newActor(t, "C")
	reg := registryOf(A, B) // C is not a validating node
	g := newGuard(t, B, reg)
	now := time.Now()
	g.now = func() time.Time { return now }

	validA := certOf(t, A.identity(), now)
	cases := []struct {
		name string
		cert *x509.Certificate
		want *actor // admitted node, or nil
		err  error  // the refusal, when want is nil
	}{
		{name: "listed node", cert: validA, want: &A},
		{name: "other listed node", cert: certOf(t, B.identity(), now), want: &B},
		{name: "made by a peer whose clock is 5 minutes ahead", cert: certOf(t, A.identity(), now.Add(5*time.Minute)), want: &A},
		{name: "made 23 hours ago", cert: certOf(t, A.identity(), now.Add(-23*time.Hour)), want: &A},
		{name: "id not in registry", cert: certOf(t, C.identity(), now), err: ErrUnknownNode},
		{name: "listed id signed by another key", cert: certOf(t, Identity{ID: "A", Key: C.key, Network: testNetwork}, now), err: ErrWrongKey},
		{name: "listed id signed by another listed node", cert: certOf(t, Identity{ID: "A", Key: B.key, Network: testNetwork}, now), err: ErrWrongKey},
		{name: "made for another network", cert: certOf(t, Identity{ID: "A", Key: A.key, Network: otherNetwork}, now), err: ErrWrongKey},
		{name: "proof copied onto another TLS key", cert: withExtension(t, validA, extensionOf(validA)), err: ErrWrongKey},
		{name: "expired", cert: certOf(t, A.identity(), now.Add(-48*time.Hour)), err: ErrExpired},
		{name: "not yet valid", cert: certOf(t, A.identity(), now.Add(time.Hour)), err: ErrExpired},
		{name: "lifetime too long", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Hour), notAfter: now.Add(Lifetime + clockSkew),
		}), err: ErrLifetime},
		{name: "no proof extension", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour), noExt: true,
		}), err: ErrNoProof},
		{name: "garbage extension", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour), rawExt: []byte{0xde, 0xad, 0xbe, 0xef},
		}), err: ErrBadCert},
		{name: "truncated signature", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour), sigLen: crypto.SignatureLength - 1,
		}), err: ErrBadCert},
		{name: "proof version 2", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour), version: 2,
		}), err: ErrBadCert},
		{name: "proof expiry differs from certificate expiry", cert: forge(t, forgery{
			id: "A", signer: A.key, network: testNetwork,
			notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour), proofNotAfter: now.Add(2 * time.Hour),
		}), err: ErrBadCert},
	}
	// The hand-made certificates are accepted when nothing is wrong with
	// them, so the refusals above are due to the one flaw each carries.
	if p, err := g.Verify([]*x509.Certificate{forge(t, forgery{
		id: "A", signer: A.key, network: testNetwork, notBefore: now.Add(-time.Minute), notAfter: now.Add(time.Hour),
	})}); err != nil || p.ID != "A" {
		t.Fatalf("a well-formed hand-made certificate is refused: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := g.Verify([]*x509.Certificate{c.cert})
			if c.want != nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.ID != c.want.id || !bytes.Equal(p.Key, c.want.pub) {
					t.Fatalf("peer is %q %x, want %q %x", p.ID, p.Key, c.want.id, c.want.pub)
				}
				return
			}
			if err == nil {
				t.Fatalf("admitted as %q", p.ID)
			}
			if p != nil {
				t.Errorf("refusal returned a peer %q", p.ID)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("error %q is not %q", err, c.err)
			}
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		if _, err := g.Verify(nil); !errors.Is(err, ErrNoCertificate) {
			t.Fatalf("error %v, want %v", err, ErrNoCertificate)
		}
	})
	t.Run("only the leaf counts", func(t *testing.T) {
		if _, err := g.Verify([]*x509.Certificate{certOf(t, C.identity(), now), validA}); !errors.Is(err, ErrUnknownNode) {
			t.Fatalf("error %v, want %v", err, ErrUnknownNode)
		}
	})
}

func TestNewGuardNeedsIdentity(t *testing.T) {
	A := newActor(t, "A")
	reg := registryOf(A)
	if _, err := NewGuard(Identity{Key: A.key, Network: testNetwork}, reg); err == nil {
		t.Error("guard without an id")
	}
	if _, err := NewGuard(Identity{ID: "A", Network: testNetwork}, reg); err == nil {
		t.Error("guard without a node key")
	}
}

// side is one end of a handshake.
type side struct {
	conn net.Conn // the authenticated connection, nil when refused
	peer *cocobackend.AuthPeer
	err  error
	raw  net.Conn // the TCP connection under conn
}

type handshaker func(net.Conn) (net.Conn, *cocobackend.AuthPeer, error)

// handshake runs server on a connection accepted on 127.0.0.1 and client
// on the connection dialed to it. Like the mux, the server closes a
// connection it refuses. Everything is closed when the test ends.
func handshake(t *testing.T, server, client handshaker) (srv, cli side) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan side, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- side{err: err}
			return
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		c, p, err := server(raw)
		if err != nil {
			raw.Close()
		}
		done <- side{conn: c, peer: p, err: err, raw: raw}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	c, p, err := client(raw)
	cli = side{conn: c, peer: p, err: err}
	select {
	case srv = <-done:
		if srv.raw != nil {
			t.Cleanup(func() { srv.raw.Close() })
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server handshake did not end")
	}
	return srv, cli
}

// roundTrip sends a line each way.
func roundTrip(a, b net.Conn) error {
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 4)
		if _, err := io.ReadFull(b, buf); err != nil {
			errc <- err
			return
		}
		if string(buf) != "ping" {
			errc <- errors.New("server read " + string(buf))
			return
		}
		_, err := b.Write([]byte("pong"))
		errc <- err
	}()
	if _, err := a.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(a, buf); err != nil {
		return err
	}
	if string(buf) != "pong" {
		return errors.New("client read " + string(buf))
	}
	return <-errc
}

// clientCannotTalk asserts that the client end of a refused handshake
// cannot complete a round trip: its write or its first read fails, and
// the failure is the server's refusal, not a timeout.
func clientCannotTalk(t *testing.T, cli side) error {
	t.Helper()
	if cli.err != nil {
		return cli.err // refused during the client's own handshake
	}
	// With TLS 1.3 the client's handshake completes before the server
	// checked the client's certificate: the refusal arrives as an alert
	// (or a closed connection) on the client's first read.
	t.Logf("client side saw no handshake error; the refusal shows on its first read")
	cli.conn.Write([]byte("ping"))
	n, err := cli.conn.Read(make([]byte, 16))
	if err == nil {
		t.Fatalf("refused client read %d bytes", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("refused client timed out instead of being told: %v", err)
	}
	t.Logf("client read: %v", err)
	return err
}

func TestHandshakeMutual(t *testing.T) {
	A, B := newActor(t, "A"), newActor(t, "B")
	reg := registryOf(A, B)
	gA, gB := newGuard(t, A, reg), newGuard(t, B, registryOf(A, B))
	for _, dir := range []struct {
		name                   string
		server, client         *Guard
		serverSees, clientSees actor
	}{
		{"A serves B", gA, gB, B, A},
		{"B serves A", gB, gA, A, B},
	} {
		t.Run(dir.name, func(t *testing.T) {
			srv, cli := handshake(t, dir.server.Server, dir.client.Client)
			if srv.err != nil || cli.err != nil {
				t.Fatalf("handshake failed: server %v, client %v", srv.err, cli.err)
			}
			if srv.peer.ID != dir.serverSees.id || !bytes.Equal(srv.peer.Key, dir.serverSees.pub) {
				t.Errorf("server sees %q, want %q", srv.peer.ID, dir.serverSees.id)
			}
			if cli.peer.ID != dir.clientSees.id || !bytes.Equal(cli.peer.Key, dir.clientSees.pub) {
				t.Errorf("client sees %q, want %q", cli.peer.ID, dir.clientSees.id)
			}
			for _, c := range []net.Conn{srv.conn, cli.conn} {
				tc, ok := c.(*tls.Conn)
				if !ok {
					t.Fatalf("authenticated connection is a %T, not TLS", c)
				}
				cs := tc.ConnectionState()
				if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != ALPN {
					t.Errorf("negotiated version %x protocol %q", cs.Version, cs.NegotiatedProtocol)
				}
			}
			if err := roundTrip(cli.conn, srv.conn); err != nil {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
}

func TestHandshakeRefusesUnlistedClient(t *testing.T) {
	A, B, C := newActor(t, "A"), newActor(t, "B"), newActor(t, "C")
	gA := newGuard(t, A, registryOf(A, B))
	// C believes in A, but A does not list C.
	gC := newGuard(t, C, registryOf(A, C))
	srv, cli := handshake(t, gA.Server, gC.Client)
	if srv.err == nil {
		t.Fatalf("server admitted %q", srv.peer.ID)
	}
	if !errors.Is(srv.err, ErrUnknownNode) {
		t.Errorf("server refused with %q, want %q", srv.err, ErrUnknownNode)
	}
	if srv.conn != nil || srv.peer != nil {
		t.Error("refusal returned a connection or a peer")
	}
	if cli.err == nil && cli.peer.ID != "A" {
		t.Errorf("client authenticated the server as %q", cli.peer.ID)
	}
	// The server tells the refused client why, in a TLS alert.
	var oe *net.OpError
	if err := clientCannotTalk(t, cli); !errors.As(err, &oe) || oe.Op != "remote error" {
		t.Errorf("client's failure %v is not the server's alert", err)
	}
}

func TestHandshakeRefusesUnlistedServer(t *testing.T) {
	A, B, C := newActor(t, "A"), newActor(t, "B"), newActor(t, "C")
	gA := newGuard(t, A, registryOf(A, B))
	gC := newGuard(t, C, registryOf(A, C))
	// A dials C, which A does not list: A's own handshake fails.
	srv, cli := handshake(t, gC.Server, gA.Client)
	if cli.err == nil {
		t.Fatalf("client admitted server %q", cli.peer.ID)
	}
	if !errors.Is(cli.err, ErrUnknownNode) {
		t.Errorf("client refused with %q, want %q", cli.err, ErrUnknownNode)
	}
	if srv.err == nil {
		t.Error("server's handshake succeeded with a client that refused it")
	}
}

// A certificate is public: a node's certificate replayed by someone
// without its TLS key is worth nothing, although the certificate itself
// verifies.
func TestHandshakeRefusesReplayedCertificate(t *testing.T) {
	A, B := newActor(t, "A"), newActor(t, "B")
	reg := registryOf(A, B)
	gA, gB := newGuard(t, A, reg), newGuard(t, B, reg)
	bCert, err := gB.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := gA.Verify([]*x509.Certificate{bCert.Leaf}); err != nil || p.ID != "B" {
		t.Fatalf("B's certificate does not verify by itself: %v", err)
	}
	_, attackerKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	replayed := &tls.Certificate{Certificate: [][]byte{bCert.Certificate[0]}, PrivateKey: attackerKey}

	t.Run("as client", func(t *testing.T) {
		srv, cli := handshake(t, gA.Server, func(c net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
			tc := tls.Client(c, &tls.Config{
				MinVersion:         tls.VersionTLS13,
				NextProtos:         []string{ALPN},
				InsecureSkipVerify: true,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					return replayed, nil
				},
			})
			if err := tc.Handshake(); err != nil {
				return nil, nil, err
			}
			return tc, nil, nil
		})
		if srv.err == nil {
			t.Fatalf("server admitted the replayed certificate as %q", srv.peer.ID)
		}
		t.Logf("server refused: %v", srv.err)
		clientCannotTalk(t, cli)
	})
	t.Run("as server", func(t *testing.T) {
		aCert, err := gA.certificate()
		if err != nil {
			t.Fatal(err)
		}
		replayedA := &tls.Certificate{Certificate: [][]byte{aCert.Certificate[0]}, PrivateKey: attackerKey}
		srv, cli := handshake(t, func(c net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
			tc := tls.Server(c, &tls.Config{
				MinVersion:   tls.VersionTLS13,
				NextProtos:   []string{ALPN},
				ClientAuth:   tls.RequireAnyClientCert,
				Certificates: []tls.Certificate{*replayedA},
			})
			return tc, nil, tc.Handshake()
		}, gB.Client)
		if cli.err == nil {
			t.Fatalf("client admitted a server replaying A's certificate as %q", cli.peer.ID)
		}
		t.Logf("client refused: %v (server: %v)", cli.err, srv.err)
	})
}

// Clients that are not node-to-node TLS 1.3 peers are refused by the
// server's handshake.
func TestHandshakeRefusesOtherClients(t *testing.T) {
	A, B := newActor(t, "A"), newActor(t, "B")
	reg := registryOf(A, B)
	gA, gB := newGuard(t, A, reg), newGuard(t, B, reg)
	bCert, err := gB.certificate()
	if err != nil {
		t.Fatal(err)
	}
	tlsClient := func(cfg *tls.Config) handshaker {
		return func(c net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
			tc := tls.Client(c, cfg)
			if err := tc.Handshake(); err != nil {
				return nil, nil, err
			}
			return tc, nil, nil
		}
	}
	cases := []struct {
		name   string
		client handshaker
	}{
		{"plain TCP", func(c net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
			// The forward channel's byte and a frame header, as a
			// plaintext peer would send them.
			if _, err := c.Write([]byte("F\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00\x04ABCD")); err != nil {
				return nil, nil, err
			}
			return c, nil, nil
		}},
		{"TLS without a certificate", tlsClient(&tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{ALPN}, InsecureSkipVerify: true})},
		{"TLS 1.2", tlsClient(&tls.Config{MaxVersion: tls.VersionTLS12, NextProtos: []string{ALPN}, InsecureSkipVerify: true, Certificates: []tls.Certificate{*bCert}})},
		{"listed certificate without the protocol", tlsClient(&tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, Certificates: []tls.Certificate{*bCert}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cli := handshake(t, gA.Server, c.client)
			if srv.err == nil {
				t.Fatalf("server admitted the client (peer %v)", srv.peer)
			}
			t.Logf("server refused: %v", srv.err)
			if srv.conn != nil || srv.peer != nil {
				t.Error("refusal returned a connection or a peer")
			}
			clientCannotTalk(t, cli)
		})
	}
}

func TestRegistrySet(t *testing.T) {
	A, B, C := newActor(t, "A"), newActor(t, "B"), newActor(t, "C")
	in := map[string][]byte{"A": bytes.Clone(A.pub), "B": bytes.Clone(B.pub)}
	r := NewRegistry(in)
	// The registry holds copies.
	in["C"] = C.pub
	in["A"][1] ^= 0xff
	if _, ok := r.Lookup("C"); ok {
		t.Fatal("registry follows the map it was made from")
	}
	if k, _ := r.Lookup("A"); !bytes.Equal(k, A.pub) {
		t.Fatal("registry shares its keys with the caller")
	}
	snap := r.Snapshot()
	snap["B"][1] ^= 0xff
	delete(snap, "A")
	if k, ok := r.Lookup("B"); !ok || !bytes.Equal(k, B.pub) {
		t.Fatal("snapshot shares the registry's contents")
	}
	if _, ok := r.Lookup("A"); !ok {
		t.Fatal("deleting from a snapshot deleted from the registry")
	}

	steps := []struct {
		name    string
		nodes   map[string][]byte
		changed bool
	}{
		{"same nodes", map[string][]byte{"A": A.pub, "B": B.pub}, false},
		{"same nodes again, copied keys", map[string][]byte{"A": bytes.Clone(A.pub), "B": bytes.Clone(B.pub)}, false},
		{"node added", map[string][]byte{"A": A.pub, "B": B.pub, "C": C.pub}, true},
		{"node removed", map[string][]byte{"A": A.pub, "B": B.pub}, true},
		{"node replaced", map[string][]byte{"A": A.pub, "C": C.pub}, true},
		{"key changed", map[string][]byte{"A": A.pub, "C": B.pub}, true},
		{"emptied", nil, true},
		{"still empty", map[string][]byte{}, false},
	}
	for _, s := range steps {
		if got := r.Set(s.nodes); got != s.changed {
			t.Errorf("%s: Set reported changed=%v, want %v", s.name, got, s.changed)
		}
		if snap := r.Snapshot(); len(snap) != len(s.nodes) {
			t.Errorf("%s: registry holds %d nodes, want %d", s.name, len(snap), len(s.nodes))
		}
	}
}

func TestAdmitFollowsRegistry(t *testing.T) {
	A, B, C := newActor(t, "A"), newActor(t, "B"), newActor(t, "C")
	regA, regB := registryOf(A, B), registryOf(A, B)
	gA, gB := newGuard(t, A, regA), newGuard(t, B, regB)
	srv, cli := handshake(t, gB.Server, gA.Client)
	if srv.err != nil || cli.err != nil {
		t.Fatalf("handshake failed: server %v, client %v", srv.err, cli.err)
	}
	if err := gB.Admit(srv.peer); err != nil {
		t.Fatalf("admitted peer not admitted again: %v", err)
	}
	if changed := regB.Set(map[string][]byte{"B": B.pub, "C": C.pub}); !changed {
		t.Fatal("removing A reported no change")
	}
	if err := gB.Admit(srv.peer); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("A still admitted after its removal: %v", err)
	}
	// Listed again under another key (a node key rotation): the old
	// connection's peer does not hold it.
	regB.Set(map[string][]byte{"A": C.pub, "B": B.pub})
	if err := gB.Admit(srv.peer); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("A admitted under another key: %v", err)
	}
	regB.Set(map[string][]byte{"A": A.pub, "B": B.pub})
	if err := gB.Admit(srv.peer); err != nil {
		t.Fatalf("A not admitted after being listed again: %v", err)
	}
	// And a new handshake of A fails once A is removed.
	regB.Set(map[string][]byte{"B": B.pub})
	srv, cli = handshake(t, gB.Server, gA.Client)
	if !errors.Is(srv.err, ErrUnknownNode) {
		t.Fatalf("removed node's new handshake: %v", srv.err)
	}
	clientCannotTalk(t, cli)
}

func TestGuardRenewsAtHalfLife(t *testing.T) {
	A, B := newActor(t, "A"), newActor(t, "B")
	reg := registryOf(A, B)
	gA, gB := newGuard(t, A, reg), newGuard(t, B, reg)
	start := time.Now()
	clock := start
	gA.now = func() time.Time { return clock }
	gB.now = func() time.Time { return clock }

	first, err := gA.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if life := first.Leaf.NotAfter.Sub(first.Leaf.NotBefore); life > Lifetime+clockSkew || life < Lifetime {
		t.Fatalf("certificate valid for %v", life)
	}
	clock = first.Leaf.NotAfter.Add(-Lifetime/2 - time.Second)
	if c, _ := gA.certificate(); c != first {
		t.Fatalf("certificate renewed %v before half-life", first.Leaf.NotAfter.Add(-Lifetime/2).Sub(clock))
	}
	clock = first.Leaf.NotAfter.Add(-Lifetime/2 + time.Second)
	second, err := gA.certificate()
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("certificate not renewed after half-life")
	}
	if !second.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatalf("renewed certificate expires %v, the old one %v", second.Leaf.NotAfter, first.Leaf.NotAfter)
	}
	if bytes.Equal(second.Leaf.RawSubjectPublicKeyInfo, first.Leaf.RawSubjectPublicKeyInfo) {
		t.Error("renewed certificate reuses the TLS key")
	}
	if c, _ := gA.certificate(); c != second {
		t.Fatal("certificate renewed twice")
	}
	// Handshakes present the renewed certificate.
	srv, cli := handshake(t, gB.Server, gA.Client)
	if srv.err != nil || cli.err != nil {
		t.Fatalf("handshake with renewed certificate failed: server %v, client %v", srv.err, cli.err)
	}
	presented := srv.conn.(*tls.Conn).ConnectionState().PeerCertificates[0]
	if !bytes.Equal(presented.Raw, second.Leaf.Raw) {
		t.Fatal("client presented another certificate than its renewed one")
	}
	// Without renewal the first certificate would now be refused by a
	// peer a day later; the guard keeps working.
	clock = start.Add(Lifetime + time.Hour)
	if _, err := gB.Verify([]*x509.Certificate{first.Leaf}); !errors.Is(err, ErrExpired) {
		t.Fatalf("first certificate a day later: %v", err)
	}
	srv, cli = handshake(t, gB.Server, gA.Client)
	if srv.err != nil || cli.err != nil {
		t.Fatalf("handshake a day later failed: server %v, client %v", srv.err, cli.err)
	}
}

func BenchmarkHandshake(b *testing.B) {
	A, B := newActor(b, "A"), newActor(b, "B")
	reg := registryOf(A, B)
	gA, gB := newGuard(b, A, reg), newGuard(b, B, reg)
	b.ReportAllocs()
	for b.Loop() {
		c1, c2 := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, _, err := gB.Server(c2)
			done <- err
		}()
		if _, _, err := gA.Client(c1); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		c1.Close()
		c2.Close()
	}
}
