package governance

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
)

// CallContext is the calling frame of one call to Address.
type CallContext struct {
	// State is the state the call runs on; writes go to the storage of
	// Address and logs through State.AddLog.
	State vm.StateDB
	// Caller is msg.sender: the transaction sender for a direct call, the
	// calling contract for a call from a contract, 0x0 for an unsigned
	// eth_call.
	Caller common.Address
	// BlockNumber is the number of the block the call executes in.
	BlockNumber uint64
	// ReadOnly is set for STATICCALL (and eth_call if the adapter wants
	// writes refused there; eth_estimateGas must leave it unset). Functions
	// that write then revert.
	ReadOnly bool
	// Gas is the gas available to the call; 0 means unlimited. A call that
	// needs more reverts all its changes and returns vm.ErrOutOfGas with
	// gasUsed = Gas.
	Gas uint64
	// Value is the wei sent with the call (nil means none). No function
	// is payable: a call with value reverts (the adapter must undo the
	// transfer, as the EVM does for a failed call).
	Value *uint256.Int
}

// Contract is the governance precompile. It is stateless itself: all data
// lives in the storage of Address, so one Contract serves every call.
type Contract struct {
	abi      abi.ABI
	handlers map[string]handler
}

type handler struct {
	writes bool
	run    func(s *session, caller common.Address, args []any) ([]any, error)
}

// NewContract returns the governance contract, its ABI parsed from
// abi.json.
func NewContract() *Contract {
	return &Contract{abi: contractABI, handlers: handlers()}
}

// ABI returns the contract's ABI.
func (c *Contract) ABI() abi.ABI { return c.abi }

// Run executes one call: input is ABI calldata (selector and arguments).
// It returns the ABI-encoded outputs and the gas used. Failures:
//   - a refused call (bad input, unknown function, not a member, rule
//     broken, write in a read-only call, value sent) returns
//     vm.ErrExecutionReverted with ret = Error(string) revert data;
//   - a call needing more than ctx.Gas returns vm.ErrOutOfGas;
//   - any other error means the governance storage is corrupt.
//
// On any error the state (storage and logs) is as before the call.
func (c *Contract) Run(ctx CallContext, input []byte) (ret []byte, gasUsed uint64, err error) {
	s := &session{store: &store{db: ctx.State, gas: GasBase}, block: ctx.BlockNumber}
	revert := func(reason string) ([]byte, uint64, error) {
		return RevertData(reason), c.charge(ctx, s.gas), vm.ErrExecutionReverted
	}
	if len(input) < 4 {
		return revert("governance: calldata too short for a function selector")
	}
	m, err := c.abi.MethodById(input[:4])
	if err != nil {
		return revert(fmt.Sprintf("governance: unknown function selector %s", hexutil.Encode(input[:4])))
	}
	h, ok := c.handlers[m.Name]
	if !ok {
		return revert(fmt.Sprintf("governance: function %s is not implemented", m.Sig))
	}
	if ctx.Value != nil && !ctx.Value.IsZero() {
		return revert(fmt.Sprintf("governance: %s is not payable", m.Name))
	}
	if h.writes && ctx.ReadOnly {
		return revert(fmt.Sprintf("governance: %s writes state and cannot run in a read-only call", m.Name))
	}
	args, err := m.Inputs.Unpack(input[4:])
	if err != nil {
		return revert(fmt.Sprintf("governance: invalid arguments for %s: %v", m.Sig, err))
	}
	snap := ctx.State.Snapshot()
	out, err := h.run(s, ctx.Caller, args)
	if err == nil {
		ret, err = m.Outputs.Pack(out...)
		if err != nil {
			err = fmt.Errorf("governance: packing outputs of %s: %v", m.Name, err)
		}
	}
	if ctx.Gas != 0 && s.gas > ctx.Gas {
		ctx.State.RevertToSnapshot(snap)
		return nil, ctx.Gas, vm.ErrOutOfGas
	}
	if err != nil {
		ctx.State.RevertToSnapshot(snap)
		var refusal *Error
		if errors.As(err, &refusal) {
			return revert(refusal.Reason)
		}
		if errors.Is(err, ErrNotInstalled) {
			return revert(err.Error())
		}
		return nil, c.charge(ctx, s.gas), err
	}
	return ret, s.gas, nil
}

