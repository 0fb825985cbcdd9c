package cocobackend

import (
	"context"
	"errors"
)

// ErrStopped is returned by a ledger that has been stopped.
var ErrStopped = errors.New("ledger stopped")

// ErrNotLeader is returned when an entry is proposed on a node that does not
// order entries.
var ErrNotLeader = errors.New("not the leader")

// FSM is the state machine a ledger drives. The Ethereum adapter implements
// it: each entry is an opaque, versioned, encoded block.
//
// Apply must be deterministic: the same entries in the same order give the
// same result on every node, without wall clock, map order or randomness.
// Apply is called for one entry at a time, in index order, each index once;
// it must persist the index together with the entry's effects, so that
// AppliedIndex after a crash names exactly the last entry whose effects are
// on disk. An error from Apply means the node can no longer follow the log
// (divergence or a failed disk); the ledger stops.
type FSM interface {
	Apply(index uint64, entry []byte) error
	AppliedIndex() uint64
}

// Ledger orders entries. Propose returns once the entry is committed and
// applied by the local FSM, with its index.
type Ledger interface {
	Propose(ctx context.Context, entry []byte) (uint64, error)
	IsLeader() bool
	Start() error
	Stop() error
}
