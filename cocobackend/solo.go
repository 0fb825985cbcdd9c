package cocobackend

import (
	"context"
	"sync"
)

// Solo is the ledger of a network of one validating node: it orders entries
// by arrival and applies each at once. Durability is the FSM's, which writes
// the entry's effects and its index in one synced batch before Propose
// returns.
type Solo struct {
	mu      sync.Mutex
	fsm     FSM
	stopped bool
	failed  error
}

// NewSolo returns a single-node ledger driving fsm.
func NewSolo(fsm FSM) *Solo { return &Solo{fsm: fsm} }

// Start implements Ledger.
func (s *Solo) Start() error { return nil }

// Stop implements Ledger; later proposals fail with ErrStopped.
func (s *Solo) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return nil
}

// IsLeader implements Ledger: a single node always orders.
func (s *Solo) IsLeader() bool { return true }

// Propose implements Ledger.
func (s *Solo) Propose(ctx context.Context, entry []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return 0, ErrStopped
	}
	if s.failed != nil {
		return 0, s.failed
	}
	index := s.fsm.AppliedIndex() + 1
	if err := s.fsm.Apply(index, entry); err != nil {
		s.failed = err
		return 0, err
	}
	return index, nil
}
