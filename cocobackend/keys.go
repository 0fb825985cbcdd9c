package cocobackend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/ethereum/go-ethereum/log"
)

// LedgerKeys is what a cluster needs of its node's ledger secrets: the
// stores' keys, and an export for nodes that fetch them (package keyring).
type LedgerKeys interface {
	store.Keys
	Export() ([]byte, error)
}

// maxKeysFrame bounds the ledger secrets a node accepts from a peer.
const maxKeysFrame = 1 << 20

// keysTimeout bounds one exchange on the keys channel.
const keysTimeout = 10 * time.Second

// serveKeys answers every connection on the keys channel with the node's
// ledger secrets. The mux hands a connection to the channel only once its
// peer is authenticated and admitted (a validating node of the network,
// attested as the constitution requires); a mux without a guard serves
// nothing, as anyone could ask.
func serveKeys(m *Mux, keys LedgerKeys) {
	m.acceptEach(ChannelKeys, func(conn net.Conn) {
		p := PeerOf(conn) // nil without a guard: anyone could be asking
		if p == nil {
			return
		}
		conn.SetDeadline(time.Now().Add(keysTimeout))
		b, err := keys.Export()
		if err != nil {
			log.Error("Cannot export the ledger secrets", "err", err)
			return
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		if _, err := conn.Write(append(hdr[:], b...)); err != nil {
			return
		}
		log.Info("Sent the ledger secrets to a node", "peer", p.ID, "tee", teeLabel(p.TEE))
	})
}

// FetchKeys asks the node at addr for the network's ledger secrets over
// the authenticated channel (guard must not be nil: the secrets never
// travel over an unauthenticated one). It returns them as Export made
// them, and the node that sent them.
func FetchKeys(guard Guard, addr string) ([]byte, *AuthPeer, error) {
	if guard == nil {
		return nil, nil, errors.New("ledger secrets are only fetched over the authenticated node-to-node channel")
	}
	conn, p, err := dialChannel(TCPDialer{}, guard, ChannelKeys, addr, keysTimeout)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(keysTimeout))
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("node %s sent no ledger secrets: %w", addr, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxKeysFrame {
		return nil, nil, fmt.Errorf("node %s sent a ledger secrets frame of %d bytes", addr, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(conn, b); err != nil {
		return nil, nil, fmt.Errorf("node %s: %w", addr, err)
	}
	return b, p, nil
}
