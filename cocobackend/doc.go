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
//
// # A cluster node
//
// NewCluster builds a validating node of a Raft cluster from a
// ClusterConfig: it owns the listener, the mux, the Raft log, stable and
// snapshot stores, the transport, the Raft ledger and the forwarder, and
// Stop closes every one of them. Beyond Ledger it offers named capabilities
// (Forwarding, Admission, Membership, and Raft's DurableLog,
// LeadershipNotifier, Accepting, NodeChannel), each checked at compile
// time; a wrapper that embeds it keeps them.
//
// The node-to-node port is TCP. ClusterConfig.Network, when set, replaces
// it with another Network (a listener and a dialer): the tests run whole
// clusters built by NewCluster over an in-memory network (internal/memnet,
// driven by internal/clustertest) that can partition a node or refuse
// dials to a stopped one, while every other part (mux, guard, transport,
// stores, forwarder) is the production one.
//
// # Node-to-node channels
//
// One listener (Mux) carries every node-to-node connection; the first byte
// a dialer sends names the channel (Raft, forwarding or keys). The mux's Guard is
// the single place where peers are authenticated, on the listener and on
// the dialer alike (package nodetls: mutual TLS proving the node key).
// With a guard, no byte of a connection reaches a channel before the peer
// is admitted, PeerOf names the peer of every connection handed out, and
// Recheck cuts the connections of peers no longer admitted. Without one
// (plaintext mode, INSECURE) nothing about a peer is known: a
// ForwardHandler then gets from == nil and must not trust what the frame
// claims.
//
// The keys channel hands the node's ledger secrets (ClusterConfig.Keys) to
// any admitted node that asks: a node fetches them at its first start
// (FetchKeys) before it can open its encrypted stores. It is served only
// when the mux has a guard. ClusterConfig.Keys also encrypts the Raft log,
// stable store and snapshots (package store).
package cocobackend
