package governance

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
)

// need is the test's own statement of the policies: approvals needed among
// n members.
func need(p Policy, n int) int {
	switch p.Kind {
	case Unanimous:
		return n
	case MOfN:
		return int(p.M)
	case OneOfN:
		return 1
	case Majority:
		return n/2 + 1
	}
	panic("bad policy")
}

// TestPropertyQuorum drives random sequences of proposals, ballots,
// withdrawals, expiries and block advances from random accounts through
// Contract.Run and checks after every call that:
//   - a refused call changed nothing;
//   - every proposal that passed had, at the moment it passed, approvals
//     from at least need(policy, members) current members, judged by the
//     members and policy in force at that moment (replayed from the call's
//     events);
//   - the constitution changes only through passed proposals, one version
//     per change;
//   - the constitution stays well formed and the one-slot reads agree with
//     it.
func TestPropertyQuorum(t *testing.T) {
	runs, steps := 200, 80
	if testing.Short() {
		runs = 30
	}
	stats := map[string]int{}
	for run := 0; run < runs; run++ {
		seed := uint64(run)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			propertyRun(t, rand.New(rand.NewPCG(seed, 0xc0c0)), steps, stats)
		})
		if t.Failed() {
			return
		}
	}
	t.Logf("outcomes: %v", stats)
	for _, k := range []string{"passed", "rejected", "expired", "withdrawn", "refused", "failed", "RecoveryThresholdSet"} {
		if stats[k] == 0 {
			t.Errorf("no %s outcome in the random runs: the generator is too narrow", k)
		}
	}
}

var (
	propAccounts = []common.Address{accA, accA2, accB, accC, accD, accE, accP, accX,
		common.HexToAddress("0x4444000000000000000000000000000000000001")}
	propIDs   = []string{"A", "B", "C", "D", "E", "P", "Q"}
	propNodes = []string{"vn1", "vn2", "vn3", "vn4", "vn5"}
	propCodes = []common.Hash{code1, code2, common.HexToHash("0x03")}
)

