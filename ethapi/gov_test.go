package ethapi

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

func TestGovAPINoConstitution(t *testing.T) {
	ctx := context.Background()
	s := newDevChain(t)
	api := &GovAPI{b: s.RPCBackend()}
	_, err1 := api.Constitution(ctx, nil)
	_, err2 := api.Proposals(ctx, nil, nil)
	_, err3 := api.Proposal(ctx, 1, nil)
	_, err4 := api.Governance()
	for i, err := range []error{err1, err2, err3, err4} {
		if err == nil || err.Error() != "this network has no constitution" {
			t.Errorf("view %d: %v", i, err)
		}
	}
}

func TestGovAPIViews(t *testing.T) {
	ctx := context.Background()
	s := newChain(t, governedGenesis(t), nil)
	api := &GovAPI{b: s.RPCBackend()}
	c, err := api.Constitution(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || c.Block != 0 || len(c.Members) != 3 || len(c.Nodes) != 1 || c.Policy.M != 2 || c.CodeManifest == nil || c.Participants == nil {
		t.Fatalf("constitution %+v", c)
	}
	js, _ := json.Marshal(c)
	for _, field := range []string{`"version":1`, `"members":[`, `"participants":[]`, `"nodes":[`, `"codeManifest":[]`, `"teeManifest":["simulation"]`, `"policy":{"kind":"m-of-n","m":2}`, `"settings":{`, `"block":0`} {
		if !strings.Contains(string(js), field) {
			t.Errorf("coco_constitution lacks %s: %s", field, js)
		}
	}
	if ps, err := api.Proposals(ctx, nil, nil); err != nil || len(ps) != 0 {
		t.Fatalf("proposals at genesis: %v %v", ps, err)
	}
	if _, err := api.Proposal(ctx, 1, nil); err == nil || err.Error() != "no proposal 1" {
		t.Errorf("missing proposal: %v", err)
	}

	// A proposes participant P, C the majority policy; then B approves
	// the first, which passes.
	p := common.HexToAddress("0x1111111111111111111111111111111111111111")
	commit(t, s,
		govTx(t, keyA, 0, "proposeAddParticipant", "P", []common.Address{p}),
		govTx(t, keyC, 0, "proposeSetPolicy", uint8(governance.Majority), uint64(0)),
	)
	open, err := api.Proposals(ctx, nil, nil)
	if err != nil || len(open) != 2 {
		t.Fatalf("open proposals: %v %v", open, err)
	}
	first := open[0]
	if first.ID != 1 || first.Proposer != "A" || first.Action != "add-participant" || first.State != "open" ||
		first.Approvals != 1 || first.Threshold != 2 || first.CreatedAt != 1 || first.ExpiresAt != 101 || len(first.Ballots) != 1 {
		t.Errorf("proposal 1: %+v", first)
	}
	if args, _ := json.Marshal(first.Args); string(args) != `{"id":"P","accounts":["`+strings.ToLower(p.Hex())+`"]}` {
		t.Errorf("proposal 1 args: %s", args)
	}
	if js, _ := json.Marshal(first); !strings.Contains(string(js), `"proposer":"A","action":"add-participant","args":{"id":"P","accounts":["`+strings.ToLower(p.Hex())+`"]},"description":"add participant \"P\" (1 account(s))",`) {
		t.Errorf("proposal 1 JSON: %s", js)
	}
	commit(t, s, govTx(t, keyB, 0, "vote", big.NewInt(1), true))
	one, err := api.Proposal(ctx, 1, nil)
	if err != nil || one.State != "passed" || one.Approvals != 2 || len(one.Ballots) != 2 || one.Ballots[1].Member != "B" {
		t.Fatalf("proposal 1 after B's vote: %+v %v", one, err)
	}
	if open, _ := api.Proposals(ctx, nil, nil); len(open) != 1 || open[0].ID != 2 || open[0].Action != "set-policy" {
		t.Errorf("open after the vote: %+v", open)
	}
	f := false
	all, err := api.Proposals(ctx, &f, nil)
	if err != nil || len(all) != 2 || all[0].State != "passed" || all[1].State != "open" {
		t.Errorf("all proposals: %+v %v", all, err)
	}
	if c, _ := api.Constitution(ctx, nil); c.Version != 2 || len(c.Participants) != 1 {
		t.Errorf("constitution after the vote: %+v", c)
	}
	// Views at an earlier block.
	at := rpc.BlockNumberOrHashWithNumber(1)
	if c, _ := api.Constitution(ctx, &at); c.Version != 1 || c.Block != 1 {
		t.Errorf("constitution at block 1: %+v", c)
	}
	if p, _ := api.Proposal(ctx, math.HexOrDecimal64(1), &at); p.State != "open" {
		t.Errorf("proposal 1 at block 1: %+v", p)
	}

	info, err := api.Governance()
	if err != nil || info.Address != governance.Address {
		t.Fatal(info, err)
	}
	var abi []map[string]any
	if err := json.Unmarshal(info.ABI, &abi); err != nil || len(abi) == 0 {
		t.Errorf("abi: %v", err)
	}
	// Selectors and topics are Keccak-256 of the signatures, for clients
	// that cannot hash (the dashboard).
	if got, want := info.Selectors["vote(uint256,bool)"], crypto.Keccak256([]byte("vote(uint256,bool)"))[:4]; !bytes.Equal(got, want) {
		t.Errorf("vote selector %x, want %x", got, want)
	}
	if got, want := info.Events["ConstitutionChanged(uint64,uint256)"], crypto.Keccak256Hash([]byte("ConstitutionChanged(uint64,uint256)")); got != want {
		t.Errorf("ConstitutionChanged topic %s, want %s", got, want)
	}
	if len(info.Selectors) != len(governance.ABI().Methods) || len(info.Events) != len(governance.ABI().Events) {
		t.Errorf("%d selectors and %d topics for the ABI's %d functions and %d events", len(info.Selectors), len(info.Events), len(governance.ABI().Methods), len(governance.ABI().Events))
	}
}
