package testnode

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/hashicorp/raft"
)

// IntruderMode is how an intruder opens a node-to-node connection.
type IntruderMode int

// The ways an outsider can try the node-to-node port.
const (
	// Plain TCP, as every connection was before mutual TLS.
	Plain IntruderMode = iota
	// OwnKey: TLS with a certificate vouched for by the intruder's own
	// node key, claiming the node id Intruder.ClaimID.
	OwnKey
	// Replay: TLS presenting a certificate captured from a real node
	// (Intruder.Replay), with a key of the intruder's.
	Replay
)

func (m IntruderMode) String() string {
	switch m {
	case Plain:
		return "plain TCP"
	case OwnKey:
		return "TLS with its own node key"
	case Replay:
		return "TLS replaying another node's certificate"
	}
	return fmt.Sprintf("mode %d", int(m))
}

// Intruder opens node-to-node connections as someone who can reach the
// port but holds no listed node key.
type Intruder struct {
	Mode IntruderMode
	// Network is the genesis block hash (OwnKey binds its proof to it, as
	// a real node would).
	Network common.Hash
	// ClaimID is the node id an OwnKey intruder claims (a listed id, or
	// one no node has).
	ClaimID string
	// Key is the OwnKey intruder's node key (random if nil).
	Key *ecdsa.PrivateKey
	// Replay is the DER certificate a Replay intruder presents.
	Replay []byte
}

// CaptureCertificate connects to a node's node-to-node address as a TLS
// client and returns the certificate the node presents (it is sent before
// the node has seen the client's).
func CaptureCertificate(addr string) ([]byte, error) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	cert, err := selfSigned(priv)
	if err != nil {
		return nil, err
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
		MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{nodetls.ALPN},
		Certificates: []tls.Certificate{*cert},
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs[0].Raw, nil
}

// Dial opens a connection to channel ch of the node at addr. For TLS
// modes the handshake may "succeed" on the intruder's side even when the
// node refused it (TLS 1.3 clients finish first): the refusal shows on the
// first read.
func (in Intruder) Dial(addr string, ch byte) (net.Conn, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn := raw
	if in.Mode != Plain {
		cert, err := in.certificate()
		if err != nil {
			raw.Close()
			return nil, err
		}
		tc := tls.Client(raw, &tls.Config{
			MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{nodetls.ALPN},
			Certificates: []tls.Certificate{*cert},
		})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if err := tc.Handshake(); err != nil {
			raw.Close()
			return nil, err
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	if _, err := conn.Write([]byte{ch}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (in Intruder) certificate() (*tls.Certificate, error) {
	switch in.Mode {
	case OwnKey:
		key := in.Key
		if key == nil {
			var err error
			if key, err = ecdsaKey(); err != nil {
				return nil, err
			}
		}
		return nodetls.Identity{ID: in.ClaimID, Key: key, Network: in.Network}.Certificate(time.Now())
	case Replay:
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		return &tls.Certificate{Certificate: [][]byte{in.Replay}, PrivateKey: priv}, nil
	}
	return nil, fmt.Errorf("no certificate in %v", in.Mode)
}

// Refused reports whether the node closed conn without answering: a read
// fails (end of stream, reset or TLS alert) within the timeout. It
// returns an error when the node answered bytes or kept the connection
// open.
func Refused(conn net.Conn, timeout time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(timeout))
	var b [1]byte
	n, err := conn.Read(b[:])
	if n > 0 {
		return fmt.Errorf("node answered %d bytes", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("connection still open after %v", timeout)
	}
	return nil
}

// ForwardFrame frames items as the forwarding channel carries them.
func ForwardFrame(items ...[]byte) []byte {
	size := 0
	for _, it := range items {
		size += 4 + len(it)
	}
	out := make([]byte, 8, 8+size)
	binary.BigEndian.PutUint32(out[:4], uint32(size))
	binary.BigEndian.PutUint32(out[4:], uint32(len(items)))
	for _, it := range items {
		out = binary.BigEndian.AppendUint32(out, uint32(len(it)))
		out = append(out, it...)
	}
	return out
}

// ForgedForward is a forwarded item claiming that tx was sent by from.
func ForgedForward(tx *types.Transaction, from common.Address) []byte {
	raw, err := tx.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return append(raw, from.Bytes()...)
}

// RaftTransport returns a hashicorp/raft transport whose connections the
// intruder opens: its AppendEntries, RequestVote and the like are what an
// outsider can send. Closed with the returned transport's Close.
func (in Intruder) RaftTransport() *raft.NetworkTransport {
	return raft.NewNetworkTransport(&intruderStream{in: in, done: make(chan struct{})}, 1, 5*time.Second, io.Discard)
}

type intruderStream struct {
	in   Intruder
	done chan struct{}
	once sync.Once
}

func (s *intruderStream) Dial(addr raft.ServerAddress, _ time.Duration) (net.Conn, error) {
	return s.in.Dial(string(addr), cocobackend.ChannelRaft)
}

// The intruder only dials: Accept waits for Close.
func (s *intruderStream) Accept() (net.Conn, error) {
	<-s.done
	return nil, net.ErrClosed
}

func (s *intruderStream) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

func (s *intruderStream) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func ecdsaKey() (*ecdsa.PrivateKey, error) { return crypto.GenerateKey() }

// selfSigned is a bare certificate for priv, of no node.
func selfSigned(priv ed25519.PrivateKey) (*tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}
