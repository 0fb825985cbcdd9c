package governance

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rlp"
)

// thresholdView returns the recoveryThreshold() view.
func thresholdView(t *testing.T, st vm.StateDB) uint16 {
	t.Helper()
	out, ret, _, err := call(t, NewContract(), CallContext{State: st, ReadOnly: true}, "recoveryThreshold")
	if err != nil {
		t.Fatalf("recoveryThreshold: %v %x", err, ret)
	}
	return out[0].(uint16)
}

// thresholdGenesisJSON is a genesis of members A, B, C, where A and B
// have recovery keys, with settings settingsJSON.
func thresholdGenesisJSON(settingsJSON string) string {
	return fmt.Sprintf(`{"members": [
	    {"id": "A", "accounts": ["%s"], "publicKey": "0x0a", "recoveryKey": "%s"},
	    {"id": "B", "accounts": ["%s"], "publicKey": "0x0b", "recoveryKey": "%s"},
	    {"id": "C", "accounts": ["%s"], "publicKey": "0x0c"}],
	  "teeManifest": ["simulation"], "policy": {"kind": "majority"},
	  "settings": %s}`,
		accA.Hex(), hexutil.Encode(recoveryPub("A")), accB.Hex(), hexutil.Encode(recoveryPub("B")), accC.Hex(), settingsJSON)
}

