package eth

import (
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/log"
)

// The validating nodes of a network: on a network without governance the
// genesis validators, on a governed network the constitution's nodes. The
// node-to-node channel admits exactly them (cocobackend.Admission), only
// their forwarded senders are trusted, and on a governed network the
// leader makes the Raft configuration follow the constitution
// (cocobackend.Membership).

// Timings of following the constitution.
const (
	// constitutionPoll is how often a governed node re-reads the
	// constitution besides after every block (a snapshot install replaces
	// the state without a block event).
	constitutionPoll = 2 * time.Second
	// removalGrace is how long the leader keeps admitting a node voted
	// out after the Raft configuration without it committed: its last
	// replication carries that configuration to the removed node, which
	// so learns that it is out.
	removalGrace = 500 * time.Millisecond
)

// initTrusted sets the nodes trusted and admitted at start: the genesis
// validators, or the constitution in the chain's current state.
func (s *Service) initTrusted() error {
	spec := s.chain.Spec()
	keys := map[string][]byte{}
	if spec.Coco.Governed() {
		st, err := s.chain.State()
		if err != nil {
			return err
		}
		cons, err := governance.Load(st)
		if err != nil {
			return err
		}
		keys = constitutionKeys(cons)
		s.attest(cons)
	} else {
		for _, v := range spec.Coco.InitialValidators() {
			pk, err := governance.NormaliseNodeKey(v.PublicKey)
			if err != nil {
				log.Warn("Genesis validator key does not parse; node not admitted", "id", v.ID, "err", err)
				continue
			}
			keys[v.ID] = pk
		}
	}
	s.setNodes(keys)
	return nil
}

// setNodes makes keys the trusted and admitted nodes.
func (s *Service) setNodes(keys map[string][]byte) {
	s.trusted.Store(&keys)
	s.admit(keys)
}

// constitutionKeys maps the ids of the constitution's nodes to their keys
// (stored normalised: 65 bytes, uncompressed).
func constitutionKeys(cons *governance.Constitution) map[string][]byte {
	out := make(map[string][]byte, len(cons.Nodes))
	for _, n := range cons.Nodes {
		out[n.ID] = n.PublicKey
	}
	return out
}

// followConstitution makes a governed node follow its constitution. On
// every node, after every block that changed it, the trusted and admitted
// nodes become the constitution's (connections of nodes no longer listed
// are cut). On the leader, after such a block and when it takes over, the
// Raft membership follows too: listed nodes that are not voters are
// added, voters no longer listed removed.
func (s *Service) followConstitution() {
	defer s.wg.Done()
	events := make(chan core.ChainEvent, 64)
	sub := s.chain.SubscribeChainEvent(events)
	defer sub.Unsubscribe()
	var lead <-chan struct{}
	if ln, ok := s.ledger.(cocobackend.LeadershipNotifier); ok {
		lead = ln.LeadershipChanges()
	}
	membership, _ := s.ledger.(cocobackend.Membership)
	poll := time.NewTicker(constitutionPoll)
	defer poll.Stop()
	var admittedAt, reconciledAt uint64
	for {
		force := false
		select {
		case <-s.quit:
			return
		case <-events:
		case <-poll.C:
		case <-lead:
			force = true
		case <-sub.Err():
			return
		}
		st, err := s.chain.State()
		if err != nil {
			continue
		}
		v := governance.Version(st)
		leader := membership != nil && s.ledger.IsLeader()
		if !leader {
			reconciledAt = 0
		}
		if v == admittedAt && (!leader || (v == reconciledAt && !force)) {
			continue
		}
		cons, err := governance.Load(st)
		if err != nil {
			log.Error("Cannot read the constitution", "err", err)
			continue
		}
		keys := constitutionKeys(cons)
		s.trusted.Store(&keys)
		s.attest(cons)
		if leader {
			// Keep admitting nodes being removed until the configuration
			// without them committed, and a moment more.
			before := *s.admittedNodes()
			s.admit(union(keys, before))
			if reconcile(membership, cons.Nodes) {
				reconciledAt = v
			}
			if len(union(keys, before)) > len(keys) {
				select {
				case <-time.After(removalGrace):
				case <-s.quit:
					return
				}
			}
		}
		if v != admittedAt || leader {
			if s.admit(keys) {
				log.Info("Admitted validating nodes follow the constitution", "version", v, "nodes", len(keys))
			}
			admittedAt = v
		}
	}
}

// attest hands the constitution's TEE and code manifests, and the code
// its nodes are pinned to, to the channel (cocobackend.Attesting): peers
// must attest to them, and connections that no longer do are cut.
func (s *Service) attest(cons *governance.Constitution) {
	a, ok := s.ledger.(cocobackend.Attesting)
	if !ok {
		return
	}
	att := cocobackend.Attestation{Required: true, Kinds: cons.TEEManifest, Pinned: map[string][32]byte{}}
	for _, c := range cons.CodeManifest {
		att.CodeIDs = append(att.CodeIDs, c)
	}
	for _, n := range cons.Nodes {
		if n.CodeID != ([32]byte{}) {
			att.Pinned[n.ID] = n.CodeID
		}
	}
	a.SetAttestation(att)
}

// admittedNodes are the nodes last handed to the channel's admission.
func (s *Service) admittedNodes() *map[string][]byte {
	if p := s.admitted.Load(); p != nil {
		return p
	}
	return &map[string][]byte{}
}

// admit hands nodes to the channel's admission; it reports a change.
func (s *Service) admit(nodes map[string][]byte) bool {
	old := s.admitted.Swap(&nodes)
	if old != nil && sameNodes(*old, nodes) {
		return false
	}
	if a, ok := s.ledger.(cocobackend.Admission); ok {
		a.SetAdmitted(nodes)
	}
	return true
}

func sameNodes(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for id, k := range a {
		if string(b[id]) != string(k) {
			return false
		}
	}
	return true
}

// union returns the entries of a, and those of b whose ids a lacks.
func union(a, b map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(a)+len(b))
	for id, k := range b {
		out[id] = k
	}
	for id, k := range a {
		out[id] = k
	}
	return out
}

// reconcile makes the Raft configuration hold exactly nodes: it removes
// voters no longer listed and adds listed nodes that are not voters. It
// reports whether the configuration matches.
func reconcile(m cocobackend.Membership, nodes []governance.Node) bool {
	servers, err := m.Servers()
	if err != nil {
		return false
	}
	want := make(map[string]string, len(nodes))
	for _, n := range nodes {
		want[n.ID] = n.RaftAddr
	}
	have := make(map[string]bool, len(servers))
	ok := true
	for _, sv := range servers {
		have[sv.ID] = true
		if _, listed := want[sv.ID]; !listed {
			log.Info("Removing validating node no longer in the constitution", "id", sv.ID, "addr", sv.Address)
			if err := m.RemoveServer(sv.ID); err != nil {
				log.Warn("Raft removal failed", "id", sv.ID, "err", err)
				ok = false
			}
		}
	}
	for _, n := range nodes {
		if !have[n.ID] {
			log.Info("Adding validating node listed by the constitution", "id", n.ID, "addr", n.RaftAddr)
			if err := m.AddVoter(n.ID, n.RaftAddr); err != nil {
				log.Warn("Raft addition failed", "id", n.ID, "err", err)
				ok = false
			}
		}
	}
	return ok
}
