package ethapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// GovAPI holds the coco_ views of the constitution for tools: the whole
// constitution, the proposals and the contract's ABI. Writes go through
// transactions to governance.Address.
type GovAPI struct{ b Backend }

// errNoConstitution answers every view on a network without governance.
var errNoConstitution = errors.New("this network has no constitution")

// govState returns the state and header of a block (default latest) of a
// governed network.
func (api *GovAPI) govState(ctx context.Context, bnh *rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error) {
	if !api.b.Spec().Coco.Governed() {
		return nil, nil, errNoConstitution
	}
	st, h, err := api.b.StateAndHeaderByNumberOrHash(ctx, latestIfNil(bnh))
	if err != nil {
		return nil, nil, err
	}
	if governance.Version(st) == 0 {
		return nil, nil, errNoConstitution
	}
	return st, h, nil
}

// RPCConstitution is the answer of coco_constitution: the constitution and
// the block it was read at.
type RPCConstitution struct {
	*governance.Constitution
	Block uint64 `json:"block"`
}

// Constitution returns the whole constitution at a block (default latest):
// version, members, participants, nodes, code and TEE manifests, voting
// policy and settings.
func (api *GovAPI) Constitution(ctx context.Context, bnh *rpc.BlockNumberOrHash) (*RPCConstitution, error) {
	st, h, err := api.govState(ctx, bnh)
	if err != nil {
		return nil, err
	}
	c, err := governance.Load(st)
	if err != nil {
		return nil, err
	}
	// Empty lists are [] rather than null, for tools.
	if c.Members == nil {
		c.Members = []governance.Member{}
	}
	if c.Participants == nil {
		c.Participants = []governance.Participant{}
	}
	if c.Nodes == nil {
		c.Nodes = []governance.Node{}
	}
	if c.CodeManifest == nil {
		c.CodeManifest = []common.Hash{}
	}
	if c.TEEManifest == nil {
		c.TEEManifest = []string{}
	}
	return &RPCConstitution{Constitution: c, Block: h.Number.Uint64()}, nil
}

// RPCBallot is one member's ballot on a proposal.
type RPCBallot struct {
	Member  string `json:"member"`
	Approve bool   `json:"approve"`
	Block   uint64 `json:"block"`
}

// RPCProposal is a proposal as coco_proposal and coco_proposals show it.
// Its action is in governance's JSON form: "action" the kebab-case name
// ("add-member", "set-policy", as `cocogeth propose` takes them) and
// "args" its arguments (see governance.ActionJSON).
// Approvals and Rejections count the ballots of current members only;
// Threshold is the approvals the policy in force requires.
type RPCProposal struct {
	ID       uint64 `json:"id"`
	Proposer string `json:"proposer"`
	governance.ActionJSON
	Description string      `json:"description"`
	CreatedAt   uint64      `json:"createdAt"`
	ExpiresAt   uint64      `json:"expiresAt"`
	State       string      `json:"state"`
	Reason      string      `json:"reason,omitempty"`
	Ballots     []RPCBallot `json:"ballots"`
	Approvals   uint64      `json:"approvals"`
	Rejections  uint64      `json:"rejections"`
	Threshold   uint64      `json:"threshold"`
}

func newRPCProposal(p *governance.Proposal, c *governance.Constitution) *RPCProposal {
	out := &RPCProposal{
		ID: p.ID, Proposer: p.Proposer, ActionJSON: governance.NewActionJSON(p.Action),
		Description: p.Action.String(), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
		State: p.State.String(), Reason: p.Reason, Ballots: []RPCBallot{},
		Threshold: c.Policy.Threshold(uint64(len(c.Members))),
	}
	for _, b := range p.Ballots {
		out.Ballots = append(out.Ballots, RPCBallot{Member: b.Member, Approve: b.Approve, Block: b.Block})
		if _, member := c.Member(b.Member); !member {
			continue
		}
		if b.Approve {
			out.Approvals++
		} else {
			out.Rejections++
		}
	}
	return out
}

// Proposal returns proposal id at a block (default latest); an open
// proposal past its lifetime shows as expired. It answers an error when
// there is no such proposal.
func (api *GovAPI) Proposal(ctx context.Context, id math.HexOrDecimal64, bnh *rpc.BlockNumberOrHash) (*RPCProposal, error) {
	st, h, err := api.govState(ctx, bnh)
	if err != nil {
		return nil, err
	}
	c, err := governance.Load(st)
	if err != nil {
		return nil, err
	}
	p, err := governance.GetProposal(st, uint64(id), h.Number.Uint64())
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("no proposal %d", uint64(id))
	}
	return newRPCProposal(p, c), nil
}

// maxListedProposals bounds the answer of coco_proposals(false).
const maxListedProposals = 10_000

// Proposals returns the open proposals (open true or omitted) or every
// proposal ever made (open false, at most the last 10,000), by id, at a
// block (default latest).
func (api *GovAPI) Proposals(ctx context.Context, open *bool, bnh *rpc.BlockNumberOrHash) ([]*RPCProposal, error) {
	st, h, err := api.govState(ctx, bnh)
	if err != nil {
		return nil, err
	}
	c, err := governance.Load(st)
	if err != nil {
		return nil, err
	}
	block := h.Number.Uint64()
	out := []*RPCProposal{}
	if open == nil || *open {
		ps, err := governance.OpenProposals(st, block)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out = append(out, newRPCProposal(p, c))
		}
		return out, nil
	}
	// Ids are sequential from 1 and proposals are never deleted.
	var all []*RPCProposal
	for id := uint64(1); ; id++ {
		p, err := governance.GetProposal(st, id, block)
		if err != nil {
			return nil, err
		}
		if p == nil {
			break
		}
		all = append(all, newRPCProposal(p, c))
	}
	if len(all) > maxListedProposals {
		all = all[len(all)-maxListedProposals:]
	}
	return append(out, all...), nil
}

// GovernanceInfo is the answer of coco_governance.
type GovernanceInfo struct {
	Address common.Address  `json:"address"`
	ABI     json.RawMessage `json:"abi"`
	// Selectors maps each function's signature ("vote(uint256,bool)") to
	// its 4-byte selector, and Events each event's signature to its topic,
	// for clients without Keccak-256 (the dashboard in a browser).
	Selectors map[string]hexutil.Bytes `json:"selectors"`
	Events    map[string]common.Hash   `json:"events"`
}

// Governance returns the address of the governance contract and its ABI
// (IGovernance.sol compiled by solc), for tools that call it.
func (api *GovAPI) Governance() (*GovernanceInfo, error) {
	if !api.b.Spec().Coco.Governed() {
		return nil, errNoConstitution
	}
	a := governance.ABI()
	info := &GovernanceInfo{Address: governance.Address, ABI: json.RawMessage(governance.ABIJSON),
		Selectors: make(map[string]hexutil.Bytes, len(a.Methods)), Events: make(map[string]common.Hash, len(a.Events))}
	for _, m := range a.Methods {
		info.Selectors[m.Sig] = m.ID
	}
	for _, e := range a.Events {
		info.Events[e.Sig] = e.ID
	}
	return info, nil
}
