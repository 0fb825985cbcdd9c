package main

import (
	"bytes"
	"flag"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/urfave/cli/v2"
)

var (
	acct1 = common.HexToAddress("0x1111111111111111111111111111111111111111")
	acct2 = common.HexToAddress("0x2222222222222222222222222222222222222222")
	code1 = common.HexToHash("0xc0de000000000000000000000000000000000000000000000000000000000001")
)

// TestEncodeProposal checks that every action's arguments become the
// calldata of its propose function, by decoding it back into the action
// the governance package reads.
func TestEncodeProposal(t *testing.T) {
	nodeKey := "0x04" + strings.Repeat("ab", 64)
	rk, err := recovery.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	recoveryPub := rk.Public()
	cases := []struct {
		args []string
		want governance.Action
	}{
		{[]string{"add-member", "E", acct1.Hex() + "," + acct2.Hex(), "0x0102"},
			governance.AddMember{Member: governance.Member{ID: "E", Accounts: []common.Address{acct1, acct2}, PublicKey: []byte{1, 2}, RecoveryKey: []byte{}}}},
		{[]string{"add-member", "E", acct1.Hex(), "0x0102", "0x0304"},
			governance.AddMember{Member: governance.Member{ID: "E", Accounts: []common.Address{acct1}, PublicKey: []byte{1, 2}, RecoveryKey: []byte{3, 4}}}},
		{[]string{"remove-member", "B"}, governance.RemoveMember{ID: "B"}},
		{[]string{"add-participant", "P", acct1.Hex()},
			governance.AddParticipant{Participant: governance.Participant{ID: "P", Accounts: []common.Address{acct1}}}},
		{[]string{"remove-participant", "D"}, governance.RemoveParticipant{ID: "D"}},
		{[]string{"add-node", "node4", "E", "127.0.0.1:30404", nodeKey},
			governance.AddNode{Node: governance.Node{ID: "node4", Owner: "E", RaftAddr: "127.0.0.1:30404", PublicKey: hexutil.MustDecode(nodeKey)}}},
		{[]string{"add-node", "node4", "E", "10.0.0.4:30400", nodeKey, code1.Hex()},
			governance.AddNode{Node: governance.Node{ID: "node4", Owner: "E", RaftAddr: "10.0.0.4:30400", PublicKey: hexutil.MustDecode(nodeKey), CodeID: code1}}},
		{[]string{"remove-node", "node2"}, governance.RemoveNode{ID: "node2"}},
		{[]string{"set-policy", "unanimous"}, governance.SetPolicy{Policy: governance.Policy{Kind: governance.Unanimous}}},
		{[]string{"set-policy", "majority"}, governance.SetPolicy{Policy: governance.Policy{Kind: governance.Majority}}},
		{[]string{"set-policy", "one-of-n"}, governance.SetPolicy{Policy: governance.Policy{Kind: governance.OneOfN}}},
		{[]string{"set-policy", "m-of-n", "3"}, governance.SetPolicy{Policy: governance.Policy{Kind: governance.MOfN, M: 3}}},
		{[]string{"SET-POLICY", "M-of-N", "2"}, governance.SetPolicy{Policy: governance.Policy{Kind: governance.MOfN, M: 2}}},
		{[]string{"add-code", code1.Hex()}, governance.AddCode{CodeID: code1}},
		{[]string{"remove-code", code1.Hex()}, governance.RemoveCode{CodeID: code1}},
		{[]string{"add-tee", "sgx"}, governance.AddTEE{TEE: "sgx"}},
		{[]string{"remove-tee", "Simulation"}, governance.RemoveTEE{TEE: "simulation"}},
		{[]string{"set-settings", "500", "1000", "true"},
			governance.SetSettings{Settings: governance.Settings{ProposalLifetime: 500, EpochLength: 1000, OpenSending: true}}},
		{[]string{"set-settings", "500", "1000", "false", "12h"},
			governance.SetSettings{Settings: governance.Settings{ProposalLifetime: 500, EpochLength: 1000, SessionLifetime: 12 * 3600}}},
		{[]string{"set-settings", "500", "1000", "false"},
			governance.SetSettings{Settings: governance.Settings{ProposalLifetime: 500, EpochLength: 1000}}},
		{[]string{"set-recovery-key", "B", hexutil.Encode(recoveryPub)},
			governance.SetRecoveryKey{ID: "B", Key: common.Hash(recoveryPub)}},
		{[]string{"set-recovery-key", "B", "none"}, governance.SetRecoveryKey{ID: "B"}},
		{[]string{"set-recovery-key", "B", "0x" + strings.Repeat("00", 32)}, governance.SetRecoveryKey{ID: "B"}},
		{[]string{"set-recovery-threshold", "2"}, governance.SetRecoveryThreshold{M: 2}},
		{[]string{"set-recovery-threshold", "65535"}, governance.SetRecoveryThreshold{M: 65535}},
		{[]string{"set-recovery-threshold", "0"}, governance.SetRecoveryThreshold{}},
		{[]string{"set-recovery-threshold", "majority"}, governance.SetRecoveryThreshold{}},
		{[]string{"Set-Recovery-Threshold", "MAJORITY"}, governance.SetRecoveryThreshold{}},
	}
	seen := map[governance.ActionKind]bool{}
	for _, c := range cases {
		method, data, err := encodeProposal(c.args)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		kind := c.want.Kind()
		seen[kind] = true
		if method != kind.Method() {
			t.Errorf("%v: method %s, want %s", c.args, method, kind.Method())
		}
		m := governance.ABI().Methods[method]
		if !bytes.Equal(data[:4], m.ID) {
			t.Errorf("%v: selector %x, want %x", c.args, data[:4], m.ID)
		}
		got, err := governance.DecodeArgs(kind, data[4:])
		if err != nil {
			t.Errorf("%v: decoding: %v", c.args, err)
			continue
		}
		want, _ := governance.EncodeArgs(c.want)
		have, _ := governance.EncodeArgs(got)
		if !bytes.Equal(want, have) {
			t.Errorf("%v: encoded %s, want %s", c.args, got, c.want)
		}
	}
	// Every action kind can be proposed, and is tested.
	for _, k := range governance.ActionKinds() {
		if !seen[k] {
			t.Errorf("action %s is not tested or not in proposeActions", k.Name())
		}
	}
	if len(proposeActions) != len(governance.ActionKinds()) {
		t.Errorf("%d entries in proposeActions for %d action kinds", len(proposeActions), len(governance.ActionKinds()))
	}
}

