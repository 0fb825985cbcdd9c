package eth

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// memberLedger is a single-node ledger that also offers the cluster's
// Membership and Admission capabilities, recording what it is asked.
type memberLedger struct {
	*cocobackend.Solo
	mu       sync.Mutex
	servers  []cocobackend.Server
	calls    []string
	admitted []map[string][]byte
	failAdd  bool
}

var (
	_ cocobackend.Membership = (*memberLedger)(nil)
	_ cocobackend.Admission  = (*memberLedger)(nil)
)

func (m *memberLedger) Servers() ([]cocobackend.Server, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.servers), nil
}

func (m *memberLedger) AddVoter(id, addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "add "+id+" "+addr)
	if m.failAdd {
		return errors.New("not the leader")
	}
	m.servers = append(m.servers, cocobackend.Server{ID: id, Address: addr, Suffrage: "Voter"})
	return nil
}

func (m *memberLedger) RemoveServer(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "remove "+id)
	m.servers = slices.DeleteFunc(m.servers, func(s cocobackend.Server) bool { return s.ID == id })
	return nil
}

func (m *memberLedger) SetAdmitted(nodes map[string][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.admitted = append(m.admitted, nodes)
	m.calls = append(m.calls, fmt.Sprint("admit ", ids(nodes)))
}

func (m *memberLedger) state() (calls []string, admitted []map[string][]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls), slices.Clone(m.admitted)
}

func ids(nodes map[string][]byte) []string {
	out := make([]string, 0, len(nodes))
	for id := range nodes {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// reconcile makes the configuration equal the constitution's node list,
// in the list's order, and says whether it got there.
func TestReconcile(t *testing.T) {
	node := func(id string) governance.Node { return governance.Node{ID: id, RaftAddr: id + ":1"} }
	server := func(id string) cocobackend.Server { return cocobackend.Server{ID: id, Address: id + ":1"} }
	for _, tc := range []struct {
		name    string
		have    []cocobackend.Server
		want    []governance.Node
		failAdd bool
		calls   []string
		ok      bool
	}{
		{"in step", []cocobackend.Server{server("A"), server("B")}, []governance.Node{node("A"), node("B")}, false, nil, true},
		{"C added", []cocobackend.Server{server("A"), server("B")}, []governance.Node{node("A"), node("B"), node("C")}, false, []string{"add C C:1"}, true},
		{"B removed", []cocobackend.Server{server("A"), server("B")}, []governance.Node{node("A")}, false, []string{"remove B"}, true},
		{"B swapped for C and D", []cocobackend.Server{server("A"), server("B")}, []governance.Node{node("A"), node("C"), node("D")}, false, []string{"remove B", "add C C:1", "add D D:1"}, true},
		{"addition refused", []cocobackend.Server{server("A")}, []governance.Node{node("A"), node("B")}, true, []string{"add B B:1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &memberLedger{servers: tc.have, failAdd: tc.failAdd}
			ok := reconcile(m, tc.want)
			calls, _ := m.state()
			if ok != tc.ok || !reflect.DeepEqual(calls, tc.calls) {
				t.Errorf("reconcile = %v with calls %q; want %v with %q", ok, calls, tc.ok, tc.calls)
			}
		})
	}
}

// A governed node follows its constitution: when a vote adds node2, node2
// is admitted on the node-to-node channel, its forwards are trusted and
// (on the leader) it becomes a voter; when a vote removes it, all three
// are undone.
func TestFollowConstitution(t *testing.T) {
	spec := governedGenesis(t)
	db := rawdb.NewMemoryDatabase()
	if _, err := InitChain(db, spec); err != nil {
		t.Fatal(err)
	}
	node1 := spec.Coco.InitialValidators()[0]
	var ml *memberLedger
	s, err := NewService(nil, db, db, DefaultConfig, func(d LedgerDeps) (cocobackend.Ledger, error) {
		fsm := d.FSM
		ml = &memberLedger{Solo: cocobackend.NewSolo(fsm), servers: []cocobackend.Server{{ID: node1.ID, Address: node1.RaftAddr}}}
		return ml, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Before start: the genesis constitution's node is admitted and trusted.
	if _, adm := ml.state(); len(adm) != 1 || !reflect.DeepEqual(ids(adm[0]), []string{"node1"}) {
		t.Fatalf("admitted before start: %v", adm)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Stop()

	key2, _ := crypto.GenerateKey()
	pub2 := crypto.FromECDSAPub(&key2.PublicKey)
	peer2 := &cocobackend.AuthPeer{ID: "node2", Key: pub2}
	if s.trusts(peer2) || s.trusts(nil) {
		t.Fatal("node2 (or a plaintext peer) trusted before any vote")
	}
	nonce := map[string]uint64{}
	send := func(who string, tx func(n uint64) *types.Transaction) {
		t.Helper()
		if err := s.SendTx(tx(nonce[who])); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		nonce[who]++
	}
	waitNonce := func() {
		t.Helper()
		waitFor(t, "the votes to commit", func() bool {
			st, err := s.chain.State()
			if err != nil {
				return false
			}
			return st.GetNonce(addrA) == nonce["A"] && st.GetNonce(addrB) == nonce["B"]
		})
	}
	send("A", func(n uint64) *types.Transaction {
		return govTx(t, keyA, n, "proposeAddNode", "node2", "B", "127.0.0.1:30402", pub2, [32]byte{})
	})
	send("B", func(n uint64) *types.Transaction { return govTx(t, keyB, n, "vote", big.NewInt(1), true) })
	waitNonce()
	waitFor(t, "node2 admitted, trusted and a voter", func() bool {
		calls, adm := ml.state()
		last := adm[len(adm)-1]
		return s.trusts(peer2) && bytes.Equal(last["node2"], pub2) && slices.Contains(calls, "add node2 127.0.0.1:30402")
	})
	if s.trusts(&cocobackend.AuthPeer{ID: "node2", Key: crypto.FromECDSAPub(&keyB.PublicKey)}) {
		t.Error("node2 trusted with another key")
	}

	send("A", func(n uint64) *types.Transaction { return govTx(t, keyA, n, "proposeRemoveNode", "node2") })
	send("B", func(n uint64) *types.Transaction { return govTx(t, keyB, n, "vote", big.NewInt(2), true) })
	waitNonce()
	waitFor(t, "node2 no longer admitted, trusted nor a voter", func() bool {
		calls, adm := ml.state()
		last := adm[len(adm)-1]
		_, still := last["node2"]
		return !still && !s.trusts(peer2) && slices.Contains(calls, "remove node2")
	})
	calls, adm := ml.state()
	t.Logf("membership calls %q; admitted sets %v", calls, func() (out []string) {
		for _, a := range adm {
			out = append(out, fmt.Sprint(ids(a)))
		}
		return
	}())
	// node2 stayed admitted while its removal committed (so the last
	// replication reaches it), and was cut only after.
	want := []string{"admit [node1]", "admit [node1 node2]", "add node2 127.0.0.1:30402", "remove node2", "admit [node1]"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}
