package governance

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// ballot is one step of a scenario: who votes how. The first ballot of a
// case is the proposal itself (always an approval).
type ballot struct {
	who     string
	approve bool
}

func yes(who string) ballot { return ballot{who, true} }
func no(who string) ballot  { return ballot{who, false} }

// TestPolicies: members A, B, C vote on adding code2 under every policy;
// after each ballot the proposal is in the listed state, and code2 is in
// the manifest exactly when it passed.
func TestPolicies(t *testing.T) {
	type step struct {
		b    ballot
		want ProposalState
	}
	cases := []struct {
		name   string
		policy Policy
		steps  []step
	}{
		{"unanimous/all yes", Policy{Kind: Unanimous}, []step{{yes("A"), Open}, {yes("B"), Open}, {yes("C"), Passed}}},
		{"unanimous/one no", Policy{Kind: Unanimous}, []step{{yes("A"), Open}, {no("B"), Rejected}}},
		{"unanimous/last no", Policy{Kind: Unanimous}, []step{{yes("A"), Open}, {yes("B"), Open}, {no("C"), Rejected}}},
		{"2-of-3/two yes", Policy{Kind: MOfN, M: 2}, []step{{yes("A"), Open}, {yes("C"), Passed}}},
		{"2-of-3/yes no yes", Policy{Kind: MOfN, M: 2}, []step{{yes("A"), Open}, {no("B"), Open}, {yes("C"), Passed}}},
		{"2-of-3/two no", Policy{Kind: MOfN, M: 2}, []step{{yes("A"), Open}, {no("B"), Open}, {no("C"), Rejected}}},
		{"3-of-3/one no", Policy{Kind: MOfN, M: 3}, []step{{yes("A"), Open}, {no("C"), Rejected}}},
		{"1-of-3 as m-of-n", Policy{Kind: MOfN, M: 1}, []step{{yes("B"), Passed}}},
		{"one-of-n/proposal decides", Policy{Kind: OneOfN}, []step{{yes("C"), Passed}}},
		{"majority/two yes", Policy{Kind: Majority}, []step{{yes("A"), Open}, {yes("B"), Passed}}},
		{"majority/no then yes", Policy{Kind: Majority}, []step{{yes("B"), Open}, {no("A"), Open}, {yes("C"), Passed}}},
		{"majority/two no", Policy{Kind: Majority}, []step{{yes("B"), Open}, {no("A"), Open}, {no("C"), Rejected}}},
		{"majority/second account of A counts as A", Policy{Kind: Majority}, []step{{yes("A2"), Open}, {yes("C"), Passed}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := installed(t, testGenesis(tc.policy))
			var id uint64
			for i, s := range tc.steps {
				if i == 0 {
					id = mustPropose(t, st, s.b.who, 10, AddCode{code2})
				} else {
					mustVote(t, st, s.b.who, uint64(10+i), id, s.b.approve)
				}
				if got := stateOf(t, st, id, uint64(10+i)); got != s.want {
					t.Fatalf("after ballot %d (%v): state %s, want %s", i, s.b, got, s.want)
				}
			}
			c := mustLoad(t, st)
			passed := tc.steps[len(tc.steps)-1].want == Passed
			if has := slices.Contains(c.CodeManifest, code2); has != passed {
				t.Fatalf("code2 in manifest = %v, want %v", has, passed)
			}
			wantVersion := uint64(1)
			if passed {
				wantVersion = 2
			}
			if c.Version != wantVersion {
				t.Fatalf("version %d, want %d", c.Version, wantVersion)
			}
			// A decided proposal takes no more ballots.
			if last := tc.steps[len(tc.steps)-1].want; last != Open {
				for _, who := range []string{"A", "B", "C"} {
					err := Vote(st, accountOf[who], 50, id, true)
					if err == nil {
						t.Fatalf("%s voted on a %s proposal", who, last)
					}
				}
			}
		})
	}
}

