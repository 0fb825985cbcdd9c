package nodetls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// ExtensionOID names the certificate extension carrying the node key's
// proof (a private arc under 2.25).
var ExtensionOID = asn1.ObjectIdentifier{2, 25, 1039812020, 1}

// ALPN is the application protocol both sides announce.
const ALPN = "cocogeth-node/1"

// Lifetime is how long a certificate is valid; a node renews its own at
// half-life, and a peer refuses certificates valid for longer (plus the
// clock skew allowance).
const (
	Lifetime  = 24 * time.Hour
	clockSkew = 10 * time.Minute
)

const proofDomain = "cocogeth node certificate v1"

// Errors of Verify; each names why a peer was refused.
var (
	ErrNoCertificate = errors.New("no certificate presented")
	ErrBadCert       = errors.New("malformed certificate")
	ErrExpired       = errors.New("certificate expired or not yet valid")
	ErrLifetime      = errors.New("certificate lifetime longer than allowed")
	ErrNoProof       = errors.New("certificate carries no node key proof")
	ErrUnknownNode   = errors.New("node id is not a validating node of this network")
	ErrWrongKey      = errors.New("certificate is not signed by the node key listed for its id")
)

// proof is the extension's content.
type proof struct {
	Version  uint
	ID       string
	NotAfter uint64
	Sig      []byte // 65-byte secp256k1 signature [R || S || V]
}

// Identity is this node's credential: its id, its node key and the
// network (genesis block hash) it belongs to.
type Identity struct {
	ID      string
	Key     *ecdsa.PrivateKey
	Network common.Hash
	// TEE, if set, attests every certificate's key (AttestationOID).
	TEE tee.TEE
}

func proofDigest(network common.Hash, id string, spki []byte, notAfter uint64) []byte {
	enc, _ := rlp.EncodeToBytes([]any{proofDomain, network, id, spki, notAfter})
	return crypto.Keccak256(enc)
}

// Certificate makes a TLS certificate for a fresh Ed25519 key, valid from
// now-clockSkew for Lifetime, carrying the node key's proof.
func (id Identity) Certificate(now time.Time) (*tls.Certificate, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	notBefore := now.Add(-clockSkew).Truncate(time.Second)
	notAfter := now.Add(Lifetime).Truncate(time.Second)
	sig, err := crypto.Sign(proofDigest(id.Network, id.ID, spki, uint64(notAfter.Unix())), id.Key)
	if err != nil {
		return nil, err
	}
	ext, err := rlp.EncodeToBytes(&proof{Version: 1, ID: id.ID, NotAfter: uint64(notAfter.Unix()), Sig: sig})
	if err != nil {
		return nil, err
	}
	exts := []pkix.Extension{{Id: ExtensionOID, Value: ext}}
	if id.TEE != nil {
		att, err := attestationExtension(id.TEE, spki)
		if err != nil {
			return nil, err
		}
		exts = append(exts, pkix.Extension{Id: AttestationOID, Value: att})
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: "cocogeth node " + id.ID},
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// Registry is the set of admitted nodes: node id → uncompressed public
// key (65 bytes). It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	nodes  map[string][]byte
	policy Attestation
}

// SetAttestation replaces what the registry requires of peers' TEEs; it
// reports whether anything changed.
func (r *Registry) SetAttestation(a Attestation) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if equalAttestation(r.policy, a) {
		return false
	}
	r.policy = a
	return true
}

// Attestation is what the registry requires of peers' TEEs.
func (r *Registry) Attestation() Attestation {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.policy
}

// NewRegistry returns a registry holding nodes.
func NewRegistry(nodes map[string][]byte) *Registry {
	r := &Registry{}
	r.Set(nodes)
	return r
}

// Set replaces the admitted nodes; it reports whether anything changed.
func (r *Registry) Set(nodes map[string][]byte) bool {
	cp := make(map[string][]byte, len(nodes))
	for id, k := range nodes {
		cp[id] = bytes.Clone(k)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := len(cp) != len(r.nodes)
	for id, k := range cp {
		if !bytes.Equal(r.nodes[id], k) {
			changed = true
		}
	}
	r.nodes = cp
	return changed
}

// Lookup returns the key listed for id.
func (r *Registry) Lookup(id string) ([]byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.nodes[id]
	return k, ok
}

// Snapshot returns a copy of the admitted nodes.
func (r *Registry) Snapshot() map[string][]byte {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string][]byte, len(r.nodes))
	for id, k := range r.nodes {
		out[id] = bytes.Clone(k)
	}
	return out
}

