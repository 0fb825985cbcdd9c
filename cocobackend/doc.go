// Package cocobackend is the Coco core below the Ethereum adapter: the
// replicated, ordered log of entries and the state machine interface it
// drives.
//
// The adapter (package eth) knows a Ledger; the ledger knows only opaque
// entries and an FSM. That seam is what makes the consensus engine
// replaceable. Solo is the ledger of a single validating node (VN); a Raft
// ledger replaces it in a cluster.
//
// States of a VN:
//
//	start ──► replay (FSM reports AppliedIndex) ──► serving
//	                                                 │
//	      Apply error (divergence, disk) ──► halted ◄┘
//
// A halted VN refuses every later proposal with the error that halted it; it
// never applies an entry twice nor skips one.
package cocobackend