// TestActions: every action under majority (A proposes, B approves) and
// the constitution and change events it yields.
func TestActions(t *testing.T) {
	keyD := nodePub("vn4")
	cases := []struct {
		name   string
		action Action
		check  func(t *testing.T, c *Constitution)
		events string // of the change, before ConstitutionChanged
	}{
		{"add member", AddMember{member("D", accD)}, func(t *testing.T, c *Constitution) {
			if memberIDs(c) != "A,B,C,D" {
				t.Fatalf("members %s", memberIDs(c))
			}
			d, _ := c.Member("D")
			if !reflect.DeepEqual(*d, member("D", accD)) {
				t.Fatalf("member D = %+v", *d)
			}
		}, `MemberAdded("D")`},
		{"remove member (and its node)", RemoveMember{"C"}, func(t *testing.T, c *Constitution) {
			if memberIDs(c) != "A,B" || nodeIDs(c) != "vn1,vn2" {
				t.Fatalf("members %s nodes %s", memberIDs(c), nodeIDs(c))
			}
		}, `NodeRemoved("vn3", "C", "10.0.0.3:30400"); MemberRemoved("C")`},
		{"add participant", AddParticipant{Participant{ID: "Q", Accounts: []common.Address{accE}}}, func(t *testing.T, c *Constitution) {
			if len(c.Participants) != 2 || c.Participants[1].ID != "Q" {
				t.Fatalf("participants %+v", c.Participants)
			}
		}, `ParticipantAdded("Q")`},
		{"remove participant", RemoveParticipant{"P"}, func(t *testing.T, c *Constitution) {
			if len(c.Participants) != 0 {
				t.Fatalf("participants %+v", c.Participants)
			}
		}, `ParticipantRemoved("P")`},
		{"add node", AddNode{Node{ID: "vn4", Owner: "P", RaftAddr: "vn4.example:30400", PublicKey: keyD[1:], CodeID: code1}}, func(t *testing.T, c *Constitution) {
			n, ok := c.Node("vn4")
			if !ok || n.Owner != "P" || len(n.PublicKey) != 65 || n.CodeID != code1 {
				t.Fatalf("node vn4 = %+v", n)
			}
		}, fmt.Sprintf(`NodeAdded("vn4", "P", "vn4.example:30400", %#x, %s)`, keyD, code1.Hex())},
		{"remove node", RemoveNode{"vn2"}, func(t *testing.T, c *Constitution) {
			if nodeIDs(c) != "vn1,vn3" {
				t.Fatalf("nodes %s", nodeIDs(c))
			}
		}, `NodeRemoved("vn2", "B", "10.0.0.2:30400")`},
		{"set policy", SetPolicy{Policy{Kind: MOfN, M: 3}}, func(t *testing.T, c *Constitution) {
			if c.Policy != (Policy{Kind: MOfN, M: 3}) {
				t.Fatalf("policy %v", c.Policy)
			}
		}, "PolicyChanged(1, 3)"},
		{"add code", AddCode{code2}, func(t *testing.T, c *Constitution) {
			if !reflect.DeepEqual(c.CodeManifest, []common.Hash{code1, code2}) {
				t.Fatalf("code %v", c.CodeManifest)
			}
		}, "CodeAdded(" + code2.Hex() + ")"},
		{"add TEE", AddTEE{TEESGX}, func(t *testing.T, c *Constitution) {
			if !reflect.DeepEqual(c.TEEManifest, []string{"sgx", "simulation"}) {
				t.Fatalf("tee %v", c.TEEManifest)
			}
		}, `TEEAdded("sgx")`},
		{"set settings", SetSettings{Settings{ProposalLifetime: 7, EpochLength: 9, OpenSending: true, SessionLifetime: 3600}}, func(t *testing.T, c *Constitution) {
			if c.Settings != (Settings{ProposalLifetime: 7, EpochLength: 9, OpenSending: true, SessionLifetime: 3600}) || c.Settings.Session() != time.Hour {
				t.Fatalf("settings %v", c.Settings)
			}
		}, "SettingsChanged(7, 9, true, 3600)"},
		{"set recovery key", SetRecoveryKey{ID: "B", Key: common.Hash(recoveryPub("D"))}, func(t *testing.T, c *Constitution) {
			b, _ := c.Member("B")
			if !bytes.Equal(b.RecoveryKey, recoveryPub("D")) {
				t.Fatalf("member B = %+v", *b)
			}
		}, fmt.Sprintf(`RecoveryKeySet("B", %#x)`, recoveryPub("D"))},
		{"remove recovery key", SetRecoveryKey{ID: "C"}, func(t *testing.T, c *Constitution) {
			if m, _ := c.Member("C"); m.RecoveryKey != nil {
				t.Fatalf("member C = %+v", *m)
			}
		}, `RecoveryKeySet("C", 0x0000000000000000000000000000000000000000000000000000000000000000)`},
		{"set recovery threshold", SetRecoveryThreshold{M: 3}, func(t *testing.T, c *Constitution) {
			if c.Settings.RecoveryThreshold != 3 || c.RecoveryThreshold() != 3 || c.Settings.ProposalLifetime != 100 {
				t.Fatalf("settings %+v, in effect %d", c.Settings, c.RecoveryThreshold())
			}
		}, "RecoveryThresholdSet(3)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := installed(t, testGenesis(Policy{Kind: Majority}))
			id := mustPropose(t, st, "A", 5, tc.action)
			if c := mustLoad(t, st); c.Version != 1 {
				t.Fatal("changed before the quorum")
			}
			logs := len(st.Logs())
			mustVote(t, st, "B", 6, id, true)
			if s := stateOf(t, st, id, 6); s != Passed {
				t.Fatalf("state %s", s)
			}
			c := mustLoad(t, st)
			if c.Version != 2 {
				t.Fatalf("version %d", c.Version)
			}
			tc.check(t, c)
			want := fmt.Sprintf("%s; ConstitutionChanged(2, %d)", tc.events, id)
			if got := changeEvents(t, st, logs, 6); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
		})
	}
	// Removals of code and TEE kinds need a second entry first.
	t.Run("remove code and TEE", func(t *testing.T) {
		g := testGenesis(Policy{Kind: OneOfN})
		g.CodeManifest = []common.Hash{code1, code2}
		g.TEEManifest = []string{TEESGX, TEESimulation}
		st := installed(t, g)
		logs := len(st.Logs())
		mustPropose(t, st, "A", 1, RemoveCode{code2})
		mustPropose(t, st, "A", 1, RemoveTEE{TEESimulation})
		c := mustLoad(t, st)
		if !reflect.DeepEqual(c.CodeManifest, []common.Hash{code1}) || !reflect.DeepEqual(c.TEEManifest, []string{TEESGX}) || c.Version != 3 {
			t.Fatalf("constitution %s", c)
		}
		want := "CodeRemoved(" + code2.Hex() + `); ConstitutionChanged(2, 1); TEERemoved("simulation"); ConstitutionChanged(3, 2)`
		if got := changeEvents(t, st, logs, 1); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
	})
}

