package cocobackend

import "time"

// SetForwardFrameTimeout shortens the per-frame deadline for a test and
// returns the function restoring it.
func SetForwardFrameTimeout(d time.Duration) (restore func()) {
	old := forwardFrameTimeout
	forwardFrameTimeout = d
	return func() { forwardFrameTimeout = old }
}
