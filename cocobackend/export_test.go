package cocobackend

import (
	"time"

	"github.com/hashicorp/raft"
)

// SetForwardFrameTimeout shortens the per-frame deadline for a test and
// returns the function restoring it.
func SetForwardFrameTimeout(d time.Duration) (restore func()) {
	old := forwardFrameTimeout.Swap(int64(d))
	return func() { forwardFrameTimeout.Store(old) }
}

// RaftNode is the hashicorp/raft node of a started cluster node, for the
// external tests.
func (c *Cluster) RaftNode() *raft.Raft { return c.Raft.r }

// LogStore is the cluster node's Raft log.
func (c *Cluster) LogStore() raft.LogStore { return c.store }

// Snapshots is the cluster node's Raft snapshot store.
func (c *Cluster) Snapshots() raft.SnapshotStore { return c.Raft.snaps }

// ServeKeys serves keys on the mux's keys channel until it closes.
func ServeKeys(m *Mux, keys LedgerKeys) { serveKeys(m, keys) }