// TestRefusedProposals: actions that cannot apply are refused when
// proposed, with a reason, and change nothing.
func TestRefusedProposals(t *testing.T) {
	g := testGenesis(Policy{Kind: MOfN, M: 2})
	cases := []struct {
		action Action
		want   string
	}{
		{AddMember{member("B", accD)}, `id "B" is already used by member "B"`},
		{AddMember{member("P", accD)}, `id "P" is already used by participant "P"`},
		{AddMember{member("D", accP)}, "already belongs to participant \"P\""},
		{AddMember{member("D", accA2)}, "already belongs to member \"A\""},
		{AddMember{member("D")}, "at least one account"},
		{AddMember{member("D", accD, accD)}, "listed twice"},
		{AddMember{member("D", common.Address{})}, "zero address"},
		{AddMember{Member{ID: "D", Accounts: []common.Address{accD}}}, "public key is empty"},
		{AddMember{member("has space", accD)}, "printable ASCII"},
		{AddMember{member(strings.Repeat("x", 65), accD)}, "longer than 64"},
		{RemoveMember{"P"}, `no member "P"`},
		{RemoveMember{"Z"}, `no member "Z"`},
		{AddParticipant{Participant{ID: "A", Accounts: []common.Address{accD}}}, "already used by member"},
		{RemoveParticipant{"A"}, `no participant "A"`},
		{AddNode{testNode("vn1", "A", "10.9.9.9:1")}, `node "vn1" already exists`},
		{AddNode{testNode("vn4", "Z", "10.9.9.9:1")}, `owner "Z" is not a member or participant`},
		{AddNode{testNode("vn4", "A", "10.0.0.1:30400")}, "raft address 10.0.0.1:30400 already used by node \"vn1\""},
		{AddNode{Node{ID: "vn4", Owner: "A", RaftAddr: "10.9.9.9:1", PublicKey: nodePub("vn1")}}, "public key already used"},
		{AddNode{Node{ID: "vn4", Owner: "A", RaftAddr: "10.9.9.9:1", PublicKey: []byte{4, 1, 2}}}, "65 bytes"},
		{AddNode{testNode("vn4", "A", "nohost")}, "want host:port"},
		{AddNode{testNode("vn4", "A", "h:0")}, "port must be"},
		{AddNode{Node{ID: "vn4", Owner: "A", RaftAddr: "h:1", PublicKey: nodePub("vn4"), CodeID: code2}}, "not in the code manifest"},
		{RemoveNode{"vn9"}, `no node "vn9"`},
		{SetPolicy{Policy{Kind: MOfN, M: 2}}, "already 2-of-n"},
		{SetPolicy{Policy{Kind: MOfN, M: 4}}, "cannot be satisfied by 3 member(s)"},
		{SetPolicy{Policy{Kind: MOfN}}, "M >= 1"},
		{SetPolicy{Policy{Kind: Majority, M: 2}}, "takes no M"},
		{SetPolicy{Policy{Kind: 9}}, "unknown policy kind"},
		{AddCode{code1}, "already in the code manifest"},
		{AddCode{common.Hash{}}, "zero code identity"},
		{RemoveCode{code2}, "not in the code manifest"},
		{RemoveCode{code1}, "last code identity"},
		{AddTEE{TEESimulation}, "already in the TEE manifest"},
		{AddTEE{"tdx"}, "unknown TEE kind"},
		{RemoveTEE{TEESGX}, "not in the TEE manifest"},
		{RemoveTEE{TEESimulation}, "last TEE kind"},
		{SetSettings{Settings{ProposalLifetime: 100, EpochLength: 1000}}, "already"},
		{SetSettings{Settings{ProposalLifetime: 0, EpochLength: 1000}}, "proposal lifetime"},
		{SetSettings{Settings{ProposalLifetime: 10, EpochLength: 0}}, "epoch length"},
		{SetSettings{Settings{ProposalLifetime: 10, EpochLength: 10, SessionLifetime: MaxSessionLifetime + 1}}, "session lifetime"},
		{AddMember{Member{ID: "D", Accounts: []common.Address{accD}, PublicKey: []byte{1}, RecoveryKey: recoveryPub("B")}}, `recovery key 0x` + hex.EncodeToString(recoveryPub("B")) + ` is already used by member "B"`},
		{AddMember{Member{ID: "D", Accounts: []common.Address{accD}, PublicKey: []byte{1}, RecoveryKey: identityKey}}, `member "D": invalid recovery key`},
		{AddMember{Member{ID: "D", Accounts: []common.Address{accD}, PublicKey: []byte{1}, RecoveryKey: []byte{3}}}, "recovery key must be 32 bytes"},
		{SetRecoveryKey{ID: "A", Key: common.Hash(identityKey)}, `member "A": invalid recovery key`},
		{SetRecoveryKey{ID: "A", Key: common.Hash(nonCanonicalKey)}, `member "A": invalid recovery key`},
		{SetRecoveryKey{ID: "Z", Key: common.Hash(recoveryPub("D"))}, `no member "Z"`},
		{SetRecoveryKey{ID: "P", Key: common.Hash(recoveryPub("D"))}, `no member "P"`},
		{SetRecoveryKey{ID: "", Key: common.Hash(recoveryPub("D"))}, "member id is empty"},
		{SetRecoveryKey{ID: "A", Key: common.Hash(recoveryPub("B"))}, `recovery key 0x` + hex.EncodeToString(recoveryPub("B")) + ` is already used by member "B"`},
		{SetRecoveryKey{ID: "A", Key: common.Hash(recoveryPub("A"))}, `member "A" already has recovery key`},
		{SetRecoveryThreshold{M: 0}, "recovery threshold is already majority"},
		{SetRecoveryThreshold{M: 4}, "recovery threshold 4 cannot be reached: only 3 member(s) have a recovery key"},
		{SetRecoveryThreshold{M: 65535}, "recovery threshold 65535 cannot be reached"},
	}
	for _, tc := range cases {
		t.Run(tc.action.String(), func(t *testing.T) {
			st := installed(t, g)
			root := st.IntermediateRoot(testRules)
			_, err := Propose(st, accA, 1, tc.action)
			refusedWith(t, err, tc.want)
			if st.IntermediateRoot(testRules) != root || len(st.Logs()) != 0 {
				t.Fatal("a refused proposal changed the state")
			}
		})
	}
	t.Run("structural limits", func(t *testing.T) {
		// Last member, unsatisfiable policy, last node, pinned code.
		one := testGenesis(Policy{Kind: Unanimous})
		one.Members = one.Members[:1]
		one.Nodes = one.Nodes[:1]
		st := installed(t, one)
		_, err := Propose(st, accA, 1, RemoveMember{"A"})
		refusedWith(t, err, "last member")
		_, err = Propose(st, accA, 1, RemoveNode{"vn1"})
		refusedWith(t, err, "last validating node")

		st = installed(t, testGenesis(Policy{Kind: MOfN, M: 3}))
		_, err = Propose(st, accA, 1, RemoveMember{"C"})
		refusedWith(t, err, "would leave voting policy 3-of-n unsatisfiable with 2 member(s)")

		g := testGenesis(Policy{Kind: Majority})
		g.Nodes = []Node{testNode("vn1", "A", "h:1"), testNode("vn2", "A", "h:2")}
		st = installed(t, g)
		_, err = Propose(st, accB, 1, RemoveMember{"A"})
		refusedWith(t, err, "would remove every validating node")

		g = testGenesis(Policy{Kind: Majority})
		g.CodeManifest = []common.Hash{code1, code2}
		g.Nodes[0].CodeID = code2
		st = installed(t, g)
		_, err = Propose(st, accB, 1, RemoveCode{code2})
		refusedWith(t, err, `pinned by node "vn1"`)
	})
}

