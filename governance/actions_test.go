package governance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestActionVocabulary: every action kind's name, propose function and
// JSON form, which users, tools and the RPC rely on.
func TestActionVocabulary(t *testing.T) {
	acc := common.HexToAddress("0x1111111111111111111111111111111111111111")
	const (
		accJSON  = `"0x1111111111111111111111111111111111111111"`
		codeJSON = `"0xc0de000000000000000000000000000000000000000000000000000000000001"`
	)
	cases := []struct {
		kind   ActionKind
		name   string
		method string
		action Action
		json   string // of NewActionJSON(action)
	}{
		{ActAddMember, "add-member", "proposeAddMember",
			AddMember{Member{ID: "D", Accounts: []common.Address{acc}, PublicKey: []byte{1, 2}, RecoveryKey: []byte{3}}},
			`{"action":"add-member","args":{"id":"D","accounts":[` + accJSON + `],"publicKey":"0x0102","recoveryKey":"0x03"}}`},
		{ActRemoveMember, "remove-member", "proposeRemoveMember",
			RemoveMember{"C"},
			`{"action":"remove-member","args":{"id":"C"}}`},
		{ActAddParticipant, "add-participant", "proposeAddParticipant",
			AddParticipant{Participant{ID: "P", Accounts: []common.Address{acc}}},
			`{"action":"add-participant","args":{"id":"P","accounts":[` + accJSON + `]}}`},
		{ActRemoveParticipant, "remove-participant", "proposeRemoveParticipant",
			RemoveParticipant{"P"},
			`{"action":"remove-participant","args":{"id":"P"}}`},
		{ActAddNode, "add-node", "proposeAddNode",
			AddNode{Node{ID: "vn4", Owner: "P", RaftAddr: "10.0.0.4:30400", PublicKey: []byte{4, 1}, CodeID: code1}},
			`{"action":"add-node","args":{"id":"vn4","owner":"P","raftAddr":"10.0.0.4:30400","publicKey":"0x0401","codeId":` + codeJSON + `}}`},
		{ActRemoveNode, "remove-node", "proposeRemoveNode",
			RemoveNode{"vn2"},
			`{"action":"remove-node","args":{"id":"vn2"}}`},
		{ActSetPolicy, "set-policy", "proposeSetPolicy",
			SetPolicy{Policy{Kind: MOfN, M: 3}},
			`{"action":"set-policy","args":{"kind":"m-of-n","m":3}}`},
		{ActAddCode, "add-code", "proposeAddCode",
			AddCode{code1},
			`{"action":"add-code","args":{"codeId":` + codeJSON + `}}`},
		{ActRemoveCode, "remove-code", "proposeRemoveCode",
			RemoveCode{code1},
			`{"action":"remove-code","args":{"codeId":` + codeJSON + `}}`},
		{ActAddTEE, "add-tee", "proposeAddTEE",
			AddTEE{TEESGX},
			`{"action":"add-tee","args":{"kind":"sgx"}}`},
		{ActRemoveTEE, "remove-tee", "proposeRemoveTEE",
			RemoveTEE{TEESimulation},
			`{"action":"remove-tee","args":{"kind":"simulation"}}`},
		{ActSetSettings, "set-settings", "proposeSetSettings",
			// The recovery threshold is not an argument of set-settings.
			SetSettings{Settings{ProposalLifetime: 5, EpochLength: 6, OpenSending: true, SessionLifetime: 7200, RecoveryThreshold: 2}},
			`{"action":"set-settings","args":{"proposalLifetime":5,"epochLength":6,"openSending":true,"sessionLifetime":7200}}`},
		{ActSetRecoveryKey, "set-recovery-key", "proposeSetRecoveryKey",
			SetRecoveryKey{ID: "B", Key: code1},
			`{"action":"set-recovery-key","args":{"id":"B","recoveryKey":` + codeJSON + `}}`},
		{ActSetRecoveryThreshold, "set-recovery-threshold", "proposeSetRecoveryThreshold",
			SetRecoveryThreshold{M: 2},
			`{"action":"set-recovery-threshold","args":{"recoveryThreshold":2}}`},
	}
	kinds := ActionKinds()
	if len(cases) != len(kinds) || len(kinds) != int(numActions) {
		t.Fatalf("%d cases, %d kinds, numActions %d", len(cases), len(kinds), numActions)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if kinds[i] != c.kind || c.action.Kind() != c.kind {
				t.Fatalf("case %d: kind %d, ActionKinds()[%d] %d, action's kind %d", i, c.kind, i, kinds[i], c.action.Kind())
			}
			if got := c.kind.Name(); got != c.name {
				t.Errorf("Name() = %q, want %q", got, c.name)
			}
			if got := c.kind.Method(); got != c.method {
				t.Errorf("Method() = %q, want %q", got, c.method)
			}
			if got := c.kind.String(); got != strings.TrimPrefix(c.method, "propose") {
				t.Errorf("String() = %q", got)
			}
			for _, spelling := range []string{c.name, strings.ToUpper(c.name)} {
				if k, err := ParseActionName(spelling); err != nil || k != c.kind {
					t.Errorf("ParseActionName(%q) = %d, %v; want %d", spelling, k, err, c.kind)
				}
			}
			js, err := json.Marshal(NewActionJSON(c.action))
			if err != nil || string(js) != c.json {
				t.Errorf("JSON %s (%v)\nwant %s", js, err, c.json)
			}
		})
	}
	// Optional fields are left out.
	js, _ := json.Marshal(NewActionJSON(AddMember{Member{ID: "D", Accounts: []common.Address{acc}, PublicKey: []byte{1}}}))
	if want := `{"action":"add-member","args":{"id":"D","accounts":[` + accJSON + `],"publicKey":"0x01"}}`; string(js) != want {
		t.Errorf("JSON %s, want %s", js, want)
	}
}

func TestParseActionNameErrors(t *testing.T) {
	for _, s := range []string{"", "add-members", "addMember", "AddMember", " add-member", "propose-add-member"} {
		if k, err := ParseActionName(s); err == nil {
			t.Errorf("ParseActionName(%q) = %d, want an error", s, k)
		}
	}
	_, err := ParseActionName("add-members")
	want := `unknown action "add-members" (want one of add-member, remove-member, add-participant, remove-participant, add-node, remove-node, set-policy, add-code, remove-code, add-tee, remove-tee, set-settings, set-recovery-key, set-recovery-threshold)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if n := numActions.Name(); n != "" {
		t.Errorf("name of an unknown kind: %q", n)
	}
}
