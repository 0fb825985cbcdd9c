package e2e

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/hashicorp/raft"
)

// The attacks of an outsider who reaches the node-to-node ports with
// nothing but TCP: before mutual TLS each of them succeeded (a forged
// forward moved 1,000 ETH out of the dev account, a forged vote passed a
// proposal, one AppendEntries deposed the leader or halted a follower).

// genesisHash is the hash of block 0 as node i serves it.
func genesisHash(t *testing.T, n *testnode.Node) common.Hash {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := n.Client().HeaderByNumber(ctx, big.NewInt(0))
	if err != nil {
		t.Fatalf("genesis header: %v", err)
	}
	return h.Hash()
}

// intruders are the outsiders of the attack tests: plain TCP, TLS with a
// random node key claiming a listed id (claim) or an unlisted one, and
// TLS replaying the certificate captured from the node at replayFrom.
func intruders(t *testing.T, network common.Hash, claim, replayFrom string) []testnode.Intruder {
	t.Helper()
	cert, err := testnode.CaptureCertificate(replayFrom)
	if err != nil {
		t.Fatalf("capture the certificate of %s: %v", replayFrom, err)
	}
	return []testnode.Intruder{
		{Mode: testnode.Plain},
		{Mode: testnode.OwnKey, Network: network, ClaimID: claim},
		{Mode: testnode.OwnKey, Network: network, ClaimID: "intruder"},
		{Mode: testnode.Replay, Replay: cert},
	}
}

// reasons are what a node's log says for each intruder, in order.
var intruderReasons = []string{
	"first record does not look like a TLS handshake",
	"is not signed by the node key listed for its id",
	`node id is not a validating node of this network: \"intruder\"`,
	"invalid signature by the client certificate",
}

// forwardAttack sends items on the forwarding channel of addr as in and
// requires the node to close the connection without a word.
func forwardAttack(t *testing.T, in testnode.Intruder, addr string, items ...[]byte) {
	t.Helper()
	conn, err := in.Dial(addr, cocobackend.ChannelForward)
	if err != nil {
		t.Logf("%v → %s: refused at the handshake: %v", in.Mode, addr, err)
		return
	}
	defer conn.Close()
	conn.Write(testnode.ForwardFrame(items...))
	if err := testnode.Refused(conn, 10*time.Second); err != nil {
		t.Errorf("%v → %s: forged forward not refused: %v", in.Mode, addr, err)
	}
}