// TestWhoMayVote: only members propose, vote and withdraw.
func TestWhoMayVote(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority}))
	for _, who := range []string{"P", "X"} {
		_, err := Propose(st, accountOf[who], 1, AddCode{code2})
		refusedWith(t, err, "only members may propose")
	}
	_, err := Propose(st, accP, 1, AddCode{code2})
	refusedWith(t, err, `belongs to participant "P"`)

	id := mustPropose(t, st, "A", 1, AddCode{code2})
	refusedWith(t, Vote(st, accP, 2, id, true), "only members may vote")
	refusedWith(t, Vote(st, accX, 2, id, true), "not a member's account")
	refusedWith(t, Withdraw(st, accP, 2, id), "only members may withdraw")
	if s := stateOf(t, st, id, 2); s != Open {
		t.Fatalf("state %s", s)
	}
	refusedWith(t, Vote(st, accB, 2, 999, true), "no proposal 999")
}

// TestDoubleVote: one ballot per member, whatever account it uses.
func TestDoubleVote(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Unanimous}))
	id := mustPropose(t, st, "A", 1, AddCode{code2})
	refusedWith(t, Vote(st, accA, 2, id, true), `member "A" already voted for proposal 1`)
	refusedWith(t, Vote(st, accA2, 2, id, false), `member "A" already voted for proposal 1`)
	mustVote(t, st, "B", 3, id, true)
	refusedWith(t, Vote(st, accB, 4, id, false), `member "B" already voted`)
	p, _ := GetProposal(st, id, 4)
	if p.State != Open || len(p.Ballots) != 2 {
		t.Fatalf("proposal %+v", p)
	}
}