// TestRecoveryThresholdGenesis: settings.recoveryThreshold is read from
// the genesis (omitted: 0, a majority), stored in bytes 24..25 of the
// settings slot, shown by Load, ReadSettings, the view and the JSON, and
// refused when more members than have a recovery key would be needed.
func TestRecoveryThresholdGenesis(t *testing.T) {
	g, err := ParseGenesis([]byte(thresholdGenesisJSON(`{"recoveryThreshold": 2, "openSending": true, "sessionLifetime": 3600}`)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Constitution()
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{ProposalLifetime: DefaultProposalLifetime, EpochLength: DefaultEpochLength, OpenSending: true, SessionLifetime: 3600, RecoveryThreshold: 2}
	if c.Settings != want || c.RecoveryThreshold() != 2 {
		t.Fatalf("settings %+v, in effect %d", c.Settings, c.RecoveryThreshold())
	}
	st := installed(t, g)
	if got := mustLoad(t, st); got.Settings != want || got.RecoveryThreshold() != 2 {
		t.Fatalf("loaded settings %+v", got.Settings)
	}
	if ReadSettings(st) != want || thresholdView(t, st) != 2 {
		t.Fatalf("ReadSettings %+v, view %d", ReadSettings(st), thresholdView(t, st))
	}
	// Storage: bytes 24..25 of the settings slot, the rest as before.
	w := st.GetState(Address, slotSettings)
	if binary.BigEndian.Uint16(w[24:26]) != 2 || binary.BigEndian.Uint64(w[0:8]) != DefaultProposalLifetime ||
		binary.BigEndian.Uint64(w[16:24]) != 3600 || w[31] != 1 || w[26] != 0 || w[27] != 0 || w[28] != 0 || w[29] != 0 || w[30] != 0 {
		t.Fatalf("settings slot %s", w.Hex())
	}
	// The settings view is unchanged: four values, no threshold.
	out, _, _, err := call(t, NewContract(), CallContext{State: st, ReadOnly: true}, "settings")
	if err != nil || len(out) != 4 || out[3].(uint64) != 3600 {
		t.Fatalf("settings view %v %v", out, err)
	}
	// JSON: in the settings, and it reads back as a genesis.
	if s := c.String(); !strings.Contains(s, `"recoveryThreshold": 2`) {
		t.Fatalf("JSON %s", s)
	}
	if !strings.Contains(want.String(), "recovery threshold 2 keys") || strings.Contains(want.BaseString(), "recovery") {
		t.Fatalf("String %q, BaseString %q", want.String(), want.BaseString())
	}
	b, _ := json.Marshal(c.Settings)
	if string(b) != `{"proposalLifetime":100000,"epochLength":100000,"openSending":true,"sessionLifetime":3600,"recoveryThreshold":2}` {
		t.Fatalf("settings JSON %s", b)
	}

	// Omitted: 0, a majority of the 2 keys.
	g, err = ParseGenesis([]byte(thresholdGenesisJSON(`{"openSending": false}`)))
	if err != nil {
		t.Fatal(err)
	}
	st = installed(t, g)
	c = mustLoad(t, st)
	if c.Settings.RecoveryThreshold != 0 || c.RecoveryThreshold() != 2 || thresholdView(t, st) != 0 ||
		!strings.Contains(c.Settings.String(), "recovery threshold majority") || !strings.Contains(c.String(), `"recoveryThreshold": 0`) {
		t.Fatalf("settings %s, in effect %d", c.Settings, c.RecoveryThreshold())
	}

	// More than the 2 members with a recovery key: refused.
	_, err = ParseGenesis([]byte(thresholdGenesisJSON(`{"recoveryThreshold": 3}`)))
	if err == nil || err.Error() != "constitution: settings: recovery threshold 3 cannot be reached: only 2 member(s) have a recovery key" {
		t.Fatalf("threshold 3 of 2 keys: %v", err)
	}
	// Without any recovery key only 0 is allowed.
	g = testGenesis(Policy{Kind: Majority})
	for i := range g.Members {
		g.Members[i].RecoveryKey = nil
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("no keys, majority: %v", err)
	}
	if c, _ := g.Constitution(); c.RecoveryThreshold() != 0 {
		t.Fatalf("no keys: in effect %d", c.RecoveryThreshold())
	}
	g.Settings.RecoveryThreshold = 1
	if err := g.Validate(); err == nil || !strings.Contains(err.Error(), "recovery threshold 1 cannot be reached: only 0 member(s)") {
		t.Fatalf("no keys, threshold 1: %v", err)
	}
	if err := g.Install(newState(t)); err == nil {
		t.Fatal("installed an unreachable threshold")
	}
	// Not a number of 16 bits.
	if _, err := ParseGenesis([]byte(thresholdGenesisJSON(`{"recoveryThreshold": 65536}`))); err == nil {
		t.Fatal("recoveryThreshold 65536 accepted")
	}
}

// TestRecoveryThresholdAccessor: the threshold in effect for each stored
// value and number of members with a recovery key.
func TestRecoveryThresholdAccessor(t *testing.T) {
	withKeys := func(n, without int, m uint16) *Constitution {
		c := &Constitution{Settings: Settings{RecoveryThreshold: m}}
		for i := 0; i < n; i++ {
			c.Members = append(c.Members, member(fmt.Sprintf("K%d", i)))
		}
		for i := 0; i < without; i++ {
			c.Members = append(c.Members, Member{ID: fmt.Sprintf("N%d", i)})
		}
		return c
	}
	for _, tc := range []struct {
		keys, without int
		m             uint16
		want          int
	}{
		{0, 0, 0, 0}, {0, 3, 0, 0}, {0, 3, 2, 0}, // no key: nothing to recover with
		{1, 0, 0, 1}, {2, 0, 0, 2}, {3, 0, 0, 2}, {4, 0, 0, 3}, {5, 0, 0, 3}, // majority
		{3, 4, 0, 2},                             // members without a key do not count
		{3, 0, 1, 1}, {3, 0, 2, 2}, {3, 0, 3, 3}, // as stored
		{3, 2, 3, 3},
		{2, 1, 3, 2}, {3, 0, 65535, 3}, // above n (members left): n
	} {
		c := withKeys(tc.keys, tc.without, tc.m)
		if got := c.RecoveryThreshold(); got != tc.want {
			t.Errorf("%d keys (%d members without), stored %d: in effect %d, want %d", tc.keys, tc.without, tc.m, got, tc.want)
		}
	}
}

// TestSetRecoveryThresholdContract drives set-recovery-threshold through
// the ABI: refusals when proposed, the change when it passes, its events,
// the view, set-settings leaving it alone, and back to a majority.
func TestSetRecoveryThresholdContract(t *testing.T) {
	g := testGenesis(Policy{Kind: Majority})
	g.Members[2].RecoveryKey = nil // A and B have keys, C none
	st := installed(t, g)
	c := NewContract()
	block := uint64(10)
	send := func(who, method string, args ...any) ([]any, error) {
		t.Helper()
		block++
		out, ret, _, err := call(t, c, CallContext{State: st, Caller: accountOf[who], BlockNumber: block}, method, args...)
		if err != nil {
			if !errors.Is(err, vm.ErrExecutionReverted) {
				t.Fatalf("%s: %v", method, err)
			}
			return nil, errors.New(revertReason(t, ret))
		}
		return out, nil
	}
	propose := func(who string, m uint16) (uint64, error) {
		t.Helper()
		out, err := send(who, "proposeSetRecoveryThreshold", m)
		if err != nil {
			return 0, err
		}
		return out[0].(*big.Int).Uint64(), nil
	}
	vote := func(who string, id uint64) {
		t.Helper()
		if _, err := send(who, "vote", bigID(id), true); err != nil {
			t.Fatalf("vote: %v", err)
		}
	}
	refused := func(m uint16, want string) {
		t.Helper()
		root, logs := st.IntermediateRoot(testRules), len(st.Logs())
		_, err := propose("A", m)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("propose set-recovery-threshold %d: %v, want refusal %q", m, err, want)
		}
		if st.IntermediateRoot(testRules) != root || len(st.Logs()) != logs {
			t.Fatal("a refused proposal changed the state")
		}
	}

	refused(0, "recovery threshold is already majority")
	refused(3, "recovery threshold 3 cannot be reached: only 2 member(s) have a recovery key")
	if _, err := send("P", "proposeSetRecoveryThreshold", uint16(1)); err == nil || !strings.Contains(err.Error(), "only members may propose") {
		t.Fatalf("participant proposed: %v", err)
	}

	// Require both keys: open until a second member approves.
	id, err := propose("A", 2)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := GetProposal(st, id, block)
	if p.State != Open || p.Action != (SetRecoveryThreshold{M: 2}) ||
		p.Action.String() != "set the recovery threshold to 2 keys of the members' recovery keys" {
		t.Fatalf("proposal %+v", p)
	}
	if js, _ := json.Marshal(NewActionJSON(p.Action)); string(js) != `{"action":"set-recovery-threshold","args":{"recoveryThreshold":2}}` {
		t.Fatalf("action JSON %s", js)
	}
	out, _, _, err := call(t, c, CallContext{State: st, BlockNumber: block, ReadOnly: true}, "proposal", bigID(id))
	if err != nil {
		t.Fatal(err)
	}
	view := *abi.ConvertType(out[0], new(abiProposal)).(*abiProposal)
	if back, err := DecodeArgs(ActionKind(view.Action), view.Args); err != nil || back != (SetRecoveryThreshold{M: 2}) || ActionKind(view.Action) != ActSetRecoveryThreshold {
		t.Fatalf("proposal view: kind %d args %v %v", view.Action, back, err)
	}
	if Version(st) != 1 || thresholdView(t, st) != 0 {
		t.Fatal("changed before the quorum")
	}
	logs := len(st.Logs())
	vote("B", id)
	if got, want := changeEvents(t, st, logs, block), fmt.Sprintf("RecoveryThresholdSet(2); ConstitutionChanged(2, %d)", id); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	cons := mustLoad(t, st)
	if thresholdView(t, st) != 2 || cons.Settings.RecoveryThreshold != 2 || cons.RecoveryThreshold() != 2 ||
		cons.Settings.ProposalLifetime != 100 || cons.Settings.EpochLength != 1000 {
		t.Fatalf("after: view %d, settings %+v", thresholdView(t, st), cons.Settings)
	}
	refused(2, "recovery threshold is already 2 keys")

	// set-settings changes the other settings and leaves the threshold.
	id, err = propose("A", 1)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := send("A", "proposeSetSettings", uint64(50), uint64(500), true, uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	vote("C", sid[0].(*big.Int).Uint64())
	if s := ReadSettings(st); s != (Settings{ProposalLifetime: 50, EpochLength: 500, OpenSending: true, RecoveryThreshold: 2}) {
		t.Fatalf("set-settings: %+v", s)
	}
	// The other settings may not be "changed" to what they are, whatever the
	// threshold a Go caller puts in them (it is ignored).
	_, err = Propose(st, accA, block, SetSettings{Settings{ProposalLifetime: 50, EpochLength: 500, OpenSending: true, RecoveryThreshold: 1}})
	refusedWith(t, err, "settings are already proposal lifetime 50 blocks")
	sp, err := Propose(st, accA, block, SetSettings{Settings{ProposalLifetime: 60, EpochLength: 500, OpenSending: true, RecoveryThreshold: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := GetProposal(st, sp, block); p.Action.(SetSettings).Settings.RecoveryThreshold != 0 || strings.Contains(p.Action.String(), "recovery") {
		t.Fatalf("set-settings proposal kept a threshold: %+v %q", p.Action, p.Action.String())
	}
	mustVote(t, st, "B", block, sp, true)
	if s := ReadSettings(st); s.ProposalLifetime != 60 || s.RecoveryThreshold != 2 {
		t.Fatalf("set-settings with a threshold: %+v", s)
	}

	// The earlier proposal of 1 is still open and passes.
	logs = len(st.Logs())
	vote("C", id)
	if got := changeEvents(t, st, logs, block); !strings.HasPrefix(got, "RecoveryThresholdSet(1); ConstitutionChanged(") {
		t.Fatalf("events %s", got)
	}
	if thresholdView(t, st) != 1 || mustLoad(t, st).RecoveryThreshold() != 1 {
		t.Fatalf("threshold %d", thresholdView(t, st))
	}

	// Back to a majority: 0 in the event.
	id, err = propose("B", 0)
	if err != nil {
		t.Fatal(err)
	}
	logs = len(st.Logs())
	vote("C", id)
	if got, want := changeEvents(t, st, logs, block), fmt.Sprintf("RecoveryThresholdSet(0); ConstitutionChanged(%d, %d)", Version(st), id); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if thresholdView(t, st) != 0 || mustLoad(t, st).RecoveryThreshold() != 2 {
		t.Fatalf("majority: view %d", thresholdView(t, st))
	}
}

// TestSetRecoveryThresholdRecheck: the threshold is checked again when the
// proposal passes, and the stored value outliving the keys it counted is
// capped by the accessor.
func TestSetRecoveryThresholdRecheck(t *testing.T) {
	st := installed(t, testGenesis(Policy{Kind: Majority})) // A, B, C have keys

	// 3 of 3 is proposed; C's key is removed before it passes: it fails.
	three := mustPropose(t, st, "A", 1, SetRecoveryThreshold{M: 3})
	rmKey := mustPropose(t, st, "A", 1, SetRecoveryKey{ID: "C"})
	mustVote(t, st, "B", 2, rmKey, true)
	mustVote(t, st, "B", 3, three, true)
	p, _ := GetProposal(st, three, 3)
	if p.State != Failed || !strings.Contains(p.Reason, "recovery threshold 3 cannot be reached: only 2 member(s) have a recovery key") {
		t.Fatalf("threshold above the keys left: %s %q", p.State, p.Reason)
	}
	if c := mustLoad(t, st); c.Settings.RecoveryThreshold != 0 || c.RecoveryThreshold() != 2 {
		t.Fatalf("failed proposal changed the threshold: %+v", c.Settings)
	}
	// Now refused outright.
	_, err := Propose(st, accA, 4, SetRecoveryThreshold{M: 3})
	refusedWith(t, err, "only 2 member(s) have a recovery key")

	// C gets its key back and 3 of 3 is set; removing member B then leaves
	// the stored 3 above the 2 keys left: 2 in effect.
	back := mustPropose(t, st, "A", 5, SetRecoveryKey{ID: "C", Key: common.Hash(recoveryPub("C"))})
	mustVote(t, st, "C", 5, back, true)
	three = mustPropose(t, st, "A", 6, SetRecoveryThreshold{M: 3})
	mustVote(t, st, "C", 6, three, true)
	if c := mustLoad(t, st); c.Settings.RecoveryThreshold != 3 || c.RecoveryThreshold() != 3 {
		t.Fatalf("3 of 3: %+v in effect %d", c.Settings, c.RecoveryThreshold())
	}
	rm := mustPropose(t, st, "A", 7, RemoveMember{"B"})
	mustVote(t, st, "C", 7, rm, true)
	c := mustLoad(t, st)
	if memberIDs(c) != "A,C" || c.Settings.RecoveryThreshold != 3 || c.RecoveryThreshold() != 2 || thresholdView(t, st) != 3 {
		t.Fatalf("after removing B: members %s, stored %d, in effect %d", memberIDs(c), c.Settings.RecoveryThreshold, c.RecoveryThreshold())
	}
	if ids, _ := c.RecoveryKeys(); len(ids) != c.RecoveryThreshold() {
		t.Fatalf("keys %v, in effect %d", ids, c.RecoveryThreshold())
	}
	// The stored value may only be lowered to a reachable one (or kept).
	_, err = Propose(st, accA, 8, SetRecoveryThreshold{M: 3})
	refusedWith(t, err, "recovery threshold is already 3 keys")
	two := mustPropose(t, st, "A", 8, SetRecoveryThreshold{M: 2})
	mustVote(t, st, "C", 8, two, true)
	if c := mustLoad(t, st); c.Settings.RecoveryThreshold != 2 || c.RecoveryThreshold() != 2 {
		t.Fatalf("lowered: %+v", c.Settings)
	}

	// A member's key removal also lowers the threshold in effect (not the
	// stored one); with no key left it is 0.
	for _, id := range []string{"A", "C"} {
		p := mustPropose(t, st, "A", 9, SetRecoveryKey{ID: id})
		mustVote(t, st, "C", 9, p, true)
	}
	if c := mustLoad(t, st); c.Settings.RecoveryThreshold != 2 || c.RecoveryThreshold() != 0 {
		t.Fatalf("no keys left: stored %d, in effect %d", c.Settings.RecoveryThreshold, c.RecoveryThreshold())
	}
	_, err = Propose(st, accA, 10, SetRecoveryThreshold{M: 1})
	refusedWith(t, err, "only 0 member(s) have a recovery key")
	zero := mustPropose(t, st, "A", 10, SetRecoveryThreshold{M: 0})
	mustVote(t, st, "C", 10, zero, true)
	if thresholdView(t, st) != 0 {
		t.Fatal("0 refused without keys")
	}
}

// TestSetSettingsStoredForm: set-settings proposals are stored as before
// the recovery threshold existed (it is not part of their RLP), so those
// recorded earlier still decode, and the threshold never rides along.
func TestSetSettingsStoredForm(t *testing.T) {
	before := struct {
		Settings struct {
			ProposalLifetime, EpochLength uint64
			OpenSending                   bool
			SessionLifetime               uint64
		}
	}{}
	before.Settings.ProposalLifetime, before.Settings.EpochLength, before.Settings.OpenSending, before.Settings.SessionLifetime = 5, 6, true, 7
	old, err := rlp.EncodeToBytes(before)
	if err != nil {
		t.Fatal(err)
	}
	now, err := rlp.EncodeToBytes(SetSettings{Settings{ProposalLifetime: 5, EpochLength: 6, OpenSending: true, SessionLifetime: 7, RecoveryThreshold: 9}})
	if err != nil || !bytes.Equal(now, old) {
		t.Fatalf("RLP %x (%v), was %x", now, err, old)
	}
	a, err := decodeAction(taggedRLP{Kind: uint8(ActSetSettings), Data: old})
	if err != nil || a != (SetSettings{Settings{ProposalLifetime: 5, EpochLength: 6, OpenSending: true, SessionLifetime: 7}}) {
		t.Fatalf("decoded %+v %v", a, err)
	}
	enc, err := encodeAction(SetRecoveryThreshold{M: 3})
	if err != nil {
		t.Fatal(err)
	}
	if back, err := decodeAction(enc); err != nil || back != (SetRecoveryThreshold{M: 3}) || enc.Kind != 13 {
		t.Fatalf("set-recovery-threshold stored as kind %d: %+v %v", enc.Kind, back, err)
	}
}
