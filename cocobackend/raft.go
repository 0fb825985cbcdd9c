package cocobackend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/log"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// ErrHalted is returned by a ledger whose state machine failed.
var ErrHalted = errors.New("ledger halted")

// Peer is a voting member of the initial cluster.
type Peer struct {
	ID   string
	Addr string
}

// RaftConfig configures a Raft ledger.
type RaftConfig struct {
	ID    string // this node's server id
	Addr  string // this node's advertised node-to-node address
	Peers []Peer // voters of the first start (bootstrap); ignored later
	// Channel says how the node-to-node transport is secured, for
	// operators (coco_nodeInfo): "mutual TLS" or "INSECURE plain TCP".
	Channel string

	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	LeaderLease       time.Duration
	CommitTimeout     time.Duration
	ApplyTimeout      time.Duration // how long a proposal may wait to be enqueued
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64 // entries between snapshots
	TrailingLogs      uint64 // entries kept after a snapshot
}

// DefaultRaftConfig returns timeouts chosen on a loaded two-core machine:
// a 500 ms lease flapped leadership under load; 800 ms heartbeat, election
// and lease hold, and a new leader follows a dead one within ~1–2.5 s
// (a follower notices after 1–2 heartbeat timeouts, then votes).
func DefaultRaftConfig() RaftConfig {
	return RaftConfig{
		HeartbeatTimeout:  800 * time.Millisecond,
		ElectionTimeout:   800 * time.Millisecond,
		LeaderLease:       800 * time.Millisecond,
		CommitTimeout:     5 * time.Millisecond,
		ApplyTimeout:      10 * time.Second,
		SnapshotInterval:  2 * time.Minute,
		SnapshotThreshold: 16384,
		TrailingLogs:      10240,
	}
}