// TestPolicyChangeUnderOldPolicy: a change of policy is decided by the
// policy in force, and the open proposals are then decided by the new one.
func TestPolicyChangeUnderOldPolicy(t *testing.T) {
	t.Run("unanimous to one-of-n needs all three", func(t *testing.T) {
		st := installed(t, testGenesis(Policy{Kind: Unanimous}))
		code := mustPropose(t, st, "A", 1, AddCode{code2}) // waits for B and C
		mustVote(t, st, "B", 2, code, true)
		pol := mustPropose(t, st, "A", 3, SetPolicy{Policy{Kind: OneOfN}})
		mustVote(t, st, "B", 4, pol, true)
		if stateOf(t, st, pol, 4) != Open {
			t.Fatal("policy change passed without C under unanimous")
		}
		mustVote(t, st, "C", 5, pol, true)
		if stateOf(t, st, pol, 5) != Passed {
			t.Fatal("policy change did not pass with all three")
		}
		// The code proposal had two approvals: it passes under one-of-n
		// in the same transaction.
		if stateOf(t, st, code, 5) != Passed {
			t.Fatal("open proposal not re-decided under the new policy")
		}
		c := mustLoad(t, st)
		if c.Policy.Kind != OneOfN || !slices.Contains(c.CodeManifest, code2) || c.Version != 3 {
			t.Fatalf("constitution %s", c)
		}
		// From now on one member decides.
		id := mustPropose(t, st, "C", 6, AddTEE{TEESGX})
		if stateOf(t, st, id, 6) != Passed {
			t.Fatal("one-of-n proposal not passed at once")
		}
	})
	t.Run("majority to unanimous passes by majority", func(t *testing.T) {
		st := installed(t, testGenesis(Policy{Kind: Majority}))
		pol := mustPropose(t, st, "A", 1, SetPolicy{Policy{Kind: Unanimous}})
		mustVote(t, st, "C", 2, pol, true)
		if stateOf(t, st, pol, 2) != Passed || mustLoad(t, st).Policy.Kind != Unanimous {
			t.Fatal("policy change not decided by majority")
		}
		id := mustPropose(t, st, "A", 3, AddCode{code2})
		mustVote(t, st, "B", 4, id, true)
		if stateOf(t, st, id, 4) != Open {
			t.Fatal("two of three passed under unanimous")
		}
	})
	t.Run("a stricter policy can reject open proposals", func(t *testing.T) {
		st := installed(t, testGenesis(Policy{Kind: Majority}))
		code := mustPropose(t, st, "A", 1, AddCode{code2})
		mustVote(t, st, "B", 2, code, false) // 1 yes, 1 no: open under majority
		pol := mustPropose(t, st, "B", 3, SetPolicy{Policy{Kind: Unanimous}})
		mustVote(t, st, "C", 4, pol, true)
		if stateOf(t, st, code, 4) != Rejected {
			t.Fatal("a proposal with a no was not rejected under unanimous")
		}
	})
}