// Guard is the mux's authenticator (cocobackend.Guard): mutual TLS with
// certificates derived from the node key, peers checked against a
// Registry.
type Guard struct {
	self Identity
	reg  *Registry
	now  func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

var _ cocobackend.NodeGuard = (*Guard)(nil)

// NewGuard authenticates as self and admits the nodes of reg.
func NewGuard(self Identity, reg *Registry) (*Guard, error) {
	if self.ID == "" || self.Key == nil {
		return nil, errors.New("nodetls: identity needs an id and a node key")
	}
	g := &Guard{self: self, reg: reg, now: time.Now}
	if _, err := g.certificate(); err != nil {
		return nil, err
	}
	return g, nil
}

// certificate returns the current certificate, renewed at half-life.
func (g *Guard) certificate() (*tls.Certificate, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.cert == nil || now.After(g.cert.Leaf.NotAfter.Add(-Lifetime/2)) {
		c, err := g.self.Certificate(now)
		if err != nil {
			return nil, err
		}
		g.cert = c
	}
	return g.cert, nil
}

// config is the TLS configuration of one handshake; the peer that
// VerifyConnection admitted is stored in *peer, so its certificate is
// checked once.
func (g *Guard) config(peer **cocobackend.AuthPeer) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		NextProtos: []string{ALPN},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return g.certificate()
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return g.certificate()
		},
		ClientAuth: tls.RequireAnyClientCert,
		// Peers are not named by a CA but by the node key proof, which
		// VerifyConnection checks on both sides.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			p, err := g.Verify(cs.PeerCertificates)
			*peer = p
			return err
		},
	}
}

// Server authenticates an accepted connection.
func (g *Guard) Server(conn net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
	var p *cocobackend.AuthPeer
	return g.handshake(tls.Server(conn, g.config(&p)), &p)
}

// Client authenticates a dialed connection.
func (g *Guard) Client(conn net.Conn) (net.Conn, *cocobackend.AuthPeer, error) {
	var p *cocobackend.AuthPeer
	return g.handshake(tls.Client(conn, g.config(&p)), &p)
}

func (g *Guard) handshake(tc *tls.Conn, peer **cocobackend.AuthPeer) (net.Conn, *cocobackend.AuthPeer, error) {
	if err := tc.Handshake(); err != nil {
		return nil, nil, err
	}
	if proto := tc.ConnectionState().NegotiatedProtocol; proto != ALPN {
		return nil, nil, fmt.Errorf("peer speaks %q, not %q", proto, ALPN)
	}
	if *peer == nil {
		return nil, nil, ErrNoCertificate // VerifyConnection always runs; never here
	}
	return tc, *peer, nil
}

// SetAdmitted replaces the admitted nodes (id → 65-byte uncompressed
// public key, governance.NormaliseNodeKey's form; a key in another form
// matches no peer); it reports whether anything changed.
func (g *Guard) SetAdmitted(nodes map[string][]byte) bool {
	return g.reg.Set(nodes)
}

// SetAttestation replaces what peers' TEEs must prove; connected peers
// are re-checked by the mux (Admit).
func (g *Guard) SetAttestation(a Attestation) bool { return g.reg.SetAttestation(a) }

// Admits reports whether id is an admitted node.
func (g *Guard) Admits(id string) bool {
	_, ok := g.reg.Lookup(id)
	return ok
}

// Admit re-checks a connected peer against the registry's current
// contents.
func (g *Guard) Admit(p *cocobackend.AuthPeer) error {
	k, ok := g.reg.Lookup(p.ID)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNode, p.ID)
	}
	if !bytes.Equal(k, p.Key) {
		return fmt.Errorf("%w: %q", ErrWrongKey, p.ID)
	}
	if pol := g.reg.Attestation(); pol.Required {
		if p.TEE == "" {
			return fmt.Errorf("%w: %q connected before attestation was required", ErrNoAttestation, p.ID)
		}
		return admits(pol, p.ID, p.TEE, p.Code)
	}
	return nil
}

// Verify checks a peer's certificate chain (only the leaf counts) and
// returns the node it proves.
func (g *Guard) Verify(certs []*x509.Certificate) (*cocobackend.AuthPeer, error) {
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return verifyLeaf(certs[0], g.self.Network, g.reg, g.now())
}

func verifyLeaf(leaf *x509.Certificate, network common.Hash, reg *Registry, now time.Time) (*cocobackend.AuthPeer, error) {
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w (valid %s to %s)", ErrExpired, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) > Lifetime+clockSkew {
		return nil, ErrLifetime
	}
	var raw []byte
	for _, e := range leaf.Extensions {
		if e.Id.Equal(ExtensionOID) {
			raw = e.Value
		}
	}
	if raw == nil {
		return nil, ErrNoProof
	}
	var pr proof
	if err := rlp.DecodeBytes(raw, &pr); err != nil {
		return nil, fmt.Errorf("%w: proof: %v", ErrBadCert, err)
	}
	if pr.Version != 1 || len(pr.Sig) != crypto.SignatureLength || pr.NotAfter != uint64(leaf.NotAfter.Unix()) {
		return nil, fmt.Errorf("%w: proof version %d, %d-byte signature, expiry %d against %d", ErrBadCert, pr.Version, len(pr.Sig), pr.NotAfter, leaf.NotAfter.Unix())
	}
	listed, ok := reg.Lookup(pr.ID)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNode, pr.ID)
	}
	pub, err := crypto.Ecrecover(proofDigest(network, pr.ID, leaf.RawSubjectPublicKeyInfo, pr.NotAfter), pr.Sig)
	if err != nil || !bytes.Equal(pub, listed) {
		return nil, fmt.Errorf("%w: %q", ErrWrongKey, pr.ID)
	}
	p := &cocobackend.AuthPeer{ID: pr.ID, Key: pub}
	if err := verifyAttestation(leaf, p, reg.Attestation()); err != nil {
		return nil, fmt.Errorf("node %q: %w", pr.ID, err)
	}
	return p, nil
}
