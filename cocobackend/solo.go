package cocobackend

import (
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

// Propose implements Ledger: the entry is applied before Propose returns.
func (s *Solo) Propose(entry []byte) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return doneResult{err: ErrStopped}
	}
	if s.failed != nil {
		return doneResult{err: s.failed}
	}
	index := s.fsm.AppliedIndex() + 1
	if err := s.fsm.Apply(index, entry); err != nil {
		s.failed = err
		return doneResult{err: err}
	}
	return doneResult{index: index}
}