// TestWithdraw: only the proposer, only while open.
func TestWithdraw(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Unanimous}))
	id := mustPropose(t, st, "A", 1, AddCode{code2})
	refusedWith(t, Withdraw(st, accB, 2, id), `only its proposer "A" may withdraw`)
	if err := Withdraw(st, accA2, 2, id); err != nil { // A's other account
		t.Fatal(err)
	}
	p, _ := GetProposal(st, id, 2)
	if p.State != Withdrawn || !strings.Contains(p.Reason, `withdrawn by "A"`) {
		t.Fatalf("proposal %+v", p)
	}
	refusedWith(t, Withdraw(st, accA, 3, id), "proposal 1 is withdrawn")
	refusedWith(t, Vote(st, accB, 3, id, true), "proposal 1 is withdrawn")
	if open, _ := OpenProposals(st, 3); len(open) != 0 {
		t.Fatalf("open %v", open)
	}
}

// TestExpiry: a proposal takes ballots until block created+lifetime.
func TestExpiry(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Unanimous})) // lifetime 100
	id := mustPropose(t, st, "A", 10, AddCode{code2})
	p, _ := GetProposal(st, id, 10)
	if p.CreatedAt != 10 || p.ExpiresAt != 110 {
		t.Fatalf("proposal %+v", p)
	}
	mustVote(t, st, "B", 109, id, true)
	if stateOf(t, st, id, 109) != Open || stateOf(t, st, id, 110) != Expired {
		t.Fatal("lazy expiry")
	}
	refusedWith(t, Vote(st, accC, 110, id, true), "proposal 1 is expired")
	// Still open in storage: nothing wrote since.
	if open, _ := OpenProposals(st, 109); len(open) != 1 {
		t.Fatal("expiry written by a refused vote")
	}
	if open, _ := OpenProposals(st, 110); len(open) != 0 {
		t.Fatal("expired proposal listed as open")
	}
	ids, err := Expire(st, 110)
	if err != nil || !reflect.DeepEqual(ids, []uint64{id}) {
		t.Fatalf("expire: %v %v", ids, err)
	}
	if stateOf(t, st, id, 0) != Expired { // stored now, whatever the block
		t.Fatal("expiry not stored")
	}
	if ids, _ := Expire(st, 500); len(ids) != 0 {
		t.Fatal("expired twice")
	}
	if mustLoad(t, st).Version != 1 {
		t.Fatal("expired proposal changed the constitution")
	}

	// Any write sweeps: a proposal made later expires the old one.
	st = installed(t, testGenesis(Policy{Kind: Unanimous}))
	old := mustPropose(t, st, "A", 1, AddCode{code2})
	mustPropose(t, st, "B", 200, AddTEE{TEESGX})
	p, _ = GetProposal(st, old, 0)
	if p.State != Expired {
		t.Fatalf("old proposal %s after a later write", p.State)
	}
}

