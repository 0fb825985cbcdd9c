package cocobackend

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/log"
)

// ChannelStatus carries one node's status to a peer that asks (the
// dashboard's view of the network). Like every channel it is open only to
// authenticated, admitted nodes when the mux has a guard.
const ChannelStatus byte = 'S'

const (
	// statusTimeout bounds one status exchange with a peer.
	statusTimeout = 2 * time.Second
	// statusMaxBytes bounds a status a peer sends.
	statusMaxBytes = 16 << 10
	// statusCacheFor is how long a network view is reused: any number of
	// dashboards polling cost the peers one exchange per period.
	statusCacheFor = 500 * time.Millisecond
)

// NodeStatus is one validating node as the network view shows it. The
// node reports its Raft state itself; its TEE kind and code identity are
// what its attestation on the authenticated channel proved, never what it
// claims.
type NodeStatus struct {
	wireStatus
	Address   string `json:"address"`
	Self      bool   `json:"self"`
	Reachable bool   `json:"reachable"`
	// Error says why the node could not be asked (unreachable, refused).
	Error string `json:"error,omitempty"`
	// Lag is how many entries its applied index is behind the highest
	// applied index of the view.
	Lag uint64 `json:"lag"`
	// TEE is the attested TEE kind ("simulation" is no enclave at all),
	// "unattested" when the channel proves none.
	TEE      string        `json:"tee"`
	Code     hexutil.Bytes `json:"code,omitempty"`
	LastSeen time.Time     `json:"lastSeen"`
}