// Validate checks the configuration.
func (c *RaftConfig) Validate() error {
	if c.ID == "" {
		return errors.New("raft: node id is empty")
	}
	if c.Addr == "" {
		return errors.New("raft: node address is empty")
	}
	if c.HeartbeatTimeout <= 0 || c.ElectionTimeout <= 0 || c.LeaderLease <= 0 || c.CommitTimeout <= 0 {
		return errors.New("raft: timeouts must be positive")
	}
	if c.LeaderLease > c.HeartbeatTimeout {
		return errors.New("raft: leader lease must not exceed the heartbeat timeout")
	}
	seen := map[string]bool{}
	for _, p := range c.Peers {
		if p.ID == "" || p.Addr == "" {
			return fmt.Errorf("raft: peer %q has an empty id or address", p.ID)
		}
		if seen[p.ID] {
			return fmt.Errorf("raft: duplicate peer id %q", p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// NodeChannel is the capability of a ledger whose nodes talk over a
// node-to-node channel: it says how that channel is secured.
type NodeChannel interface {
	NodeChannel() string
}

// NodeChannel implements NodeChannel.
func (l *Raft) NodeChannel() string { return l.cfg.Channel }

// Raft is the ledger of a cluster: hashicorp/raft orders entries, each of
// which carries a whole block.
type Raft struct {
	cfg    RaftConfig
	fsm    *raftFSM
	r      *raft.Raft
	trans  raft.Transport
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore

	leader   atomic.Bool  // leader and caught up with earlier terms
	member   atomic.Bool  // in the latest configuration (cached)
	memberAt atomic.Int64 // when member was computed, unix ns
	notify   chan bool
	quit     chan struct{}
	wg       sync.WaitGroup
	subMu    sync.Mutex
	subs     []chan struct{}
	stopOnce sync.Once
	stopped  atomic.Bool
}

// NewRaft creates a Raft ledger over the given stores and transport. On
// the first start (no state in the stores) it bootstraps cfg.Peers as the
// voters; later starts rejoin with the stored configuration.
func NewRaft(cfg RaftConfig, fsm FSM, trans raft.Transport, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore) (*Raft, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Raft{
		cfg: cfg, fsm: &raftFSM{fsm: fsm}, trans: trans, logs: logs, stable: stable, snaps: snaps,
		notify: make(chan bool, 16), quit: make(chan struct{}),
	}
	return l, nil
}

func (l *Raft) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(l.cfg.ID)
	rc.HeartbeatTimeout = l.cfg.HeartbeatTimeout
	rc.ElectionTimeout = l.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = l.cfg.LeaderLease
	rc.CommitTimeout = l.cfg.CommitTimeout
	if l.cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = l.cfg.SnapshotInterval
	}
	if l.cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = l.cfg.SnapshotThreshold
	}
	if l.cfg.TrailingLogs > 0 {
		rc.TrailingLogs = l.cfg.TrailingLogs
	}
	rc.MaxAppendEntries = 16 // entries are whole blocks
	rc.NotifyCh = l.notify
	rc.Logger = newHCLogger(l.cfg.ID)
	return rc
}

// Start bootstraps or rejoins the cluster and starts Raft.
func (l *Raft) Start() error {
	rc := l.raftConfig()
	has, err := raft.HasExistingState(l.logs, l.stable, l.snaps)
	if err != nil {
		return fmt.Errorf("raft: inspect stores: %w", err)
	}
	if !has && len(l.cfg.Peers) == 0 {
		log.Info("Raft node not in the initial cluster: waiting to be added by the leader", "id", l.cfg.ID, "addr", l.cfg.Addr)
	} else if !has {
		var conf raft.Configuration
		for _, p := range l.cfg.Peers {
			conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := raft.BootstrapCluster(rc, l.logs, l.stable, l.snaps, l.trans, conf); err != nil {
			return fmt.Errorf("raft: bootstrap: %w", err)
		}
		log.Info("Bootstrapped Raft cluster", "id", l.cfg.ID, "voters", len(conf.Servers))
	} else {
		last, _ := l.logs.LastIndex()
		log.Info("Rejoining Raft cluster", "id", l.cfg.ID, "applied", l.fsm.fsm.AppliedIndex(), "lastlog", last)
	}
	r, err := raft.NewRaft(rc, l.fsm, l.logs, l.stable, l.snaps, l.trans)
	if err != nil {
		return fmt.Errorf("raft: start: %w", err)
	}
	l.r = r
	l.fsm.onHalt = func() {
		l.leader.Store(false)
		// Leave the cluster loudly: a halted node must neither lead nor
		// vote, so the healthy majority carries on without it. Not from
		// the FSM goroutine, which Shutdown waits for.
		go func() {
			if err := r.Shutdown().Error(); err != nil {
				log.Error("Raft shutdown after halt failed", "err", err)
			}
			l.signal()
		}()
	}
	l.wg.Add(1)
	go l.watchLeadership()
	return nil
}

// watchLeadership turns raft's leadership notifications into IsLeader,
// which becomes true only after a barrier: the new leader has applied every
// entry of earlier terms, so it builds on the true head.
func (l *Raft) watchLeadership() {
	defer l.wg.Done()
	for {
		select {
		case <-l.quit:
			return
		case isLeader := <-l.notify:
			if !isLeader {
				if l.leader.Swap(false) {
					log.Warn("Lost Raft leadership", "id", l.cfg.ID)
				}
				l.signal()
				continue
			}
			if err := l.r.Barrier(l.cfg.ApplyTimeout).Error(); err != nil {
				log.Warn("Raft barrier failed after election", "err", err)
				continue
			}
			if l.fsm.halted() != nil || l.r.State() != raft.Leader {
				continue
			}
			l.leader.Store(true)
			log.Info("Became Raft leader", "id", l.cfg.ID, "term", l.r.Stats()["term"])
			l.signal()
		}
	}
}

// LeadershipChanges returns a channel signalled (without blocking) on every
// change of IsLeader.
func (l *Raft) LeadershipChanges() <-chan struct{} {
	ch := make(chan struct{}, 1)
	l.subMu.Lock()
	l.subs = append(l.subs, ch)
	l.subMu.Unlock()
	return ch
}

func (l *Raft) signal() {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for _, ch := range l.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// ErrNotInCluster refuses writes on a node that left the cluster.
var ErrNotInCluster = errors.New("this node is not a validating node of the network (removed from the cluster, or stopped)")

// Accepting reports whether the node may take transactions: not after its
// state machine halted, nor once it was removed from the cluster.
func (l *Raft) Accepting() error {
	if err := l.fsm.halted(); err != nil {
		return err
	}
	if l.r == nil {
		return nil // starting: what it admits is forwarded once a leader is known
	}
	if l.r.State() == raft.Shutdown || !l.isMember() {
		return ErrNotInCluster
	}
	return nil
}

// isMember reports whether this node is in the latest cluster
// configuration. A removed follower keeps running as a follower that no
// longer votes; it must stop taking transactions. The answer is cached for
// a fraction of a second, since it is asked for every transaction.
func (l *Raft) isMember() bool {
	now := time.Now().UnixNano()
	if last := l.memberAt.Load(); now-last < int64(200*time.Millisecond) {
		return l.member.Load()
	}
	f := l.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return l.member.Load()
	}
	in := false
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == l.cfg.ID {
			in = true
			break
		}
	}
	// A node waiting to be added is not a member yet but may already admit
	// (and forward) transactions only once it is; before it has any
	// configuration at all it is waiting, not removed.
	if len(f.Configuration().Servers) == 0 {
		in = true
	}
	l.member.Store(in)
	l.memberAt.Store(now)
	return in
}

// DurableLog reports that every applied entry is also in a synced log, so
// the state machine need not sync each entry itself (it must sync before a
// snapshot lets the log be truncated).
func (l *Raft) DurableLog() bool { return true }

// IsLeader implements Ledger.
func (l *Raft) IsLeader() bool { return l.leader.Load() && l.fsm.halted() == nil }

// Propose implements Ledger.
func (l *Raft) Propose(entry []byte) Result {
	if err := l.fsm.halted(); err != nil {
		return doneResult{err: err}
	}
	if l.r == nil {
		return doneResult{err: ErrStopped}
	}
	return &raftResult{f: l.r.Apply(entry, l.cfg.ApplyTimeout)}
}

type raftResult struct{ f raft.ApplyFuture }

func (r *raftResult) Wait() (uint64, error) {
	if err := r.f.Error(); err != nil {
		return 0, err
	}
	if err, ok := r.f.Response().(error); ok && err != nil {
		return 0, err
	}
	return r.f.Index(), nil
}

// Leader returns the id and address of the current leader, empty if none
// is known.
func (l *Raft) Leader() (id, addr string) {
	if l.r == nil {
		return "", ""
	}
	a, i := l.r.LeaderWithID()
	return string(i), string(a)
}

// Role is "leader", "follower", "candidate" or "shutdown"; "halted" after
// the state machine failed.
func (l *Raft) Role() string {
	if l.fsm.halted() != nil {
		return "halted"
	}
	if l.r == nil || l.stopped.Load() {
		return "shutdown"
	}
	switch l.r.State() {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Follower:
		return "follower"
	}
	return "shutdown"
}

// Server is one member of the cluster configuration.
type Server struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Servers returns the current cluster configuration.
func (l *Raft) Servers() ([]Server, error) {
	if l.r == nil {
		return nil, ErrStopped
	}
	f := l.r.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	_, leader := l.r.LeaderWithID()
	out := []Server{}
	for _, s := range f.Configuration().Servers {
		out = append(out, Server{ID: string(s.ID), Address: string(s.Address), Suffrage: s.Suffrage.String(), Leader: s.ID == leader})
	}
	return out, nil
}

// Stats returns raft's counters (term, indexes, state, …).
func (l *Raft) Stats() map[string]string {
	if l.r == nil {
		return map[string]string{"state": "Shutdown"}
	}
	return l.r.Stats()
}

// AddVoter adds a voting member; only the leader can.
func (l *Raft) AddVoter(id, addr string) error {
	if l.r == nil {
		return ErrStopped
	}
	return l.r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, l.cfg.ApplyTimeout).Error()
}