// signedBy signs a transfer of value from key (nonce, to) on the test chain.
func signedBy(t *testing.T, key *ecdsa.PrivateKey, nonce uint64, to common.Address, value *big.Int, data []byte, gas uint64) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(key, clusterSigner, &types.DynamicFeeTx{
		ChainID: testnode.DevChainID, Nonce: nonce, GasTipCap: testnode.Gwei(1), GasFeeCap: testnode.Gwei(100),
		Gas: gas, To: &to, Value: value, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func pendingNonce(t *testing.T, n *testnode.Node, a common.Address) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nonce, err := n.Client().PendingNonceAt(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return nonce
}

func balanceOf(t *testing.T, n *testnode.Node, a common.Address) *big.Int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := n.Client().BalanceAt(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// raftAttacks sends, as in, what once deposed the leader and halted a
// follower: an AppendEntries and a RequestVote of a higher term to the
// leader, and an entry injected at the follower's last index + 1 with the
// commit index set to it. It returns the errors (nil where the node
// answered).
func raftAttacks(in testnode.Intruder, claim string, leaderAddr, followerAddr string, st testnode.RaftClusterInfo) []error {
	trans := in.RaftTransport()
	defer trans.Close()
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(claim), Addr: []byte(followerAddr)}
	var errs []error
	var aer raft.AppendEntriesResponse
	errs = append(errs, trans.AppendEntries("", raft.ServerAddress(leaderAddr), &raft.AppendEntriesRequest{
		RPCHeader: hdr, Term: st.Term + 100, PrevLogEntry: st.LastLogIndex, PrevLogTerm: st.Term, LeaderCommitIndex: st.CommitIndex,
	}, &aer))
	var rvr raft.RequestVoteResponse
	errs = append(errs, trans.RequestVote("", raft.ServerAddress(leaderAddr), &raft.RequestVoteRequest{
		RPCHeader: hdr, Term: st.Term + 200, LastLogIndex: st.LastLogIndex + 1000, LastLogTerm: st.Term + 100,
	}, &rvr))
	errs = append(errs, trans.AppendEntries("", raft.ServerAddress(followerAddr), &raft.AppendEntriesRequest{
		RPCHeader: hdr, Term: st.Term, PrevLogEntry: st.LastLogIndex, PrevLogTerm: st.Term,
		Entries:           []*raft.Log{{Index: st.LastLogIndex + 1, Term: st.Term, Type: raft.LogCommand, Data: []byte("forged")}},
		LeaderCommitIndex: st.LastLogIndex + 1,
	}, &aer))
	return errs
}

// wantLogged waits until node n's log holds every line fragment.
func wantLogged(t *testing.T, what string, n *testnode.Node, fragments ...string) {
	t.Helper()
	err := testnode.Poll(10*time.Second, 50*time.Millisecond, func() error {
		log := n.Log()
		for _, f := range fragments {
			if !strings.Contains(log, f) {
				return fmt.Errorf("no %q", f)
			}
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s: log: %v", what, err)
	}
}

// refusalLine finds, in a node's log, the refusal naming reason.
func refusalLogged(log, reason string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "Refused node-to-node connection") && strings.Contains(line, "remote=127.0.0.1:") && strings.Contains(line, reason) {
			return true
		}
	}
	return false
}

func TestNodeChannelRefusesOutsiders(t *testing.T) {
	c := startCluster(t, testnode.ClusterOptions{})
	lead := c.Leader()
	f := c.Others(lead)[0]
	other := c.Others(lead, f)[0]
	network := genesisHash(t, c.Nodes[f])
	st, err := testnode.RaftCluster(c.Nodes[lead])
	if err != nil {
		t.Fatal(err)
	}
	thief, _ := crypto.GenerateKey()
	thiefAddr := crypto.PubkeyToAddress(thief.PublicKey)
	devNonce := pendingNonce(t, c.Nodes[f], testnode.DevAddress)
	devBefore := balanceOf(t, c.Nodes[f], testnode.DevAddress)
	// The forged forward of the issue: signed by the thief, claiming the
	// dev account as sender, moving 1,000 ETH to the thief.
	forged := testnode.ForgedForward(signedBy(t, thief, devNonce, thiefAddr, testnode.Ether(1000), nil, params.TxGas), testnode.DevAddress)

	ins := intruders(t, network, c.IDs[other], c.ListenAddrs[other])
	for i, in := range ins {
		for _, target := range []int{f, lead} {
			forwardAttack(t, in, c.ListenAddrs[target], forged)
		}
		for j, err := range raftAttacks(in, c.IDs[other], c.ListenAddrs[lead], c.ListenAddrs[f], st) {
			if err == nil {
				t.Errorf("%v: raft attack %d answered by the node", in.Mode, j)
			}
		}
		for _, target := range []int{f, lead} {
			if !refusalLogged(c.Nodes[target].Log(), intruderReasons[i]) {
				t.Errorf("%s's log has no refusal of %v saying %q", c.IDs[target], in.Mode, intruderReasons[i])
			}
		}
	}

	// A connection that never speaks is closed by the handshake deadline.
	in := testnode.Intruder{Mode: testnode.Plain}
	slow, err := in.Dial(c.ListenAddrs[f], cocobackend.ChannelForward)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := testnode.Refused(slow, 15*time.Second); err != nil {
		t.Errorf("silent connection: %v", err)
	}
	slow.Close()
	t.Logf("a silent connection was closed after %v", time.Since(start).Round(time.Millisecond))

	// Nothing changed, and the network keeps committing: a real transfer
	// through the follower commits on every node, the leader and its term
	// are those of before, no node halted.
	w := testnode.NewWallet(c.Nodes[f].Client(), testnode.DevKey(), testnode.DevChainID)
	r := w.Transfer(t, common.HexToAddress("0xdEaD"), big.NewInt(1))
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transfer after the attacks: status %d", r.Status)
	}
	head := c.WaitSameHead(10 * time.Second)
	for i := range c.Nodes {
		if b := balanceOf(t, c.Nodes[i], thiefAddr); b.Sign() != 0 {
			t.Errorf("%s: the thief holds %v wei", c.IDs[i], b)
		}
		if role, err := c.Role(i); err != nil || role == "halted" {
			t.Errorf("%s: raft_role %q (%v)", c.IDs[i], role, err)
		}
	}
	spent := new(big.Int).Sub(devBefore, balanceOf(t, c.Nodes[f], testnode.DevAddress))
	if spent.Cmp(testnode.Ether(1)) > 0 {
		t.Errorf("the dev account lost %v wei; its one transfer costs far less than an ether", spent)
	}
	if got := pendingNonce(t, c.Nodes[f], testnode.DevAddress); got != devNonce+1 {
		t.Errorf("dev nonce %d, want %d (only the real transfer)", got, devNonce+1)
	}
	after, err := testnode.RaftCluster(c.Nodes[lead])
	if err != nil {
		t.Fatal(err)
	}
	if after.Term != st.Term || after.Role != "leader" {
		t.Errorf("leader %s after the attacks: role %s, term %d (was %d)", c.IDs[lead], after.Role, after.Term, st.Term)
	}
	t.Logf("after %d intruders: head %v, leader %s in term %d", len(ins), head, c.IDs[lead], after.Term)
}

// A forged vote "from member B" sent to a follower's port, which once
// passed a proposal, is refused in every form; B's real vote then passes
// it.
func TestNodeChannelRefusesForgedVote(t *testing.T) {
	g := startGoverned(t)
	lead := g.Leader()
	f := g.Others(lead)[0]
	wA, wB := g.Wallet(f, "A"), g.Wallet(f, "B")
	r := govTransact(t, wA, "proposeAddTEE", "sgx")
	pid := govProposalID(t, r)
	network := genesisHash(t, g.Nodes[f])
	nonceB := pendingNonce(t, g.Nodes[f], testnode.GovAddress("B"))
	forger, _ := crypto.GenerateKey()
	vote := signedBy(t, forger, nonceB, governance.Address, nil, govPack(t, "vote", pid, true), 200_000)
	forged := testnode.ForgedForward(vote, testnode.GovAddress("B"))

	other := g.Others(lead, f)[0]
	for i, in := range intruders(t, network, g.IDs[other], g.ListenAddrs[other]) {
		forwardAttack(t, in, g.ListenAddrs[f], forged)
		wantLogged(t, in.Mode.String(), g.Nodes[f], intruderReasons[i])
	}
	// Let a block pass, then the proposal must still wait for B.
	wA.Transfer(t, common.HexToAddress("0xdEaD"), big.NewInt(1))
	p := govGetProposal(t, wA.Client, pid)
	if p.State != govOpen || len(p.Ballots) != 1 {
		t.Fatalf("proposal %v after the forged votes: state %s, %d ballots %+v; want open with A's ballot only", pid, govStateName(p.State), len(p.Ballots), p.Ballots)
	}
	if got := pendingNonce(t, g.Nodes[f], testnode.GovAddress("B")); got != nonceB {
		t.Errorf("B's nonce moved to %d from %d", got, nonceB)
	}
	r = govTransact(t, wB, "vote", pid, true)
	govWantEvents(t, "B's real vote", govEventsOf(t, r), "ProposalVoted", "TEEAdded", "ConstitutionChanged", "ProposalResolved")

	// Plain TCP is refused outright on a governed network.
	dir := t.TempDir()
	if res := testnode.Run(t, g.Binary, time.Minute, "init", "--datadir", dir, g.GenesisPath); res.ExitCode != 0 {
		t.Fatalf("init: %s", res.Output)
	}
	res := testnode.Run(t, g.Binary, time.Minute, "--datadir", dir, "--ipcdisable", "--raft.insecure-plaintext")
	if res.ExitCode == 0 || !strings.Contains(res.Output, "--raft.insecure-plaintext is refused on a governed network") {
		t.Errorf("--raft.insecure-plaintext on a governed network: exit %d, output:\n%s", res.ExitCode, res.Output)
	}
}

// In plaintext mode (measurements only, labelled insecure) a forwarded
// transaction's sender is never trusted: a forged forward is dropped, an
// honest one from anybody is admitted. The Raft attacks, which mutual TLS
// refuses, reach Raft here: proof that they are real attacks.
func TestPlaintextChannelChecksSignatures(t *testing.T) {
	c := startCluster(t, testnode.ClusterOptions{Args: []string{"--raft.insecure-plaintext"}})
	lead := c.Leader()
	f := c.Others(lead)[0]
	wantLogged(t, "plaintext label", c.Nodes[f], "INSECURE: node-to-node traffic is plain TCP", `channel="INSECURE plain TCP"`)
	if info, err := c.Info(f); err != nil || info.NodeChannel != "INSECURE plain TCP" {
		t.Errorf("coco_nodeInfo in plaintext mode: %+v (%v)", info, err)
	}
	thief, _ := crypto.GenerateKey()
	thiefAddr := crypto.PubkeyToAddress(thief.PublicKey)
	devNonce := pendingNonce(t, c.Nodes[lead], testnode.DevAddress)
	forged := testnode.ForgedForward(signedBy(t, thief, devNonce, thiefAddr, testnode.Ether(1000), nil, params.TxGas), testnode.DevAddress)

	// An honest forward from an outsider: the dev account's own transfer.
	honest := signedBy(t, testnode.DevKey(), devNonce, common.HexToAddress("0xbeef"), big.NewInt(7), nil, params.TxGas)
	in := testnode.Intruder{Mode: testnode.Plain}
	conn, err := in.Dial(c.ListenAddrs[lead], cocobackend.ChannelForward)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(testnode.ForwardFrame(forged, testnode.ForgedForward(honest, testnode.DevAddress)))
	conn.Close()
	wantLogged(t, "forged forward", c.Nodes[lead], "Dropped forwarded transaction whose signature does not match its sender")
	w := testnode.NewWallet(c.Nodes[lead].Client(), testnode.DevKey(), testnode.DevChainID)
	if r := w.Wait(t, honest.Hash()); r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("honest forwarded transfer: status %d", r.Status)
	}
	if b := balanceOf(t, c.Nodes[lead], thiefAddr); b.Sign() != 0 {
		t.Errorf("the thief holds %v wei", b)
	}

	st, err := testnode.RaftCluster(c.Nodes[lead])
	if err != nil {
		t.Fatal(err)
	}
	other := c.Others(lead, f)[0]
	trans := in.RaftTransport()
	defer trans.Close()
	var resp raft.AppendEntriesResponse
	err = trans.AppendEntries("", raft.ServerAddress(c.ListenAddrs[lead]), &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(c.IDs[other]), Addr: []byte(c.ListenAddrs[other])},
		Term:      st.Term + 100, PrevLogEntry: st.LastLogIndex, PrevLogTerm: st.Term, LeaderCommitIndex: st.CommitIndex,
	}, &resp)
	if err != nil {
		t.Errorf("plaintext: a higher-term AppendEntries did not reach the leader: %v", err)
	}
	if after, err := testnode.RaftCluster(c.Nodes[lead]); err == nil && after.Term <= st.Term {
		t.Errorf("plaintext: the leader's term stayed %d after a higher-term AppendEntries", after.Term)
	}
}