func (c *Contract) charge(ctx CallContext, gas uint64) uint64 {
	if ctx.Gas != 0 && gas > ctx.Gas {
		return ctx.Gas
	}
	return gas
}

// ABI shapes of the structs of IGovernance.sol.

type abiMember struct {
	ID          string           `abi:"id"`
	Accounts    []common.Address `abi:"accounts"`
	PublicKey   []byte           `abi:"publicKey"`
	RecoveryKey []byte           `abi:"recoveryKey"`
}

type abiParticipant struct {
	ID       string           `abi:"id"`
	Accounts []common.Address `abi:"accounts"`
}

type abiNode struct {
	ID        string   `abi:"id"`
	Owner     string   `abi:"owner"`
	RaftAddr  string   `abi:"raftAddr"`
	PublicKey []byte   `abi:"publicKey"`
	CodeID    [32]byte `abi:"codeId"`
}

type abiBallot struct {
	Member      string `abi:"member"`
	Approve     bool   `abi:"approve"`
	BlockNumber uint64 `abi:"blockNumber"`
}

type abiProposal struct {
	ID          *big.Int    `abi:"id"`
	Proposer    string      `abi:"proposer"`
	Action      uint8       `abi:"action"`
	Args        []byte      `abi:"args"`
	Description string      `abi:"description"`
	CreatedAt   uint64      `abi:"createdAt"`
	ExpiresAt   uint64      `abi:"expiresAt"`
	State       uint8       `abi:"state"`
	Reason      string      `abi:"reason"`
	Ballots     []abiBallot `abi:"ballots"`
}

func toABIProposal(p *Proposal) (abiProposal, error) {
	args, err := EncodeArgs(p.Action)
	if err != nil {
		return abiProposal{}, err
	}
	out := abiProposal{
		ID: new(big.Int).SetUint64(p.ID), Proposer: p.Proposer, Action: uint8(p.Action.Kind()),
		Args: args, Description: p.Action.String(), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
		State: uint8(p.State), Reason: p.Reason, Ballots: []abiBallot{},
	}
	for _, b := range p.Ballots {
		out.Ballots = append(out.Ballots, abiBallot{Member: b.Member, Approve: b.Approve, BlockNumber: b.Block})
	}
	return out, nil
}

func proposalID(v any) (uint64, bool) {
	b := v.(*big.Int)
	if !b.IsUint64() {
		return 0, false
	}
	return b.Uint64(), true
}

func proposeHandler(kind ActionKind) handler {
	return handler{writes: true, run: func(s *session, caller common.Address, args []any) ([]any, error) {
		a, err := actionFromABI(kind, args)
		if err != nil {
			return nil, refuse("%s", err)
		}
		id, err := s.propose(caller, a)
		if err != nil {
			return nil, err
		}
		return []any{new(big.Int).SetUint64(id)}, nil
	}}
}

