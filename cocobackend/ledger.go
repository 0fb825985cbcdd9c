package cocobackend

import (
	"errors"
	"io"
)

// ErrStopped is returned by a ledger that has been stopped.
var ErrStopped = errors.New("ledger stopped")

// FSM is the state machine a ledger drives. The Ethereum adapter implements
// it: each entry is an opaque, versioned, encoded block.
//
// Apply must be deterministic: the same entries in the same order give the
// same result on every node, without wall clock, map order or randomness.
// Apply is called for one entry at a time, in index order; indexes at or
// below AppliedIndex are already applied and must be ignored. Apply must
// persist the index together with the entry's effects, so that AppliedIndex
// after a crash names exactly the last entry whose effects are on disk. An
// error from Apply means the node can no longer follow the log (divergence
// or a failed disk); the ledger halts.
//
// Snapshot captures the state at AppliedIndex for a follower too far behind
// the log; it must return quickly (Persist does the I/O, concurrently with
// later Applies). Restore replaces the whole state with a snapshot; the Raft
// ledger calls it only for a snapshot newer than AppliedIndex (raft offers
// its latest snapshot at every start).
type FSM interface {
	Apply(index uint64, entry []byte) error
	AppliedIndex() uint64
	Snapshot() (FSMSnapshot, error)
	Restore(r io.Reader) error
}

// FSMSnapshot is a point-in-time copy of an FSM's state.
type FSMSnapshot interface {
	Persist(w io.Writer) error
	Release()
}

// Result is the outcome of a proposal.
type Result interface {
	// Wait blocks until the entry is committed and applied locally, or
	// failed, and returns its index.
	Wait() (uint64, error)
}

// Ledger orders entries. Entries proposed from one goroutine keep their
// order. IsLeader is true only on the node that may propose, once it has
// applied every entry of earlier terms.
type Ledger interface {
	Propose(entry []byte) Result
	IsLeader() bool
	Start() error
	Stop() error
}

// Capabilities a ledger may offer beyond Ledger. The Ethereum adapter
// checks them by name, so a wrapper of a ledger keeps them by embedding it.
type (
	// DurableLog is a ledger whose log is synced before an entry is
	// applied: the state machine need not sync each entry itself.
	DurableLog interface {
		DurableLog() bool
	}
	// LeadershipNotifier signals every change of IsLeader.
	LeadershipNotifier interface {
		LeadershipChanges() <-chan struct{}
	}
	// Accepting says whether the node may take transactions now (not once
	// halted or removed from the cluster).
	Accepting interface {
		Accepting() error
	}
)

var (
	_ DurableLog         = (*Raft)(nil)
	_ LeadershipNotifier = (*Raft)(nil)
	_ Accepting          = (*Raft)(nil)
	_ NodeChannel        = (*Raft)(nil)
)

type doneResult struct {
	index uint64
	err   error
}

func (r doneResult) Wait() (uint64, error) { return r.index, r.err }
