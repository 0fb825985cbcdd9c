package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Governance tests: a governed 3-node cluster (testnode.StartGoverned, the
// constitution of scripts/devnet.sh GOVERNED=1: members A, B, C owning
// node1..node3, participant D, policy 2-of-3) driven only through JSON-RPC
// with ethclient and the published ABI of the governance precompile.
// Skipped with -short.

// TestGovernanceMembershipLifecycle: a member E whose accounts are an EOA
// and a forwarding contract is added by vote; E proposes (through the
// contract) a validating node node4, started beforehand in waiting mode,
// which becomes a Raft voter, syncs and serves reads; node4 is removed by
// vote (E approving through the contract) and leaves Raft and refuses
// transactions; E is removed; the policy becomes unanimous by a 2-of-3
// vote, after which a proposal needs all three members. Every step's
// events are checked, and at the end the whole history by eth_getLogs.
func TestGovernanceMembershipLifecycle(t *testing.T) {
	g := startGoverned(t)
	lead := g.Leader()
	f := g.Others(lead)[0]
	fc := g.Nodes[f].Client()
	wA, wB, wC := g.Wallet(f, "A"), g.Wallet(f, "B"), g.Wallet(f, "C")
	t.Logf("transactions go through follower %s", g.IDs[f])

	// The genesis constitution.
	if v := govVersion(t, fc); v != 1 {
		t.Errorf("version() = %d, want 1", v)
	}
	if k, m := govPolicy(t, fc); k != govPolicyMOfN || m != 2 {
		t.Errorf("policy() = (%d, %d), want m-of-n (%d), 2", k, m, govPolicyMOfN)
	}
	if ids := govMemberIDs(govMembers(t, fc)); !govSameSet(ids, []string{"A", "B", "C"}) {
		t.Errorf("members() = %v, want A, B, C", ids)
	}
	for _, n := range govNodes(t, fc) {
		k := g.Index(n.Id)
		if k < 0 || n.Owner != g.Owners[k] || n.RaftAddr != g.RaftAddrs[k] || len(n.PublicKey) != 65 {
			t.Errorf("nodes(): %s owner %q raftAddr %s key %d bytes", n.Id, n.Owner, n.RaftAddr, len(n.PublicKey))
		}
	}

	// E: an EOA and a forwarder contract it owns (deployed by A; a
	// non-actor may receive value but not send).
	keyE := govKey("E")
	addrE := crypto.PubkeyToAddress(keyE.PublicKey)
	wA.Transfer(t, addrE, testnode.Ether(10))
	fwd := deployGovForwarder(t, wA, addrE)
	t.Logf("E: account %s, forwarder contract %s", addrE.Hex(), fwd.Hex())
	// Before E is a member, governance sees the contract as an unknown
	// caller (msg.sender is the contract, not E's EOA).
	_, err := govCallFrom(fc, addrE, fwd, govForwardData(t, "proposeAddTEE", "sgx"), nil)
	govWantRevert(t, "proposal through the forwarder before E is a member", err, "only members may propose", fwd.Hex())

	// 1. Member E added: A proposes, B approves; 2-of-3 passes it.
	r := govTransact(t, wA, "proposeAddMember", "E", []common.Address{addrE, fwd}, []byte{0x05}, []byte{})
	pE := govProposalID(t, r)
	govWantEvents(t, "proposeAddMember", govEventsOf(t, r), "ProposalCreated", "ProposalVoted")
	if p := govGetProposal(t, fc, pE); p.State != govOpen || p.Proposer != "A" || p.Action != govActAddMember || len(p.Ballots) != 1 || !p.Ballots[0].Approve {
		t.Errorf("proposal %v after proposing = %+v, want open, by A, one approval", pE, p)
	}
	r = govTransact(t, wB, "vote", pE, true)
	evs := govEventsOf(t, r)
	govWantEvents(t, "B's deciding ballot on adding E", evs, "ProposalVoted", "MemberAdded", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 2, pE)
	govWantResolved(t, evs, pE, govPassed)
	if p := govGetProposal(t, fc, pE); p.State != govPassed {
		t.Errorf("proposal %v: state %s, want Passed", pE, govStateName(p.State))
	}
	var memE *govMember
	for _, m := range govMembers(t, fc) {
		if m.Id == "E" {
			memE = &m
		}
	}
	if memE == nil || !govSameSet(govAddrStrings(memE.Accounts), govAddrStrings([]common.Address{addrE, fwd})) || !bytes.Equal(memE.PublicKey, []byte{5}) {
		t.Fatalf("members() after adding E: E = %+v", memE)
	}
	if out := govView(t, fc, "actorOf", fwd); out[0].(uint8) != 1 || out[1].(string) != "E" {
		t.Errorf("actorOf(forwarder) = %v, want (Member, E)", out)
	}

	// 2. node4, started in waiting mode, is proposed by E through its
	// contract account and approved by A.
	j := g.StartJoiner(t, "node4")
	t.Logf("node4 waiting: raft %s, key %s…", j.RaftAddr, j.PublicKey[:18])
	wE := testnode.NewWallet(fc, keyE, testnode.DevChainID)
	r = govForward(t, wE, fwd, "proposeAddNode", "node4", "E", j.RaftAddr, hexutil.MustDecode(j.PublicKey), [32]byte{})
	pN := govProposalID(t, r)
	evs = govEventsOf(t, r)
	if len(evs) == 0 || evs[0].Name != "ProposalCreated" || evs[0].Fields["proposer"] != "E" {
		t.Errorf("proposal through the forwarder: events %v, want ProposalCreated by E first", evs)
	}
	r = govTransact(t, wA, "vote", pN, true)
	evs = govEventsOf(t, r)
	govWantEvents(t, "A's deciding ballot on node4", evs, "ProposalVoted", "NodeAdded", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 3, pN)
	for _, e := range evs {
		if e.Name == "NodeAdded" && (e.Fields["id"] != "node4" || e.Fields["owner"] != "E" || e.Fields["raftAddr"] != j.RaftAddr ||
			!bytes.Equal(e.Fields["publicKey"].([]byte), hexutil.MustDecode(j.PublicKey))) {
			t.Errorf("NodeAdded = %v", e.Fields)
		}
	}
	// Voted in, node4 gets the ledger secrets and opens its RPC.
	if err := j.WaitReady(); err != nil {
		t.Fatalf("node4 after the vote: %v", err)
	}
	all := append(append([]*testnode.Node{}, g.Nodes...), j.Node)
	names := append(append([]string{}, g.IDs...), "node4")
	start := time.Now()
	err = testnode.Poll(30*time.Second, 20*time.Millisecond, func() error {
		for i, n := range all {
			ci, err := testnode.RaftCluster(n)
			if err != nil {
				return fmt.Errorf("raft_cluster on %s: %v", names[i], err)
			}
			s, ok := ci.Server("node4")
			if !ok || s.Suffrage != "Voter" || s.Address != j.RaftAddr || len(ci.Servers) != 4 {
				return fmt.Errorf("raft_cluster on %s: %+v", names[i], ci.Servers)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("node4 did not become a voter listed by every node: %v\nnode4 log:\n%s", err, testnode.Tail(j.Log(), 30))
	}
	t.Logf("node4 is a voter on every node %v after the deciding block", time.Since(start).Round(time.Millisecond))

	// node4 syncs and serves reads: after a transfer, its head and the
	// balances it reports are the leader's.
	sink := crypto.PubkeyToAddress(govKey("sink").PublicKey)
	r = wC.Transfer(t, sink, big.NewInt(777))
	lead = g.Leader()
	govWaitBlock(t, j.Node, r.BlockNumber.Uint64())
	govWaitBlock(t, g.Nodes[lead], r.BlockNumber.Uint64())
	var h4, hl testnode.Head
	err = testnode.Poll(10*time.Second, 20*time.Millisecond, func() error {
		if err := testnode.CallNode(j.Node, &h4, "eth_getBlockByNumber", "latest", false); err != nil {
			return err
		}
		if err := testnode.CallNode(g.Nodes[lead], &hl, "eth_getBlockByNumber", "latest", false); err != nil {
			return err
		}
		if h4 != hl {
			return fmt.Errorf("node4 head %s, leader %s head %s", h4, g.IDs[lead], hl)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("node4 not on the leader's head: %v", err)
	}
	at := new(big.Int).SetUint64(uint64(hl.Number))
	for _, a := range []common.Address{testnode.GovAddress("A"), testnode.GovAddress("B"), testnode.GovAddress("C"), testnode.GovAddress("D"), addrE, fwd, sink} {
		b4, err4 := j.Client().BalanceAt(ctx(t), a, at)
		bl, errl := g.Nodes[lead].Client().BalanceAt(ctx(t), a, at)
		if err4 != nil || errl != nil || b4.Cmp(bl) != 0 {
			t.Errorf("balance of %s at #%d: node4 %v (%v), leader %v (%v)", a.Hex(), at, b4, err4, bl, errl)
		}
	}
	if v := govVersion(t, j.Client()); v != 3 {
		t.Errorf("version() on node4 = %d, want 3", v)
	}
	// A transaction sent to node4 is forwarded and committed.
	w4 := testnode.NewWallet(j.Client(), testnode.GovKey("D"), testnode.DevChainID)
	r = w4.Transfer(t, sink, big.NewInt(1))
	t.Logf("node4 at %s; D's transfer through node4 committed in #%d", hl, r.BlockNumber)

	// 3. node4 removed: B proposes, E approves through its contract.
	r = govTransact(t, wB, "proposeRemoveNode", "node4")
	pR := govProposalID(t, r)
	r = govForward(t, wE, fwd, "vote", pR, true)
	evs = govEventsOf(t, r)
	govWantEvents(t, "E's deciding ballot (through the contract) on removing node4", evs, "ProposalVoted", "NodeRemoved", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 4, pR)
	for _, e := range evs {
		if e.Name == "ProposalVoted" && (e.Fields["member"] != "E" || e.Fields["approve"] != true) {
			t.Errorf("ProposalVoted through the forwarder = %v, want E approving", e.Fields)
		}
	}
	err = testnode.Poll(30*time.Second, 20*time.Millisecond, func() error {
		for i, n := range g.Nodes {
			ci, err := testnode.RaftCluster(n)
			if err != nil {
				return fmt.Errorf("raft_cluster on %s: %v", g.IDs[i], err)
			}
			if _, ok := ci.Server("node4"); ok || len(ci.Servers) != 3 {
				return fmt.Errorf("raft_cluster on %s: %+v", g.IDs[i], ci.Servers)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("node4 still in the Raft configuration: %v", err)
	}
	if ids := govNodeIDs(govNodes(t, fc)); !govSameSet(ids, []string{"node1", "node2", "node3"}) {
		t.Errorf("nodes() after removing node4 = %v", ids)
	}
	// node4 learns it was removed (its own configuration no longer lists
	// it) and should stop taking part: wait for that, then for its role to
	// leave follower (a removed node is out of the cluster; give it 5 s).
	var role string
	var ci4 testnode.RaftClusterInfo
	err = testnode.Poll(15*time.Second, 20*time.Millisecond, func() error {
		var err error
		if ci4, err = testnode.RaftCluster(j.Node); err != nil {
			return err
		}
		if _, listed := ci4.Server("node4"); listed {
			return fmt.Errorf("node4's raft_cluster still lists it: %+v", ci4.Servers)
		}
		return nil
	})
	if err != nil {
		t.Errorf("removed node4 does not learn its removal: %v", err)
	}
	notFollower := testnode.Poll(5*time.Second, 20*time.Millisecond, func() error {
		if err := testnode.CallNode(j.Node, &role, "raft_role"); err != nil {
			return err
		}
		if role == "follower" || role == "leader" || role == "candidate" {
			return fmt.Errorf("raft_role %q", role)
		}
		return nil
	})
	t.Logf("node4 after its removal: raft_role %q (%v), its raft_cluster servers %+v", role, notFollower, ci4.Servers)
	// The other nodes no longer admit node4 on their node-to-node port:
	// its connections were cut and its attempts to reconnect (it stands
	// for election, out of the cluster) are refused.
	err = testnode.Poll(15*time.Second, 50*time.Millisecond, func() error {
		for i, n := range g.Nodes {
			if strings.Contains(n.Log(), `node id is not a validating node of this network: \"node4\"`) {
				t.Logf("%s refuses node4's connections", g.IDs[i])
				return nil
			}
		}
		return errors.New("no node logged a refusal of node4")
	})
	if err != nil {
		t.Errorf("removed node4 still connects: %v", err)
	}
	nonceC := wC.PendingNonce(t)
	tx, err := govSendErr(t, j.Client(), testnode.GovKey("C"), nonceC)
	if err == nil {
		t.Errorf("eth_sendRawTransaction on removed node4 (C's transfer, nonce %d, tx %s): accepted, want an error saying node4 is no longer a validating node", nonceC, tx.Hash().Hex())
		if rr, err := govReceiptOn(t, g.Nodes[lead], tx.Hash(), 3*time.Second); rr != nil {
			t.Errorf("... and the transaction accepted by removed node4 was committed by the cluster in block #%d", rr.BlockNumber)
		} else {
			var pending struct {
				BlockNumber *hexutil.Big `json:"blockNumber"`
			}
			perr := testnode.CallNode(j.Node, &pending, "eth_getTransactionByHash", tx.Hash())
			t.Logf("the transaction accepted by node4 was not committed within 3 s (%v); node4's eth_getTransactionByHash: blockNumber %v (%v)", err, pending.BlockNumber, perr)
		}
	} else {
		wantErr(t, "eth_sendRawTransaction on removed node4", err, "not a validating node")
	}

	// 4. Member E removed: A proposes, B approves. E's accounts can no
	// longer transact.
	r = govTransact(t, wA, "proposeRemoveMember", "E")
	pRE := govProposalID(t, r)
	r = govTransact(t, wB, "vote", pRE, true)
	evs = govEventsOf(t, r)
	govWantEvents(t, "B's deciding ballot on removing E", evs, "ProposalVoted", "MemberRemoved", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 5, pRE)
	if ids := govMemberIDs(govMembers(t, fc)); !govSameSet(ids, []string{"A", "B", "C"}) {
		t.Errorf("members() after removing E = %v", ids)
	}
	if govView(t, fc, "isMember", fwd)[0].(bool) {
		t.Errorf("isMember(forwarder) after removing E = true")
	}
	_, err = govSendErr(t, fc, keyE, wE.PendingNonce(t))
	wantErr(t, "E's transaction after E was removed", err, "sender not allowed")

	// 5. Policy made unanimous by a 2-of-3 vote.
	r = govTransact(t, wA, "proposeSetPolicy", govPolicyUnanimous, uint64(0))
	pP := govProposalID(t, r)
	r = govTransact(t, wB, "vote", pP, true)
	evs = govEventsOf(t, r)
	govWantEvents(t, "B's deciding ballot on the unanimous policy", evs, "ProposalVoted", "PolicyChanged", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 6, pP)
	if k, m := govPolicy(t, fc); k != govPolicyUnanimous {
		t.Errorf("policy() = (%d, %d), want unanimous (%d)", k, m, govPolicyUnanimous)
	}

	// 6. The next proposal stays open after two approvals and passes with
	// the third.
	keyF := govKey("F")
	addrF := crypto.PubkeyToAddress(keyF.PublicKey)
	r = govTransact(t, wA, "proposeAddParticipant", "F", []common.Address{addrF})
	pF := govProposalID(t, r)
	r = govTransact(t, wB, "vote", pF, true)
	govWantEvents(t, "B's ballot under unanimity", govEventsOf(t, r), "ProposalVoted")
	if p := govGetProposal(t, fc, pF); p.State != govOpen || len(p.Ballots) != 2 {
		t.Errorf("proposal %v after 2 of 3 approvals under unanimity: state %s, %d ballots; want Open, 2", pF, govStateName(p.State), len(p.Ballots))
	}
	if v := govVersion(t, fc); v != 6 {
		t.Errorf("version() with the proposal open = %d, want 6", v)
	}
	r = govTransact(t, wC, "vote", pF, true)
	evs = govEventsOf(t, r)
	govWantEvents(t, "C's deciding ballot under unanimity", evs, "ProposalVoted", "ParticipantAdded", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 7, pF)
	// F is now a participant: it may transact.
	wA.Transfer(t, addrF, testnode.Ether(1))
	wF := testnode.NewWallet(fc, keyF, testnode.DevChainID)
	wF.Transfer(t, sink, big.NewInt(5))

	// 7. The whole history by eth_getLogs on the leader.
	lead = g.Leader()
	head := r.BlockNumber.Uint64()
	govWaitBlock(t, g.Nodes[lead], head)
	lc := g.Nodes[lead].Client()
	logs, err := lc.FilterLogs(ctx(t), ethereum.FilterQuery{FromBlock: big.NewInt(0), ToBlock: new(big.Int).SetUint64(head), Addresses: []common.Address{governance.Address}})
	if err != nil {
		t.Fatalf("eth_getLogs: %v", err)
	}
	props := []*big.Int{pE, pN, pR, pRE, pP, pF}
	proposers := []string{"A", "E", "B", "A", "A", "A"}
	actions := []uint8{govActAddMember, govActAddNode, govActRemoveNode, govActRemoveMember, govActSetPolicy, govActAddParticipant}
	var created, resolved, changed, voted []govEvent
	for _, l := range logs {
		e := govDecode(t, l)
		switch e.Name {
		case "ProposalCreated":
			created = append(created, e)
		case "ProposalResolved":
			resolved = append(resolved, e)
		case "ConstitutionChanged":
			changed = append(changed, e)
		case "ProposalVoted":
			voted = append(voted, e)
		}
	}
	if len(created) != len(props) || len(resolved) != len(props) || len(changed) != len(props) {
		t.Fatalf("eth_getLogs: %d ProposalCreated, %d ProposalResolved, %d ConstitutionChanged; want %d each", len(created), len(resolved), len(changed), len(props))
	}
	for i := range props {
		c := created[i]
		if c.Fields["id"].(*big.Int).Cmp(props[i]) != 0 || c.Fields["proposer"] != proposers[i] || c.Fields["action"] != actions[i] {
			t.Errorf("ProposalCreated #%d = %v, want id %v by %s, action %d", i, c.Fields, props[i], proposers[i], actions[i])
		}
		if rs := resolved[i]; rs.Fields["id"].(*big.Int).Cmp(props[i]) != 0 || rs.Fields["state"] != govPassed {
			t.Errorf("ProposalResolved #%d = %v, want id %v passed", i, rs.Fields, props[i])
		}
		if ch := changed[i]; ch.Fields["version"] != uint64(i+2) || ch.Fields["proposalId"].(*big.Int).Cmp(props[i]) != 0 {
			t.Errorf("ConstitutionChanged #%d = %v, want version %d, proposal %v", i, ch.Fields, i+2, props[i])
		}
	}
	// One implicit approval per proposal plus the 7 ballots cast.
	if len(voted) != len(props)+7 {
		t.Errorf("eth_getLogs: %d ProposalVoted, want %d", len(voted), len(props)+7)
	}
	// A topic filter: ProposalResolved of proposal pF only.
	rl, err := lc.FilterLogs(ctx(t), ethereum.FilterQuery{
		FromBlock: big.NewInt(0), ToBlock: new(big.Int).SetUint64(head), Addresses: []common.Address{governance.Address},
		Topics: [][]common.Hash{{govABI.Events["ProposalResolved"].ID}, {common.BigToHash(pF)}},
	})
	if err != nil || len(rl) != 1 || rl[0].TxHash != r.TxHash {
		t.Errorf("eth_getLogs ProposalResolved(%v) = %d logs (%v), want 1 in tx %s", pF, len(rl), err, r.TxHash.Hex())
	}
	t.Logf("history on %s up to #%d: %d governance logs, %d proposals passed, constitution version %d", g.IDs[lead], head, len(logs), len(props), govVersion(t, lc))
}

// TestGovernanceRefusals: second ballots, ballots and proposals of
// non-members (accounts, a participant) revert with a decodable
// Error(string) reason; a participant transacts but cannot vote; a
// non-actor's transaction is refused at admission on followers and the
// leader.
func TestGovernanceRefusals(t *testing.T) {
	g := startGoverned(t)
	lead := g.Leader()
	f := g.Others(lead)[0]
	fc, lc := g.Nodes[f].Client(), g.Nodes[lead].Client()
	wA, wB, wC, wD := g.Wallet(f, "A"), g.Wallet(f, "B"), g.Wallet(f, "C"), g.Wallet(f, "D")
	addrA, addrB, addrD := testnode.GovAddress("A"), testnode.GovAddress("B"), testnode.GovAddress("D")
	gov := governance.Address

	// Views answer anyone.
	if !govView(t, fc, "isMember", addrA)[0].(bool) || govView(t, fc, "isMember", addrD)[0].(bool) || !govView(t, fc, "isActor", addrD)[0].(bool) {
		t.Errorf("isMember(A), isMember(D), isActor(D) wrong")
	}
	if out := govView(t, fc, "actorOf", addrD); out[0].(uint8) != 2 || out[1].(string) != "D" {
		t.Errorf("actorOf(D) = %v, want (Participant, D)", out)
	}

	// A proposal kept open: A proposes (approving), B votes against; C
	// could still pass it.
	r := govTransact(t, wA, "proposeAddTEE", "sgx")
	p := govProposalID(t, r)
	r = govTransact(t, wB, "vote", p, false)
	govWantEvents(t, "B's ballot against", govEventsOf(t, r), "ProposalVoted")
	if pr := govGetProposal(t, fc, p); pr.State != govOpen || len(pr.Ballots) != 2 {
		t.Fatalf("proposal %v = %+v, want open with 2 ballots", p, pr)
	}

	// Second ballots are refused: the proposer's and B's.
	vote := govPack(t, "vote", p, true)
	_, err := govCallFrom(fc, addrA, gov, vote, nil)
	govWantRevert(t, "second ballot of the proposer A (eth_call)", err, `member "A" already voted`, fmt.Sprintf("proposal %v", p))
	_, err = govCallFrom(fc, addrB, gov, vote, nil)
	govWantRevert(t, "second ballot of B (eth_call)", err, `member "B" already voted`)
	_, err = wB.Client.EstimateGas(ctx(t), ethereum.CallMsg{From: addrB, To: &gov, Data: vote})
	govWantRevert(t, "second ballot of B (eth_estimateGas)", err, `member "B" already voted`)
	r = govSendFixedGas(t, wB, gov, vote)
	if r.Status != types.ReceiptStatusFailed || len(r.Logs) != 0 {
		t.Errorf("mined second ballot of B: status %d, %d logs; want 0, none", r.Status, len(r.Logs))
	}
	_, err = govCallFrom(fc, addrB, gov, vote, new(big.Int).Sub(r.BlockNumber, big.NewInt(1)))
	govWantRevert(t, "second ballot of B replayed at the parent of its block", err, `member "B" already voted`)

	// An account of no actor: ballots and proposals revert with a reason
	// (through eth_call: such an account cannot even send a transaction).
	stranger := govKey("stranger")
	addrS := crypto.PubkeyToAddress(stranger.PublicKey)
	_, err = govCallFrom(fc, addrS, gov, vote, nil)
	govWantRevert(t, "ballot of a non-member", err, "only members may vote", addrS.Hex(), "not a member's account")
	_, err = govCallFrom(fc, addrS, gov, govPack(t, "proposeAddMember", "S", []common.Address{addrS}, []byte{1}, []byte{}), nil)
	govWantRevert(t, "proposal of a non-member", err, "only members may propose", addrS.Hex())
	_, err = fc.EstimateGas(ctx(t), ethereum.CallMsg{From: addrS, To: &gov, Data: vote})
	govWantRevert(t, "ballot of a non-member (eth_estimateGas)", err, "only members may vote")

	// The participant D transacts, but cannot vote nor propose.
	sink := crypto.PubkeyToAddress(govKey("sink").PublicKey)
	r = wD.Transfer(t, sink, big.NewInt(1000))
	t.Logf("participant D's transfer: block #%d", r.BlockNumber)
	_, err = govCallFrom(fc, addrD, gov, vote, nil)
	govWantRevert(t, "ballot of participant D (eth_call)", err, "only members may vote", `participant "D"`)
	_, err = govCallFrom(fc, addrD, gov, govPack(t, "proposeAddTEE", "sgx"), nil)
	govWantRevert(t, "proposal of participant D (eth_call)", err, "only members may propose", `participant "D"`)
	r = govSendFixedGas(t, wD, gov, vote)
	if r.Status != types.ReceiptStatusFailed || len(r.Logs) != 0 {
		t.Errorf("mined ballot of participant D: status %d, %d logs; want 0, none", r.Status, len(r.Logs))
	}
	if pr := govGetProposal(t, fc, p); pr.State != govOpen || len(pr.Ballots) != 2 {
		t.Errorf("proposal %v after D's ballot = state %s, %d ballots; want Open, 2", p, govStateName(pr.State), len(pr.Ballots))
	}

	// Other refusals with reasons.
	_, err = govCallFrom(fc, addrA, gov, govPack(t, "proposeRemoveMember", "Z"), nil)
	govWantRevert(t, "proposal to remove an unknown member", err, `no member "Z"`)
	_, err = govCallFrom(fc, addrA, gov, govPack(t, "vote", big.NewInt(999), true), nil)
	govWantRevert(t, "ballot on an unknown proposal", err, "no proposal 999")
	_, err = govCallFrom(fc, addrA, gov, []byte{0xde, 0xad, 0xbe, 0xef}, nil)
	govWantRevert(t, "unknown selector", err, "unknown function selector")
	_, err = fc.CallContract(ctx(t), ethereum.CallMsg{From: addrA, To: &gov, Data: govPack(t, "expire"), Value: big.NewInt(1)}, nil)
	govWantRevert(t, "value sent to expire()", err, "not payable")

	// A non-actor's transaction is refused at admission, on a follower and
	// on the leader, even when the account is funded.
	wA.Transfer(t, addrS, testnode.Ether(1))
	for _, i := range []int{f, lead} {
		_, err := govSendErr(t, g.Nodes[i].Client(), stranger, 0)
		wantErr(t, fmt.Sprintf("non-actor's transfer on %s", g.IDs[i]), err, "sender not allowed")
		if err != nil {
			if code := rpcCode(err); code != -32000 {
				t.Errorf("non-actor's transfer on %s: error code %d, want -32000", g.IDs[i], code)
			}
			for _, s := range []string{addrS.Hex(), "not an account of a member or participant"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("non-actor's transfer on %s: %q does not contain %q", g.IDs[i], err.Error(), s)
				}
			}
		}
	}
	// Also a contract creation, and a ballot transaction.
	ws := testnode.NewWallet(fc, stranger, testnode.DevChainID)
	tip, feeCap := ws.Fees(t)
	for what, data := range map[string]types.TxData{
		"contract creation": &types.DynamicFeeTx{ChainID: testnode.DevChainID, GasTipCap: tip, GasFeeCap: feeCap, Gas: 100000, Data: []byte{0x60, 0x00}},
		"ballot":            &types.DynamicFeeTx{ChainID: testnode.DevChainID, GasTipCap: tip, GasFeeCap: feeCap, Gas: govGas, To: &gov, Data: vote},
	} {
		err := fc.SendTransaction(ctx(t), ws.Sign(t, data))
		wantErr(t, "non-actor's "+what, err, "sender not allowed")
	}
	if n, err := lc.PendingNonceAt(ctx(t), addrS); err != nil || n != 0 {
		t.Errorf("pending nonce of the non-actor on the leader = %d (%v), want 0", n, err)
	}

	// C decides; then no ballot is accepted any more.
	r = govTransact(t, wC, "vote", p, true)
	evs := govEventsOf(t, r)
	govWantEvents(t, "C's deciding ballot", evs, "ProposalVoted", "TEEAdded", "ConstitutionChanged", "ProposalResolved")
	govWantChanged(t, evs, 2, p)
	if tees := govView(t, fc, "teeManifest")[0].([]string); !govSameSet(tees, []string{"sgx", "simulation"}) {
		t.Errorf("teeManifest() = %v, want sgx, simulation", tees)
	}
	_, err = govCallFrom(fc, addrA, gov, vote, nil)
	govWantRevert(t, "ballot on a decided proposal", err, fmt.Sprintf("proposal %v is", p))
}

// govWantEvents checks that evs holds exactly the named events, in any order.
func govWantEvents(t *testing.T, what string, evs []govEvent, names ...string) {
	t.Helper()
	if got := govEventNames(evs); !govSameSet(got, names) {
		t.Errorf("%s: events %v, want %v", what, got, names)
	}
}

// govWantChanged checks the ConstitutionChanged event of evs.
func govWantChanged(t *testing.T, evs []govEvent, version uint64, proposal *big.Int) {
	t.Helper()
	for _, e := range evs {
		if e.Name == "ConstitutionChanged" {
			if e.Fields["version"] != version || e.Fields["proposalId"].(*big.Int).Cmp(proposal) != 0 {
				t.Errorf("ConstitutionChanged = %v, want version %d, proposal %v", e.Fields, version, proposal)
			}
			return
		}
	}
	t.Errorf("no ConstitutionChanged event (version %d, proposal %v) among %v", version, proposal, govEventNames(evs))
}

// govWantResolved checks the ProposalResolved event of evs.
func govWantResolved(t *testing.T, evs []govEvent, id *big.Int, state uint8) {
	t.Helper()
	for _, e := range evs {
		if e.Name == "ProposalResolved" {
			if e.Fields["id"].(*big.Int).Cmp(id) != 0 || e.Fields["state"] != state {
				t.Errorf("ProposalResolved = %v, want proposal %v %s", e.Fields, id, govStateName(state))
			}
			return
		}
	}
	t.Errorf("no ProposalResolved event among %v", govEventNames(evs))
}

// govSameSet reports whether a and b hold the same strings, ignoring order.
func govSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func govAddrStrings(as []common.Address) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Hex())
	}
	return out
}

func govNodeIDs(ns []govNode) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Id)
	}
	return out
}

// govReceiptOn polls node n for the receipt of hash until timeout.
func govReceiptOn(t *testing.T, n *testnode.Node, hash common.Hash, timeout time.Duration) (*types.Receipt, error) {
	var r *types.Receipt
	err := testnode.Poll(timeout, 20*time.Millisecond, func() error {
		var err error
		r, err = n.Client().TransactionReceipt(ctx(t), hash)
		return err
	})
	return r, err
}