// TestActionUsage: the help lists every action by its governance name, in
// the order of the kinds.
func TestActionUsage(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(actionUsage(), "\n"), "\n")
	kinds := governance.ActionKinds()
	if len(lines) != len(kinds) {
		t.Fatalf("%d usage lines for %d action kinds:\n%s", len(lines), len(kinds), actionUsage())
	}
	for i, k := range kinds {
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != k.Name() {
			t.Errorf("usage line %d %q, want action %s", i, lines[i], k.Name())
		}
	}
	// The arguments start in one column, two spaces after the longest name.
	if !strings.Contains(actionUsage(), "   add-member              ID ACCOUNT[,ACCOUNT…] PUBKEY [RECOVERYKEY]\n") ||
		!strings.Contains(actionUsage(), "   set-recovery-threshold  M|majority\n") {
		t.Errorf("usage:\n%s", actionUsage())
	}
}

func TestEncodeProposalErrors(t *testing.T) {
	key := "0x04" + strings.Repeat("ab", 64)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "missing action"},
		{[]string{"add-members", "E"}, `unknown action "add-members"`},
		{[]string{"add-member", "E", acct1.Hex()}, "add-member takes ID ACCOUNT[,ACCOUNT…] PUBKEY [RECOVERYKEY] (got 2 argument(s))"},
		{[]string{"add-member", "E", "0x1234", "0x01"}, `invalid account "0x1234"`},
		{[]string{"add-member", "E", acct1.Hex() + ",nope", "0x01"}, `invalid account "nope"`},
		{[]string{"add-member", "E", acct1.Hex(), "01"}, `invalid PUBKEY "01"`},
		{[]string{"add-member", "E", acct1.Hex(), "0x"}, "invalid PUBKEY: empty"},
		{[]string{"add-member", "E", acct1.Hex(), "0x01", "0xzz"}, `invalid RECOVERYKEY "0xzz"`},
		{[]string{"remove-member"}, "remove-member takes ID (got 0 argument(s))"},
		{[]string{"remove-member", "A", "B"}, "remove-member takes ID (got 2 argument(s))"},
		{[]string{"add-node", "n4", "E", "127.0.0.1", key}, `invalid RAFTADDR "127.0.0.1": want host:port`},
		{[]string{"add-node", "n4", "E", "127.0.0.1:1", key, "0x01"}, `invalid CODEID "0x01": want 32 bytes`},
		{[]string{"set-policy", "most"}, `unknown policy kind "most"`},
		{[]string{"set-policy", "m-of-n"}, "policy m-of-n needs M"},
		{[]string{"set-policy", "m-of-n", "0"}, `invalid M "0"`},
		{[]string{"set-policy", "m-of-n", "two"}, `invalid M "two"`},
		{[]string{"set-policy", "majority", "2"}, "policy majority takes no M"},
		{[]string{"add-code", "0xabcd"}, `invalid HASH "0xabcd"`},
		{[]string{"add-tee", "tdx"}, `unknown TEE kind "tdx" (want one of sgx, simulation)`},
		{[]string{"set-settings", "0", "1", "true"}, `invalid LIFETIME "0"`},
		{[]string{"set-settings", "10", "x", "true"}, `invalid EPOCH "x"`},
		{[]string{"set-settings", "10", "10", "yes"}, `invalid OPEN "yes": want true or false`},
		{[]string{"set-settings", "10", "10", "true", "800h"}, `invalid SESSION "800h"`},
		{[]string{"set-recovery-key", "B"}, "set-recovery-key takes ID KEY|none (got 1 argument(s))"},
		{[]string{"set-recovery-key", "B", "0x0102"}, `invalid KEY "0x0102": want a recovery public key of 32 bytes`},
		{[]string{"set-recovery-key", "B", "0x01" + strings.Repeat("00", 31)}, "invalid KEY 0x01" + strings.Repeat("00", 31) + ": recovery: invalid key"},
		{[]string{"set-recovery-threshold"}, "set-recovery-threshold takes M|majority (got 0 argument(s))"},
		{[]string{"set-recovery-threshold", "2", "3"}, "set-recovery-threshold takes M|majority (got 2 argument(s))"},
		{[]string{"set-recovery-threshold", "65536"}, `set-recovery-threshold: invalid M "65536": want a number of recovery keys (1..65535), or majority`},
		{[]string{"set-recovery-threshold", "-1"}, `invalid M "-1"`},
		{[]string{"set-recovery-threshold", "most"}, `invalid M "most"`},
		{[]string{"set-recovery-threshold", "0x2"}, `invalid M "0x2"`},
	}
	for _, c := range cases {
		_, _, err := encodeProposal(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}

func TestEncodeVoteAndWithdraw(t *testing.T) {
	for _, c := range []struct {
		args    []string
		id      uint64
		approve bool
	}{
		{[]string{"3", "yes"}, 3, true},
		{[]string{"#12", "no"}, 12, false},
		{[]string{"0x10", "YES"}, 16, true},
		{[]string{"7", "n"}, 7, false},
	} {
		id, approve, data, err := encodeVote(c.args)
		if err != nil || id != c.id || approve != c.approve {
			t.Errorf("%v: %d %v %v", c.args, id, approve, err)
			continue
		}
		vals, err := governance.ABI().Methods["vote"].Inputs.Unpack(data[4:])
		if err != nil || vals[0].(*big.Int).Uint64() != c.id || vals[1].(bool) != c.approve {
			t.Errorf("%v: calldata decodes to %v (%v)", c.args, vals, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"3"}, "need two arguments"},
		{[]string{"0", "yes"}, `invalid proposal id "0"`},
		{[]string{"x", "yes"}, `invalid proposal id "x"`},
		{[]string{"1", "maybe"}, `invalid ballot "maybe": want yes or no`},
	} {
		if _, _, _, err := encodeVote(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("vote %v: error %v, want %q", c.args, err, c.want)
		}
	}
	id, data, err := encodeWithdraw([]string{"5"})
	if err != nil || id != 5 {
		t.Fatal(id, err)
	}
	if vals, err := governance.ABI().Methods["withdraw"].Inputs.Unpack(data[4:]); err != nil || vals[0].(*big.Int).Uint64() != 5 {
		t.Errorf("withdraw calldata decodes to %v (%v)", vals, err)
	}
	if _, _, err := encodeWithdraw(nil); err == nil {
		t.Error("withdraw without id accepted")
	}
}

// TestPositional checks that flags written after the arguments are
// applied, as users type `cocogeth vote 3 yes --account 0x…`.
func TestPositional(t *testing.T) {
	cmd := &cli.Command{Name: "vote", Flags: txFlags}
	cases := []struct {
		args    []string
		want    []string
		account string
		nodeSig bool
		err     string
	}{
		{[]string{"3", "yes"}, []string{"3", "yes"}, "", false, ""},
		{[]string{"3", "yes", "--account", "0xabc"}, []string{"3", "yes"}, "0xabc", false, ""},
		{[]string{"3", "--account=0xabc", "yes", "--node-sign"}, []string{"3", "yes"}, "0xabc", true, ""},
		{[]string{"3", "yes", "-node-sign=false"}, []string{"3", "yes"}, "", false, ""},
		{[]string{"3", "--", "--account"}, []string{"3", "--account"}, "", false, ""},
		{[]string{"3", "yes", "--bogus"}, nil, "", false, "flag provided but not defined: --bogus"},
		{[]string{"3", "yes", "--account"}, nil, "", false, "flag needs an argument: --account"},
		{[]string{"3", "yes", "--timeout", "soon"}, nil, "", false, `invalid value "soon" for flag --timeout`},
	}
	for _, c := range cases {
		set := flag.NewFlagSet("vote", flag.ContinueOnError)
		for _, f := range cmd.Flags {
			if err := f.Apply(set); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		ctx := cli.NewContext(cli.NewApp(), set, nil)
		ctx.Command = cmd
		got, err := positional(ctx)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%v: got %q (%v), want %q", c.args, got, err, c.want)
		}
		if ctx.String(accountFlag.Name) != c.account || ctx.Bool(nodeSignFlag.Name) != c.nodeSig {
			t.Errorf("%v: account %q node-sign %v", c.args, ctx.String(accountFlag.Name), ctx.Bool(nodeSignFlag.Name))
		}
	}
}

func TestDescribeEvents(t *testing.T) {
	ev := func(name string, args ...any) govEvent {
		m := map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			m[args[i].(string)] = args[i+1]
		}
		return govEvent{Name: name, Args: m}
	}
	for _, c := range []struct {
		e    govEvent
		want string
	}{
		{ev("ProposalCreated", "id", big.NewInt(4), "proposer", "A", "description", `add member "E" (1 account(s))`), `Proposal 4 created by A: add member "E" (1 account(s))`},
		{ev("ProposalVoted", "id", big.NewInt(4), "member", "B", "approve", false), "Proposal 4: B voted no"},
		{ev("ProposalResolved", "id", big.NewInt(4), "state", uint8(1), "reason", "approved"), "Proposal 4 passed: approved"},
		{ev("ConstitutionChanged", "version", uint64(3), "proposalId", big.NewInt(4)), "Constitution changed to version 3 by proposal 4"},
		{ev("MemberRemoved", "id", "E"), `  member "E" removed`},
		{ev("NodeAdded", "id", "node4", "owner", "E", "raftAddr", "127.0.0.1:1"), `  node "node4" added (owner E, raft 127.0.0.1:1)`},
		{ev("PolicyChanged", "kind", uint8(1), "m", uint64(3)), "  voting policy set to 3-of-n"},
		{ev("TEERemoved", "kind", "sgx"), `  TEE kind "sgx" removed`},
		{ev("RecoveryKeySet", "id", "B", "key", [32]byte{31: 7}), `  recovery key of member "B" set to 0x` + strings.Repeat("00", 31) + "07"},
		{ev("RecoveryKeySet", "id", "B", "key", [32]byte{}), `  recovery key of member "B" removed`},
		{ev("RecoveryThresholdSet", "m", uint16(2)), "  recovery threshold set to 2 keys of the members' recovery keys"},
		{ev("RecoveryThresholdSet", "m", uint16(0)), "  recovery threshold set to a majority of the members' recovery keys"},
		{ev("SettingsChanged", "proposalLifetime", uint64(10), "epochLength", uint64(20), "openSending", true, "sessionLifetime", uint64(0)),
			"  settings: proposal lifetime 10 blocks, epoch 20 blocks, open sending on, sessions up to 24h0m0s"},
	} {
		if got := describeEvent(c.e); got != c.want {
			t.Errorf("%s: got %q, want %q", c.e.Name, got, c.want)
		}
	}
}