// TestRemovedMember: a removed member's ballots no longer count, its open
// proposals are withdrawn, its nodes leave with it, and open proposals are
// re-decided.
func TestRemovedMember(t *testing.T) {
	t.Run("ballots discarded", func(t *testing.T) {
		g := testGenesis(Policy{Kind: Majority})
		g.Members = append(g.Members, member("D", accD)) // 4 members: 3 approvals needed
		st := installed(t, g)
		code := mustPropose(t, st, "A", 1, AddCode{code2})
		mustVote(t, st, "D", 2, code, true) // A, D
		dProp := mustPropose(t, st, "D", 3, AddTEE{TEESGX})
		rm := mustPropose(t, st, "B", 4, RemoveMember{"D"})
		mustVote(t, st, "A", 5, rm, true)
		mustVote(t, st, "C", 6, rm, true) // B, A, C: D leaves
		c := mustLoad(t, st)
		if memberIDs(c) != "A,B,C" {
			t.Fatalf("members %s", memberIDs(c))
		}
		// With 3 members majority needs 2: had D's ballot counted, the
		// code proposal (A, D) would have passed.
		p, _ := GetProposal(st, code, 6)
		if p.State != Open || len(p.Ballots) != 1 || p.Ballots[0].Member != "A" {
			t.Fatalf("code proposal %+v", p)
		}
		if q, _ := GetProposal(st, dProp, 6); q.State != Withdrawn || !strings.Contains(q.Reason, "no longer a member") {
			t.Fatalf("D's proposal %+v", q)
		}
		refusedWith(t, Vote(st, accD, 7, code, true), "only members may vote")
		mustVote(t, st, "B", 8, code, true)
		if stateOf(t, st, code, 8) != Passed {
			t.Fatal("code proposal did not pass with A and B")
		}
	})
	t.Run("removal decides waiting proposals", func(t *testing.T) {
		st := installed(t, testGenesis(Policy{Kind: Unanimous}))
		code := mustPropose(t, st, "A", 1, AddCode{code2})
		mustVote(t, st, "B", 2, code, true) // waits for C
		rm := mustPropose(t, st, "A", 3, RemoveMember{"C"})
		mustVote(t, st, "B", 4, rm, true)
		logs := len(st.Logs())
		mustVote(t, st, "C", 5, rm, true) // C agrees to leave
		if stateOf(t, st, rm, 5) != Passed || stateOf(t, st, code, 5) != Passed {
			t.Fatal("removal of C did not let A+B decide under unanimous")
		}
		c := mustLoad(t, st)
		if memberIDs(c) != "A,B" || nodeIDs(c) != "vn1,vn2" || c.Version != 3 {
			t.Fatalf("constitution %s", c)
		}
		if IsActor(st, accC) || IsMember(st, accC) {
			t.Fatal("C's account still an actor")
		}
		// C's node goes before C, and the waiting proposal passes after.
		want := fmt.Sprintf(`NodeRemoved("vn3", "C", "10.0.0.3:30400"); MemberRemoved("C"); ConstitutionChanged(2, %d); CodeAdded(%s); ConstitutionChanged(3, %d)`, rm, code2.Hex(), code)
		if got := changeEvents(t, st, logs, 5); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
	})
	t.Run("a removed member can come back with a clean slate", func(t *testing.T) {
		st := installed(t, testGenesis(Policy{Kind: OneOfN}))
		mustPropose(t, st, "A", 1, RemoveMember{"C"})
		mustPropose(t, st, "A", 2, AddMember{member("C", accC)})
		if !IsMember(st, accC) || mustLoad(t, st).Version != 3 {
			t.Fatal("C not back")
		}
	})
}