// RemoveServer removes a member; only the leader can.
func (l *Raft) RemoveServer(id string) error {
	if l.r == nil {
		return ErrStopped
	}
	return l.r.RemoveServer(raft.ServerID(id), 0, l.cfg.ApplyTimeout).Error()
}

// Halted returns the error that halted the state machine, or nil.
func (l *Raft) Halted() error { return l.fsm.halted() }

// Stop shuts Raft down.
func (l *Raft) Stop() error {
	var err error
	l.stopOnce.Do(func() {
		// hashicorp/raft's run loop may still set a state for a moment
		// after Shutdown: a stopped ledger says shutdown regardless.
		l.stopped.Store(true)
		close(l.quit)
		if l.r != nil {
			err = l.r.Shutdown().Error()
		}
		l.wg.Wait()
		if c, ok := l.trans.(io.Closer); ok {
			c.Close()
		}
	})
	return err
}

// raftFSM adapts an FSM to hashicorp/raft. Once Apply fails, the node is
// halted: every later entry is refused and the failure is reported.
type raftFSM struct {
	fsm    FSM
	mu     sync.Mutex
	err    error
	onHalt func()
}

func (f *raftFSM) halted() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *raftFSM) Apply(l *raft.Log) any {
	if err := f.halted(); err != nil {
		return err
	}
	if l.Type != raft.LogCommand {
		return nil
	}
	if err := f.fsm.Apply(l.Index, l.Data); err != nil {
		f.mu.Lock()
		f.err = fmt.Errorf("%w at index %d: %v", ErrHalted, l.Index, err)
		f.mu.Unlock()
		log.Error("STATE MACHINE HALTED: this node can no longer follow the ledger", "index", l.Index, "err", err)
		if f.onHalt != nil {
			f.onHalt()
		}
		return f.err
	}
	return nil
}

