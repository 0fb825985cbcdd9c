package eth

import (
	"bytes"
	"errors"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/log"
)

// Forwarding: a follower keeps every transaction it admits in its own pool
// and sends it to the leader (cocobackend.Forwarding carries the items);
// the leader admits what it receives (handleForwarded). The follower
// forwards again what waits too long (the frame may have died with a
// connection or a leader) and its whole pool when another node becomes
// leader; the leader ignores duplicates. This file owns the item format,
// the trust in a forwarded sender and the resend policy.
//
// An item is the raw transaction followed by the 20-byte sender the
// forwarding node recovered. The sender is trusted only from an
// authenticated node that the network lists (trusted), so each signature is
// checked once in the network; otherwise it is checked again.

// resendPeriod is how long a follower waits for a forwarded transaction to
// be included before forwarding it again.
const resendPeriod = 3 * time.Second

func forwardItem(tx *types.Transaction, signer types.Signer) []byte {
	raw, _ := tx.MarshalBinary()
	from, _ := types.Sender(signer, tx) // cached by admission
	return append(raw, from.Bytes()...)
}

// forwardTx sends a transaction this follower admitted to the leader.
func (s *Service) forwardTx(tx *types.Transaction) {
	if s.forwarding != nil && !s.ledger.IsLeader() {
		s.forwarding.Forward(forwardItem(tx, s.pool.Signer()))
	}
}

// handleForwarded is the cocobackend.ForwardHandler of the service: frames
// from an authenticated node the network lists carry trusted senders.
func (s *Service) handleForwarded(from *cocobackend.AuthPeer, items [][]byte) {
	s.AddForwarded(items, s.trusts(from))
}

// trusts reports whether forwards from a node carry trusted senders: it
// must be authenticated (nil in plaintext mode) and listed with its key.
func (s *Service) trusts(from *cocobackend.AuthPeer) bool {
	if from == nil {
		return false
	}
	nodes := s.trusted.Load()
	return nodes != nil && bytes.Equal((*nodes)[from.ID], from.Key)
}

// AddForwarded admits transactions forwarded by another validating node.
// authenticated says the items came over an authenticated channel from a
// node the network lists: only then is the claimed sender trusted.
// Otherwise the signature is checked here and an item whose claimed
// sender differs is dropped.
func (s *Service) AddForwarded(items [][]byte, authenticated bool) {
	signer := s.pool.Signer()
	for _, item := range items {
		if len(item) <= common.AddressLength {
			continue
		}
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(item[:len(item)-common.AddressLength]); err != nil {
			log.Warn("Dropped malformed forwarded transaction", "err", err)
			continue
		}
		claimed := common.BytesToAddress(item[len(item)-common.AddressLength:])
		if authenticated {
			trustSender(signer, tx, claimed)
		} else if from, err := types.Sender(signer, tx); err != nil || from != claimed {
			log.Warn("Dropped forwarded transaction whose signature does not match its sender", "hash", tx.Hash(), "claimed", claimed, "err", err)
			continue
		}
		if err := s.pool.Add(tx); err != nil && !errors.Is(err, txpool.ErrAlreadyKnown) {
			log.Debug("Forwarded transaction refused", "hash", tx.Hash(), "err", err)
		}
	}
}

// resendLoop forwards again what waits too long, and the whole pool when
// another node becomes leader. It runs on a ledger with Forwarding only.
func (s *Service) resendLoop() {
	defer s.wg.Done()
	t := time.NewTicker(resendPeriod)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-s.forwarding.NewLeader():
			s.ResendPool()
		case <-t.C:
			if s.ledger.IsLeader() {
				continue
			}
			txs := s.pool.DueForResend(resendPeriod)
			for _, tx := range txs {
				s.forwardTx(tx)
			}
			if len(txs) > 0 {
				log.Debug("Forwarded waiting transactions again", "count", len(txs))
			}
		}
	}
}

// ResendPool forwards every pooled transaction again, after the leader
// changed: the old leader may have died with them.
func (s *Service) ResendPool() {
	if s.forwarding == nil || s.ledger.IsLeader() {
		return
	}
	pending, queued := s.pool.Content()
	n := 0
	for _, m := range []map[common.Address][]*types.Transaction{pending, queued} {
		for _, txs := range m {
			for _, tx := range txs {
				s.forwardTx(tx)
				n++
			}
		}
	}
	if n > 0 {
		log.Info("Forwarded pooled transactions to the new leader", "count", n)
	}
}