func randomAction(r *rand.Rand) Action {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	acc := func() []common.Address {
		n := 1 + r.IntN(2)
		var out []common.Address
		for len(out) < n {
			a := propAccounts[r.IntN(len(propAccounts))]
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}
	switch ActionKind(r.IntN(int(numActions))) {
	case ActAddMember:
		return AddMember{member(pick(propIDs), acc()...)}
	case ActRemoveMember:
		return RemoveMember{pick(propIDs)}
	case ActAddParticipant:
		return AddParticipant{Participant{ID: pick(propIDs), Accounts: acc()}}
	case ActRemoveParticipant:
		return RemoveParticipant{pick(propIDs)}
	case ActAddNode:
		id := pick(propNodes)
		n := testNode(id, pick(propIDs), fmt.Sprintf("10.1.0.%d:30400", r.IntN(6)))
		if r.IntN(2) == 0 {
			n.CodeID = propCodes[r.IntN(len(propCodes))]
		}
		return AddNode{n}
	case ActRemoveNode:
		return RemoveNode{pick(propNodes)}
	case ActSetPolicy:
		k := PolicyKind(r.IntN(4))
		var m uint64
		if k == MOfN {
			m = uint64(1 + r.IntN(5))
		}
		return SetPolicy{Policy{Kind: k, M: m}}
	case ActAddCode:
		return AddCode{propCodes[r.IntN(len(propCodes))]}
	case ActRemoveCode:
		return RemoveCode{propCodes[r.IntN(len(propCodes))]}
	case ActAddTEE:
		return AddTEE{KnownTEEs[r.IntN(2)]}
	case ActRemoveTEE:
		return RemoveTEE{KnownTEEs[r.IntN(2)]}
	case ActSetRecoveryKey:
		// Some member's key, another member's, or none.
		var key common.Hash
		if r.IntN(4) != 0 {
			key = common.Hash(recoveryPub(pick(propIDs)))
		}
		return SetRecoveryKey{ID: pick(propIDs), Key: key}
	case ActSetSettings:
		return SetSettings{Settings{ProposalLifetime: uint64(10 + r.IntN(40)), EpochLength: uint64(1 + r.IntN(3)), OpenSending: r.IntN(2) == 0}}
	case ActSetRecoveryThreshold:
		// 0 (majority) to one more than the members that may hold keys.
		return SetRecoveryThreshold{M: uint16(r.IntN(len(propIDs)))}
	}
	panic("randomAction: an action kind is missing")
}

func propertyRun(t *testing.T, r *rand.Rand, steps int, stats map[string]int) {
	policies := []Policy{{Kind: Unanimous}, {Kind: MOfN, M: 2}, {Kind: MOfN, M: 3}, {Kind: OneOfN}, {Kind: Majority}, {Kind: MOfN, M: 1}}
	g := testGenesis(policies[r.IntN(len(policies))])
	g.Settings.ProposalLifetime = 40
	st := installed(t, g)
	c := NewContract()
	block := uint64(1)
	nextID := uint64(1)
	var recent []Action
	for step := 0; step < steps; step++ {
		block += uint64(r.IntN(6))
		before := mustLoad(t, st)
		// Mostly members' accounts, sometimes anyone's.
		caller := propAccounts[r.IntN(len(propAccounts))]
		if r.IntN(4) != 0 {
			m := before.Members[r.IntN(len(before.Members))]
			caller = m.Accounts[r.IntN(len(m.Accounts))]
		}
		// Mostly open proposals, sometimes any id.
		target := bigID(1 + r.Uint64N(nextID))
		if open, _ := OpenProposals(st, block); len(open) > 0 && r.IntN(5) != 0 {
			target = bigID(open[r.IntN(len(open))].ID)
		}
		var method string
		var args []any
		switch x := r.IntN(10); {
		case x < 4:
			a := randomAction(r)
			if len(recent) > 0 && r.IntN(3) == 0 {
				a = recent[r.IntN(len(recent))] // competing duplicates fail
			}
			recent = append(recent, a)
			method, args = a.Kind().Method(), a.abiArgs()
		case x < 8:
			method, args = "vote", []any{target, r.IntN(3) != 0}
		case x < 9:
			method, args = "withdraw", []any{target}
		default:
			method = "expire"
		}
		logsBefore := len(st.Logs())
		out, ret, _, err := call(t, c, CallContext{State: st, Caller: caller, BlockNumber: block}, method, args...)
		after := mustLoad(t, st)
		logs := st.Logs()[logsBefore:]
		desc := fmt.Sprintf("step %d block %d: %s %s(%v)", step, block, caller.Hex()[:6], method, args)
		if err != nil {
			stats["refused"]++
			if len(logs) != 0 || after.Version != before.Version || !equalConstitution(before, after) {
				t.Fatalf("%s: refused (%s) but changed the state", desc, revertReason(t, ret))
			}
			continue
		}
		if len(out) == 1 && method != "expire" {
			nextID = out[0].(*big.Int).Uint64() + 1
		}
		checkCall(t, st, desc, before, after, logs, block, stats)
		checkWellFormed(t, st, desc, after)
	}
}

func equalConstitution(a, b *Constitution) bool { return a.String() == b.String() }

// checkCall replays the call's events over the constitution before it.
func checkCall(t *testing.T, st *state.StateDB, desc string, before, after *Constitution, logs []*types.Log, block uint64, stats map[string]int) {
	a := ABI()
	members := map[string]bool{}
	for _, m := range before.Members {
		members[m.ID] = true
	}
	pol := before.Policy
	threshold := before.Settings.RecoveryThreshold
	version := before.Version
	passed := map[uint64]bool{}
	for _, l := range logs {
		ev, err := a.EventByID(l.Topics[0])
		if err != nil {
			t.Fatalf("%s: unknown event: %v", desc, err)
		}
		vals := map[string]any{}
		if err := ev.Inputs.UnpackIntoMap(vals, l.Data); err != nil {
			t.Fatal(err)
		}
		switch ev.Name {
		case "ProposalResolved":
			id := new(big.Int).SetBytes(l.Topics[1][:]).Uint64()
			state := ProposalState(vals["state"].(uint8))
			stats[state.String()]++
			if state != Passed {
				continue
			}
			p, err := GetProposal(st, id, block)
			if err != nil || p == nil || p.State != Passed {
				t.Fatalf("%s: proposal %d resolved passed but reads %v %v", desc, id, p, err)
			}
			seen := map[string]bool{}
			yes := 0
			for _, b := range p.Ballots {
				if seen[b.Member] {
					t.Fatalf("%s: proposal %d has two ballots of %s", desc, id, b.Member)
				}
				seen[b.Member] = true
				if b.Approve && members[b.Member] {
					yes++
				}
			}
			if yes < need(pol, len(members)) {
				t.Fatalf("%s: proposal %d (%s) passed with %d approvals of %d members under %s", desc, id, p.Action, yes, len(members), pol)
			}
			passed[id] = true
		case "MemberAdded":
			members[vals["id"].(string)] = true
		case "MemberRemoved":
			delete(members, vals["id"].(string))
		case "PolicyChanged":
			pol = Policy{Kind: PolicyKind(vals["kind"].(uint8)), M: vals["m"].(uint64)}
		case "RecoveryThresholdSet":
			threshold = vals["m"].(uint16)
			stats[ev.Name]++
		case "ConstitutionChanged":
			v := new(big.Int).SetBytes(l.Topics[1][:]).Uint64()
			id := new(big.Int).SetBytes(l.Topics[2][:]).Uint64()
			if v != version+1 || !passed[id] {
				t.Fatalf("%s: change to version %d by proposal %d (version was %d, passed %v)", desc, v, id, version, passed)
			}
			version = v
		}
	}
	if after.Version != version {
		t.Fatalf("%s: version %d, events say %d", desc, after.Version, version)
	}
	if version == before.Version && !equalConstitution(before, after) {
		t.Fatalf("%s: constitution changed without a passed proposal", desc)
	}
	var ids []string
	for id := range members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var got []string
	for _, m := range after.Members {
		got = append(got, m.ID)
	}
	if !slices.Equal(ids, got) || pol != after.Policy {
		t.Fatalf("%s: replayed members %v policy %s, state has %v %s", desc, ids, pol, got, after.Policy)
	}
	// Only set-recovery-threshold changes the threshold (not set-settings).
	if after.Settings.RecoveryThreshold != threshold {
		t.Fatalf("%s: recovery threshold %d, events say %d", desc, after.Settings.RecoveryThreshold, threshold)
	}
}

func checkWellFormed(t *testing.T, st *state.StateDB, desc string, c *Constitution) {
	if len(c.Members) == 0 || need(c.Policy, len(c.Members)) > len(c.Members) || need(c.Policy, len(c.Members)) < 1 {
		t.Fatalf("%s: %d members under %s", desc, len(c.Members), c.Policy)
	}
	if len(c.Nodes) == 0 || len(c.TEEManifest) == 0 || len(c.CodeManifest) == 0 {
		t.Fatalf("%s: emptied a list: %s", desc, c)
	}
	owners := map[string]bool{}
	holders := map[string]string{} // recovery key → member
	for _, m := range c.Members {
		owners[m.ID] = true
		if len(m.RecoveryKey) == 0 {
			continue
		}
		if prev, ok := holders[string(m.RecoveryKey)]; ok {
			t.Fatalf("%s: members %s and %s have the same recovery key", desc, prev, m.ID)
		}
		holders[string(m.RecoveryKey)] = m.ID
		if st.GetState(Address, recoveryKeySlot(m.RecoveryKey)) != actorKey(m.ID) {
			t.Fatalf("%s: recovery key index does not point at member %s", desc, m.ID)
		}
	}
	// The threshold in effect is reachable: 1..n with n keys, 0 without.
	if n, m := len(holders), c.RecoveryThreshold(); (n == 0 && m != 0) || (n > 0 && (m < 1 || m > n)) {
		t.Fatalf("%s: recovery threshold in effect %d with %d key(s) (stored %d)", desc, m, n, c.Settings.RecoveryThreshold)
	}
	if ReadSettings(st) != c.Settings {
		t.Fatalf("%s: ReadSettings %+v, Load %+v", desc, ReadSettings(st), c.Settings)
	}
	// Keys no member holds are not indexed.
	for _, id := range propIDs {
		k := recoveryPub(id)
		if _, held := holders[string(k)]; !held && st.GetState(Address, recoveryKeySlot(k)) != (common.Hash{}) {
			t.Fatalf("%s: recovery key of %s indexed but held by no member", desc, id)
		}
	}
	for _, p := range c.Participants {
		if owners[p.ID] {
			t.Fatalf("%s: id %s is both member and participant", desc, p.ID)
		}
		owners[p.ID] = true
	}
	for _, n := range c.Nodes {
		if !owners[n.Owner] {
			t.Fatalf("%s: node %s owned by unknown %s", desc, n.ID, n.Owner)
		}
		if n.CodeID != (common.Hash{}) && !slices.Contains(c.CodeManifest, n.CodeID) {
			t.Fatalf("%s: node %s pinned to a removed code identity", desc, n.ID)
		}
	}
	for _, acc := range propAccounts {
		kind, id := c.ActorOf(acc)
		gk, gid, err := ActorOf(st, acc)
		if err != nil || gk != kind || gid != id || IsActor(st, acc) != (kind != NoActor) || IsMember(st, acc) != (kind == KindMember) {
			t.Fatalf("%s: account %s: slot says %v %q, constitution %v %q", desc, acc.Hex(), gk, gid, kind, id)
		}
	}
}
