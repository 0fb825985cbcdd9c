package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
)

// TestPrintConstitution: the recovery threshold in effect, the stored one
// and which members hold recovery keys are shown; the settings line no
// longer repeats the threshold.
func TestPrintConstitution(t *testing.T) {
	rk := func(b byte) []byte { return bytes.Repeat([]byte{b}, governance.RecoveryKeySize) }
	cons := func(m uint16, keys ...[]byte) *ethapi.RPCConstitution {
		c := &governance.Constitution{
			Version:     4,
			Policy:      governance.Policy{Kind: governance.Majority},
			Settings:    governance.Settings{ProposalLifetime: 100, EpochLength: 1000, RecoveryThreshold: m},
			TEEManifest: []string{"simulation"},
		}
		for i, id := range []string{"A", "B", "C"} {
			mem := governance.Member{ID: id, Accounts: []common.Address{{byte(i + 1)}}, PublicKey: []byte{0x0a}}
			if i < len(keys) {
				mem.RecoveryKey = keys[i]
			}
			c.Members = append(c.Members, mem)
		}
		return &ethapi.RPCConstitution{Constitution: c, Block: 9}
	}
	for _, tc := range []struct {
		c    *ethapi.RPCConstitution
		want []string
		not  []string
	}{
		{cons(0, rk(1), rk(2), rk(3)), []string{
			"Settings:      proposal lifetime 100 blocks, epoch 1000 blocks, open sending off, sessions up to 24h0m0s\n",
			"Recovery:      any 2 of the 3 recovery key(s) of A, B, C (threshold majority)\n",
			", recovery key 0x030303…0303 (32 bytes)\n",
		}, []string{"no recovery key", "Settings:      proposal lifetime 100 blocks, epoch 1000 blocks, open sending off, sessions up to 24h0m0s, recovery"}},
		{cons(2, rk(1), nil, rk(3)), []string{
			"Recovery:      any 2 of the 2 recovery key(s) of A, C (threshold 2 keys)\n",
			"public key 0x0a, no recovery key\n",
		}, nil},
		// Stored above the keys left: capped.
		{cons(3, rk(1), rk(2)), []string{
			"Recovery:      any 2 of the 2 recovery key(s) of A, B (threshold 3 keys, more than the 2 key(s) left)\n",
		}, nil},
		{cons(1), []string{
			"Recovery:      no member has a recovery key (threshold 1 key)\n",
		}, []string{", recovery key"}},
	} {
		var b strings.Builder
		printConstitution(&b, tc.c)
		out := b.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(out, w) {
				t.Errorf("output has %q:\n%s", w, out)
			}
		}
		ids, _ := tc.c.RecoveryKeys()
		if n := strings.Count(out, ", no recovery key\n"); n != len(tc.c.Members)-len(ids) {
			t.Errorf("%d members shown without a recovery key, want %d:\n%s", n, len(tc.c.Members)-len(ids), out)
		}
		if n := strings.Count(out, ", recovery key 0x"); n != len(ids) {
			t.Errorf("%d members shown with a recovery key, want %d:\n%s", n, len(ids), out)
		}
	}

	// JSON (constitution --json, coco_constitution): the settings gain
	// recoveryThreshold, every field of before is still there, and the
	// answer reads back.
	js, err := json.Marshal(cons(2, rk(1), rk(2)))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Settings map[string]any   `json:"settings"`
		Members  []map[string]any `json:"members"`
		Block    uint64           `json:"block"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"proposalLifetime", "epochLength", "openSending", "sessionLifetime", "recoveryThreshold"} {
		if _, ok := raw.Settings[k]; !ok {
			t.Errorf("settings JSON lacks %s: %s", k, js)
		}
	}
	if raw.Settings["recoveryThreshold"] != float64(2) || raw.Block != 9 || raw.Members[0]["recoveryKey"] == nil || raw.Members[2]["recoveryKey"] != nil {
		t.Errorf("JSON %s", js)
	}
	var back ethapi.RPCConstitution
	if err := json.Unmarshal(js, &back); err != nil || back.Settings.RecoveryThreshold != 2 || back.RecoveryThreshold() != 2 {
		t.Fatalf("read back: %v %+v", err, back.Settings)
	}
}
