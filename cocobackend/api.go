package cocobackend

import (
	"errors"
	"fmt"
	"strconv"
)

// RaftAPI is the admin-only raft_ JSON-RPC namespace. It is not offered
// unless listed in --http.api / --ws.api.
type RaftAPI struct {
	l        *Raft
	applied  func() uint64
	governed bool
	admits   func(id string) bool
}

// NewRaftAPI serves l; applied reports the state machine's applied index.
// On a governed network membership follows the constitution only, and
// addPeer/removePeer are refused. admits, if not nil, says whether the
// node-to-node channel admits a node id: addPeer refuses other ids, which
// could never connect.
func NewRaftAPI(l *Raft, applied func() uint64, governed bool, admits func(id string) bool) *RaftAPI {
	return &RaftAPI{l: l, applied: applied, governed: governed, admits: admits}
}

var errGoverned = errors.New("membership of this network follows its constitution: propose the node change and vote")

// LeaderInfo names the current leader.
type LeaderInfo struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// Leader returns the current leader, or an error when there is none.
func (api *RaftAPI) Leader() (*LeaderInfo, error) {
	id, addr := api.l.Leader()
	if id == "" {
		return nil, errors.New("no leader")
	}
	return &LeaderInfo{ID: id, Address: addr}, nil
}

// Role returns this node's role: leader, follower, candidate, halted.
func (api *RaftAPI) Role() string { return api.l.Role() }

// ClusterInfo is the configuration and this node's view of its health.
type ClusterInfo struct {
	Self         string   `json:"self"`
	Role         string   `json:"role"`
	Servers      []Server `json:"servers"`
	AppliedIndex uint64   `json:"appliedIndex"`
	CommitIndex  uint64   `json:"commitIndex"`
	LastLogIndex uint64   `json:"lastLogIndex"`
	Term         uint64   `json:"term"`
	LastContact  string   `json:"lastContact"`
	Halted       string   `json:"halted,omitempty"`
}

// Cluster returns the members (ids, addresses, suffrage) and this node's
// applied index and health.
func (api *RaftAPI) Cluster() (*ClusterInfo, error) {
	servers, err := api.l.Servers()
	if err != nil {
		return nil, err
	}
	st := api.l.Stats()
	info := &ClusterInfo{
		Self: api.l.cfg.ID, Role: api.l.Role(), Servers: servers, AppliedIndex: api.applied(),
		CommitIndex: statUint(st, "commit_index"), LastLogIndex: statUint(st, "last_log_index"), Term: statUint(st, "term"),
		LastContact: st["last_contact"],
	}
	if err := api.l.Halted(); err != nil {
		info.Halted = err.Error()
	}
	return info, nil
}

// statUint reads a number of hashicorp/raft's Stats (0 if absent).
func statUint(st map[string]string, key string) uint64 {
	v, _ := strconv.ParseUint(st[key], 10, 64)
	return v
}

// Stats returns hashicorp/raft's counters.
func (api *RaftAPI) Stats() map[string]string { return api.l.Stats() }

// AddPeer adds a voting member (development aid until governance decides
// membership). Only the leader can.
func (api *RaftAPI) AddPeer(id, address string) (bool, error) {
	if api.governed {
		return false, errGoverned
	}
	if id == "" || address == "" {
		return false, errors.New("id and address are required")
	}
	if api.admits != nil && !api.admits(id) {
		return false, fmt.Errorf("node %q is not among the genesis validators: only their keys are admitted on the node-to-node channel of a network without governance", id)
	}
	if err := api.l.AddVoter(id, address); err != nil {
		return false, err
	}
	return true, nil
}

// RemovePeer removes a member (development aid). Only the leader can.
func (api *RaftAPI) RemovePeer(id string) (bool, error) {
	if api.governed {
		return false, errGoverned
	}
	if id == "" {
		return false, errors.New("id is required")
	}
	if err := api.l.RemoveServer(id); err != nil {
		return false, err
	}
	return true, nil
}