func handlers() map[string]handler {
	h := map[string]handler{}
	for k := ActionKind(0); k < numActions; k++ {
		h[k.Method()] = proposeHandler(k)
	}
	h["vote"] = handler{writes: true, run: func(s *session, caller common.Address, args []any) ([]any, error) {
		id, ok := proposalID(args[0])
		if !ok {
			return nil, refuse("no proposal %s", args[0])
		}
		return nil, s.vote(caller, id, args[1].(bool))
	}}
	h["withdraw"] = handler{writes: true, run: func(s *session, caller common.Address, args []any) ([]any, error) {
		id, ok := proposalID(args[0])
		if !ok {
			return nil, refuse("no proposal %s", args[0])
		}
		return nil, s.withdraw(caller, id)
	}}
	h["expire"] = handler{writes: true, run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		if s.version() == 0 {
			return nil, ErrNotInstalled
		}
		ids, err := s.sweep()
		return []any{big.NewInt(int64(len(ids)))}, err
	}}
	h["members"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		if s.version() == 0 {
			return nil, ErrNotInstalled
		}
		rs, err := s.actors(setMembers)
		out := []abiMember{}
		for _, r := range rs {
			out = append(out, abiMember{ID: r.ID, Accounts: r.Accounts, PublicKey: nonNil(r.PublicKey), RecoveryKey: nonNil(r.RecoveryKey)})
		}
		return []any{out}, err
	}}
	h["participants"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		if s.version() == 0 {
			return nil, ErrNotInstalled
		}
		rs, err := s.actors(setParticipants)
		out := []abiParticipant{}
		for _, r := range rs {
			out = append(out, abiParticipant{ID: r.ID, Accounts: r.Accounts})
		}
		return []any{out}, err
	}}
	h["nodes"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		if s.version() == 0 {
			return nil, ErrNotInstalled
		}
		ns, err := s.nodes()
		out := []abiNode{}
		for _, n := range ns {
			out = append(out, abiNode{ID: n.ID, Owner: n.Owner, RaftAddr: n.RaftAddr, PublicKey: n.PublicKey, CodeID: n.CodeID})
		}
		return []any{out}, err
	}}
	h["codeManifest"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		out := [][32]byte{}
		for _, c := range s.codeManifest() {
			out = append(out, c)
		}
		return []any{out}, nil
	}}
	h["teeManifest"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		return []any{append([]string{}, s.teeManifest()...)}, nil
	}}
	h["policy"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		p := s.policy()
		return []any{uint8(p.Kind), p.M}, nil
	}}
	h["settings"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		st := s.settings()
		return []any{st.ProposalLifetime, st.EpochLength, st.OpenSending, st.SessionLifetime}, nil
	}}
	// The stored threshold (0: a majority), as settings() shows the stored
	// session lifetime; Constitution.RecoveryThreshold is the one in effect.
	h["recoveryThreshold"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		return []any{s.settings().RecoveryThreshold}, nil
	}}
	h["proposal"] = handler{run: func(s *session, _ common.Address, args []any) ([]any, error) {
		id, ok := proposalID(args[0])
		if !ok {
			return nil, refuse("no proposal %s", args[0])
		}
		p, err := s.view(id)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, refuse("no proposal %d", id)
		}
		out, err := toABIProposal(p)
		return []any{out}, err
	}}
	h["openProposals"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		ps, err := s.openList()
		if err != nil {
			return nil, err
		}
		out := []abiProposal{}
		for _, p := range ps {
			a, err := toABIProposal(p)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return []any{out}, nil
	}}
	h["isActor"] = handler{run: func(s *session, _ common.Address, args []any) ([]any, error) {
		k, _ := s.account(args[0].(common.Address))
		return []any{k != NoActor}, nil
	}}
	h["isMember"] = handler{run: func(s *session, _ common.Address, args []any) ([]any, error) {
		k, _ := s.account(args[0].(common.Address))
		return []any{k == KindMember}, nil
	}}
	h["actorOf"] = handler{run: func(s *session, _ common.Address, args []any) ([]any, error) {
		k, key := s.account(args[0].(common.Address))
		if k == NoActor {
			return []any{uint8(NoActor), ""}, nil
		}
		r, err := s.actor(key)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, fmt.Errorf("governance: corrupt state: account without actor record")
		}
		return []any{uint8(k), r.ID}, nil
	}}
	h["version"] = handler{run: func(s *session, _ common.Address, _ []any) ([]any, error) {
		return []any{s.version()}, nil
	}}
	return h
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