// TestFailedProposal: approved actions that no longer apply fail.
func TestFailedProposal(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority}))
	first := mustPropose(t, st, "A", 1, RemoveNode{"vn2"})
	second := mustPropose(t, st, "B", 1, RemoveNode{"vn2"})
	mustVote(t, st, "C", 2, first, true)
	mustVote(t, st, "C", 3, second, true)
	p, _ := GetProposal(st, second, 3)
	if p.State != Failed || !strings.Contains(p.Reason, `no node "vn2"`) {
		t.Fatalf("second proposal %+v", p)
	}
	if c := mustLoad(t, st); c.Version != 2 || nodeIDs(c) != "vn1,vn3" {
		t.Fatalf("constitution %s", c)
	}
}

// TestOpenLimit: a member cannot crowd out the others.
func TestOpenLimit(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Unanimous}))
	for i := 0; i < MaxOpenPerMember; i++ {
		var h common.Hash
		h[0], h[31] = 0xee, byte(i)
		mustPropose(t, st, "A", 1, AddCode{h})
	}
	_, err := Propose(st, accA2, 1, AddCode{code2})
	refusedWith(t, err, fmt.Sprintf("already has %d open proposals", MaxOpenPerMember))
	id := mustPropose(t, st, "B", 1, AddCode{code2})
	if err := Withdraw(st, accB, 1, id); err != nil {
		t.Fatal(err)
	}
	if err := Withdraw(st, accA, 2, 1); err != nil {
		t.Fatal(err)
	}
	mustPropose(t, st, "A", 3, AddCode{code2})
}