func (f *raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	// A halted node's state stopped at the failing entry while raft's
	// index moved on: a snapshot would claim entries it never applied.
	if err := f.halted(); err != nil {
		return nil, err
	}
	index := f.fsm.AppliedIndex()
	s, err := f.fsm.Snapshot()
	if err != nil {
		return nil, err
	}
	return &raftSnapshot{s: s, index: index}, nil
}

// Restore installs a snapshot unless the state machine is already at or
// past it: raft restores its latest snapshot at every start, and a node's
// own state is durable up to its applied index.
func (f *raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var hdr [8]byte
	if _, err := io.ReadFull(rc, hdr[:]); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	if index := binary.BigEndian.Uint64(hdr[:]); index <= f.fsm.AppliedIndex() {
		log.Info("State is at or past the snapshot, keeping it", "snapshot", index, "applied", f.fsm.AppliedIndex())
		return nil
	}
	return f.fsm.Restore(rc)
}

type raftSnapshot struct {
	s     FSMSnapshot
	index uint64
}

func (s *raftSnapshot) Persist(sink raft.SnapshotSink) error {
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], s.index)
	if _, err := sink.Write(hdr[:]); err != nil {
		sink.Cancel()
		return err
	}
	if err := s.s.Persist(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *raftSnapshot) Release() { s.s.Release() }

// NewRaftLogger returns the hclog logger raft's components log through.
func NewRaftLogger(id string) hclog.Logger { return newHCLogger(id) }

// newHCLogger routes raft's logs into go-ethereum's logger: raft's info
// becomes debug, so a healthy cluster logs only what matters.
func newHCLogger(id string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  hclog.Info,
		Output: &hclogWriter{id: id},
	})
}

type hclogWriter struct{ id string }

func (w *hclogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && (msg[len(msg)-1] == '\n') {
		msg = msg[:len(msg)-1]
	}
	switch {
	case containsLevel(msg, "[ERROR]"):
		log.Error("Raft", "id", w.id, "msg", msg)
	case containsLevel(msg, "[WARN]"):
		log.Warn("Raft", "id", w.id, "msg", msg)
	default:
		log.Debug("Raft", "id", w.id, "msg", msg)
	}
	return len(p), nil
}

func containsLevel(msg, lvl string) bool {
	for i := 0; i+len(lvl) <= len(msg) && i < 64; i++ {
		if msg[i:i+len(lvl)] == lvl {
			return true
		}
	}
	return false
}

// LeaderChanges returns a channel that receives the address of every new
// leader this node observes (empty when leadership is vacant).
func (l *Raft) LeaderChanges() <-chan string {
	obs := make(chan raft.Observation, 8)
	out := make(chan string, 8)
	l.r.RegisterObserver(raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	}))
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			select {
			case <-l.quit:
				return
			case o := <-obs:
				lo := o.Data.(raft.LeaderObservation)
				select {
				case out <- string(lo.LeaderAddr):
				default:
				}
			}
		}
	}()
	return out
}
