package cocobackend

import "time"

// SetForwardFrameTimeout shortens the per-frame deadline for a test and
// returns the function restoring it.
func SetForwardFrameTimeout(d time.Duration) (restore func()) {
	old := forwardFrameTimeout
	forwardFrameTimeout = d
	return func() { forwardFrameTimeout = old }
}

// NewTestFSM is the package tests' in-memory state machine, for the
// external tests; Data lists the entries it applied.
func NewTestFSM() interface {
	FSM
	Data() []string
} {
	return testFSM{newFakeFSM()}
}

type testFSM struct{ *fakeFSM }

func (f testFSM) Data() []string { return f.data() }