// wireStatus is what a node sends of itself on ChannelStatus: its Raft
// state as it sees it.
type wireStatus struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"appliedIndex"`
	CommitIndex  uint64 `json:"commitIndex"`
	LastLogIndex uint64 `json:"lastLogIndex"`
	Halted       string `json:"halted,omitempty"`
}

// SelfAttestation is what this node's own TEE proves of it, for its own
// line of the network view.
type SelfAttestation struct {
	TEE  string
	Code common.Hash
}

// ownStatus is this node's status as it sends it.
func (c *Cluster) ownStatus() wireStatus {
	st := c.Raft.Stats()
	leader, _ := c.Raft.Leader()
	w := wireStatus{
		ID: c.cfg.Self.ID, Role: c.Raft.Role(), Leader: leader, Term: statUint(st, "term"),
		AppliedIndex: c.fsm.AppliedIndex(), CommitIndex: statUint(st, "commit_index"), LastLogIndex: statUint(st, "last_log_index"),
	}
	if err := c.Raft.Halted(); err != nil {
		w.Halted = err.Error()
	}
	return w
}

// serveStatus answers every connection on the status channel with this
// node's status.
func (c *Cluster) serveStatus() {
	c.mux.acceptEach(ChannelStatus, func(conn net.Conn) {
		conn.SetDeadline(time.Now().Add(statusTimeout))
		b, err := json.Marshal(c.ownStatus())
		if err != nil {
			return
		}
		conn.Write(b)
	})
}

// askStatus asks the node at addr for its status, all of it (dial,
// handshake, answer) before deadline.
func (c *Cluster) askStatus(deadline time.Time, addr string) (wireStatus, *AuthPeer, error) {
	var w wireStatus
	conn, p, err := dialChannel(c.mux.dialer, c.mux.guard, ChannelStatus, addr, time.Until(deadline))
	if err != nil {
		return w, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	b, err := io.ReadAll(io.LimitReader(conn, statusMaxBytes+1))
	if err != nil {
		return w, nil, err
	}
	if len(b) > statusMaxBytes {
		return w, nil, errors.New("status too large")
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return w, nil, errors.New("malformed status")
	}
	return w, p, nil
}

// statusCache keeps the last network view for statusCacheFor.
type statusCache struct {
	mu    sync.Mutex
	at    time.Time
	nodes []NodeStatus
}

// Network returns every server of the Raft configuration with its status:
// this node's own, and each peer's as it answers on the status channel
// (in parallel, each within statusTimeout). A peer that cannot be asked is
// listed unreachable with the reason. One round runs at a time and its
// view serves every caller for statusCacheFor.
func (c *Cluster) Network(ctx context.Context) ([]NodeStatus, error) {
	c.status.mu.Lock()
	defer c.status.mu.Unlock()
	if time.Since(c.status.at) < statusCacheFor && c.status.nodes != nil {
		return cloneStatus(c.status.nodes), nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err // waited for another round past its own deadline
	}
	select {
	case <-c.quit:
		return nil, ErrStopped
	default:
	}
	deadline := time.Now().Add(statusTimeout)
	servers, err := c.Raft.Servers()
	if err != nil {
		return nil, err
	}
	out := make([]NodeStatus, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		out[i] = NodeStatus{wireStatus: wireStatus{ID: s.ID, Role: "unknown"}, Address: s.Address}
		if s.ID == c.cfg.Self.ID {
			out[i].Self = true
			out[i].fill(c.ownStatus(), time.Now())
			out[i].TEE, out[i].Code = c.selfTEE()
			continue
		}
		wg.Add(1)
		go func(n *NodeStatus) {
			defer wg.Done()
			w, p, err := c.askStatus(deadline, n.Address)
			if err != nil {
				n.Error = err.Error()
				log.Debug("Node status unavailable", "id", n.ID, "err", err)
				return
			}
			// The line is the node's only if the node at that address
			// proved to be it (plaintext: says so).
			if p != nil && p.ID != n.ID {
				n.Error = "the node at this address authenticated as node " + p.ID
				return
			}
			if w.ID != n.ID {
				n.Error = "answered as node " + w.ID
				return
			}
			n.fill(w, time.Now())
			n.TEE = "unattested"
			if p != nil && p.TEE != "" {
				n.TEE = p.TEE
				n.Code = p.Code[:]
			}
		}(&out[i])
	}
	wg.Wait()
	var top uint64
	for _, n := range out {
		if n.Reachable && n.AppliedIndex > top {
			top = n.AppliedIndex
		}
	}
	for i := range out {
		if out[i].Reachable {
			out[i].Lag = top - out[i].AppliedIndex
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	c.status.at, c.status.nodes = time.Now(), out
	return cloneStatus(out), nil
}

func (n *NodeStatus) fill(w wireStatus, at time.Time) {
	n.wireStatus, n.Reachable, n.LastSeen = w, true, at.UTC()
}

func (c *Cluster) selfTEE() (string, hexutil.Bytes) {
	a := c.cfg.SelfAttestation
	if a.TEE == "" {
		return "unattested", nil
	}
	return a.TEE, a.Code[:]
}

func cloneStatus(in []NodeStatus) []NodeStatus { return append([]NodeStatus(nil), in...) }

// NetworkAPI is coco_network: the validating nodes and their health, for
// the dashboard and for tools.
type NetworkAPI struct {
	view func(context.Context) ([]NodeStatus, error)
}

// NewNetworkAPI serves view.
func NewNetworkAPI(view func(context.Context) ([]NodeStatus, error)) *NetworkAPI {
	return &NetworkAPI{view: view}
}

// Network returns every validating node with its id, address, Raft role,
// leader, applied index and lag behind the most advanced node, health and
// attested TEE kind and code identity.
func (api *NetworkAPI) Network(ctx context.Context) ([]NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*statusTimeout)
	defer cancel()
	return api.view(ctx)
}

// SoloNetwork is the network view of a single validating node.
func SoloNetwork(id string, applied func() uint64, self SelfAttestation) func(context.Context) ([]NodeStatus, error) {
	return func(context.Context) ([]NodeStatus, error) {
		i := applied()
		n := NodeStatus{Self: true, TEE: "unattested"}
		n.fill(wireStatus{ID: id, Role: "leader", Leader: id, AppliedIndex: i, CommitIndex: i, LastLogIndex: i}, time.Now())
		if self.TEE != "" {
			n.TEE, n.Code = self.TEE, self.Code[:]
		}
		return []NodeStatus{n}, nil
	}
}
