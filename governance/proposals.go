package governance

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rlp"
)

// ProposalState is the state of a proposal; the numbers are those of
// IGovernance.ProposalState.
type ProposalState uint8

// Proposal states. Every state but Open is final.
const (
	Open      ProposalState = iota
	Passed                  // approved and applied
	Rejected                // can no longer gather enough approvals
	Expired                 // its lifetime ended before a decision
	Withdrawn               // withdrawn by its proposer, or its proposer left
	Failed                  // approved, but no longer applicable when decided
)

var stateNames = []string{"open", "passed", "rejected", "expired", "withdrawn", "failed"}

func (s ProposalState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("ProposalState(%d)", uint8(s))
}

// Ballot is one member's vote on a proposal.
type Ballot struct {
	Member  string
	Approve bool
	Block   uint64
}

// Proposal is a proposed change of the constitution and its ballots.
type Proposal struct {
	ID        uint64
	Proposer  string // member id
	Action    Action
	CreatedAt uint64
	ExpiresAt uint64 // the first block at which it is expired
	State     ProposalState
	Reason    string // why it was rejected, expired, withdrawn or failed
	Ballots   []Ballot
}

type proposalRecord struct {
	ID        uint64
	State     uint8
	CreatedAt uint64
	ExpiresAt uint64
	Proposer  string
	Action    taggedRLP
	Reason    string
	Ballots   []Ballot
}

// Error is a refused governance operation. Contract.Run turns it into
// Solidity Error(string) revert data carrying Reason.
type Error struct{ Reason string }

func (e *Error) Error() string { return "governance: " + e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// session is one governance operation: a metered store, the block it runs
// in and the logs it emits.
type session struct {
	*store
	block uint64
}

func (s *session) emit(name string, args ...any) error {
	l, err := makeLog(name, s.block, args...)
	if err != nil {
		return err
	}
	s.gas += GasLog + GasLogTopic*uint64(len(l.Topics)) + GasLogByte*uint64(len(l.Data))
	s.db.AddLog(l)
	return nil
}

func (s *session) proposal(id uint64) (*Proposal, error) {
	b := s.getBlob(proposalSlot(id))
	if b == nil {
		return nil, nil
	}
	var rec proposalRecord
	if err := rlp.DecodeBytes(b, &rec); err != nil {
		return nil, fmt.Errorf("governance: corrupt proposal %d: %v", id, err)
	}
	a, err := decodeAction(rec.Action)
	if err != nil {
		return nil, fmt.Errorf("governance: corrupt proposal %d: %v", id, err)
	}
	return &Proposal{
		ID: rec.ID, Proposer: rec.Proposer, Action: a, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt,
		State: ProposalState(rec.State), Reason: rec.Reason, Ballots: rec.Ballots,
	}, nil
}

func (s *session) putProposal(p *Proposal) error {
	act, err := encodeAction(p.Action)
	if err != nil {
		return err
	}
	b, err := rlp.EncodeToBytes(&proposalRecord{
		ID: p.ID, State: uint8(p.State), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
		Proposer: p.Proposer, Action: act, Reason: p.Reason, Ballots: p.Ballots,
	})
	if err != nil {
		return err
	}
	s.setBlob(proposalSlot(p.ID), b)
	return nil
}

// openIDs lists the open proposals (including those past their lifetime
// not swept yet), by id.
func (s *session) openIDs() []uint64 {
	ws := s.setList(setOpen)
	ids := make([]uint64, len(ws))
	for i, w := range ws {
		ids[i], _ = openSplit(w)
	}
	slices.Sort(ids)
	return ids
}

// close moves an open proposal to a final state and emits
// ProposalResolved.
func (s *session) close(p *Proposal, st ProposalState, reason string) error {
	s.setRemove(setOpen, openWord(p.ID, p.ExpiresAt))
	k := openBySlot(actorKey(p.Proposer))
	if n := s.getU64(k); n > 0 {
		s.setU64(k, n-1)
	}
	p.State, p.Reason = st, reason
	if err := s.putProposal(p); err != nil {
		return err
	}
	return s.emit("ProposalResolved", new(big.Int).SetUint64(p.ID), uint8(st), reason)
}

// sweep expires every open proposal whose lifetime has ended.
func (s *session) sweep() ([]uint64, error) {
	var expired []uint64
	for _, w := range s.setList(setOpen) {
		if id, exp := openSplit(w); s.block >= exp {
			expired = append(expired, id)
		}
	}
	slices.Sort(expired)
	for _, id := range expired {
		p, err := s.proposal(id)
		if err != nil {
			return nil, err
		}
		if err := s.close(p, Expired, fmt.Sprintf("lifetime ended at block %d", p.ExpiresAt)); err != nil {
			return nil, err
		}
	}
	return expired, nil
}

// member returns the id and key of the member an account acts for, or an
// error naming what the account is.
func (s *session) member(caller common.Address, what string) (string, error) {
	kind, key := s.account(caller)
	switch kind {
	case KindMember:
		r, err := s.actor(key)
		if err != nil {
			return "", err
		}
		if r == nil {
			return "", fmt.Errorf("governance: corrupt state: account %s without actor record", caller.Hex())
		}
		return r.ID, nil
	case KindParticipant:
		r, _ := s.actor(key)
		id := "?"
		if r != nil {
			id = r.ID
		}
		return "", refuse("only members may %s: %s belongs to participant %q", what, caller.Hex(), id)
	}
	return "", refuse("only members may %s: %s is not a member's account", what, caller.Hex())
}

// tally counts the ballots of current members.
func (s *session) tally(p *Proposal) (yes, no uint64) {
	for _, b := range p.Ballots {
		if !s.setHas(setMembers, actorKey(b.Member)) {
			continue
		}
		if b.Approve {
			yes++
		} else {
			no++
		}
	}
	return yes, no
}

// decide resolves an open proposal if the policy in force decides it.
// It reports whether the constitution changed.
func (s *session) decide(p *Proposal) (bool, error) {
	yes, no := s.tally(p)
	n := s.memberCount()
	pol := s.policy()
	t := pol.Threshold(n)
	if t == 0 {
		return false, fmt.Errorf("governance: corrupt state: policy %s unsatisfiable with %d members", pol, n)
	}
	switch {
	case yes >= t:
		if err := p.Action.check(s.store); err != nil {
			return false, s.close(p, Failed, "approved but not applicable: "+err.Error())
		}
		if err := s.close(p, Passed, fmt.Sprintf("approved by %d of %d member(s) under policy %s", yes, n, pol)); err != nil {
			return false, err
		}
		return true, s.apply(p)
	case n-no < t:
		return false, s.close(p, Rejected, fmt.Sprintf("%d of %d member(s) rejected it; policy %s needs %d approvals", no, n, pol, t))
	}
	return false, nil
}

// apply applies the action of a passed proposal, bumps the version and
// emits the change's events.
func (s *session) apply(p *Proposal) error {
	effects, err := p.Action.apply(s.store)
	if err != nil {
		return fmt.Errorf("governance: applying checked proposal %d: %v", p.ID, err)
	}
	v := s.version() + 1
	s.setU64(slotVersion, v)
	for _, e := range effects {
		name, args := e.event()
		if err := s.emit(name, args...); err != nil {
			return err
		}
	}
	if err := s.emit("ConstitutionChanged", v, new(big.Int).SetUint64(p.ID)); err != nil {
		return err
	}
	if rm, ok := p.Action.(RemoveMember); ok {
		return s.forgetMember(rm.ID)
	}
	return nil
}

// forgetMember withdraws the open proposals of a removed member and
// discards its ballots on the others.
func (s *session) forgetMember(id string) error {
	for _, pid := range s.openIDs() {
		p, err := s.proposal(pid)
		if err != nil {
			return err
		}
		if p.Proposer == id {
			if err := s.close(p, Withdrawn, fmt.Sprintf("proposer %q is no longer a member", id)); err != nil {
				return err
			}
			continue
		}
		kept := p.Ballots[:0:0]
		for _, b := range p.Ballots {
			if b.Member != id {
				kept = append(kept, b)
			}
		}
		if len(kept) != len(p.Ballots) {
			p.Ballots = kept
			if err := s.putProposal(p); err != nil {
				return err
			}
		}
	}
	s.set(openBySlot(actorKey(id)), common.Hash{})
	return nil
}

// settle decides proposals after p until none changes state: after a
// change of the constitution (members, policy) other open proposals may
// pass, be rejected or fail. Proposals are considered by increasing id,
// and the scan restarts after every change.
func (s *session) settle() error {
	for {
		changed := false
		for _, id := range s.openIDs() {
			p, err := s.proposal(id)
			if err != nil {
				return err
			}
			if changed, err = s.decide(p); err != nil {
				return err
			}
			if changed {
				break
			}
		}
		if !changed {
			return nil
		}
	}
}

// decideOne decides p and, when that changed the constitution, settles
// the other open proposals.
func (s *session) decideOne(p *Proposal) error {
	changed, err := s.decide(p)
	if err != nil || !changed {
		return err
	}
	return s.settle()
}

// ---- operations ---------------------------------------------------------

func (s *session) propose(caller common.Address, a Action) (uint64, error) {
	if s.version() == 0 {
		return 0, ErrNotInstalled
	}
	if _, err := s.sweep(); err != nil {
		return 0, err
	}
	who, err := s.member(caller, "propose")
	if err != nil {
		return 0, err
	}
	if a == nil {
		return 0, refuse("no action")
	}
	a, err = a.normalise()
	if err != nil {
		return 0, refuse("%s", err)
	}
	if err := a.check(s.store); err != nil {
		return 0, refuse("%s", err)
	}
	openBy := openBySlot(actorKey(who))
	count := s.getU64(openBy)
	if count >= MaxOpenPerMember {
		return 0, refuse("member %q already has %d open proposals (the most allowed)", who, count)
	}
	s.setU64(openBy, count+1)
	id := s.getU64(slotNextProposal)
	if id == 0 {
		id = 1
	}
	s.setU64(slotNextProposal, id+1)
	p := &Proposal{
		ID: id, Proposer: who, Action: a, CreatedAt: s.block,
		ExpiresAt: s.block + s.settings().ProposalLifetime, State: Open,
		Ballots: []Ballot{{Member: who, Approve: true, Block: s.block}},
	}
	if err := s.putProposal(p); err != nil {
		return 0, err
	}
	s.setAdd(setOpen, openWord(p.ID, p.ExpiresAt))
	bid := new(big.Int).SetUint64(id)
	if err := s.emit("ProposalCreated", bid, who, uint8(a.Kind()), a.String()); err != nil {
		return 0, err
	}
	if err := s.emit("ProposalVoted", bid, who, true); err != nil {
		return 0, err
	}
	return id, s.decideOne(p)
}

// openProposal returns proposal id if it exists and is open at this block.
func (s *session) openProposal(id uint64) (*Proposal, error) {
	p, err := s.proposal(id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, refuse("no proposal %d", id)
	}
	if p.State != Open {
		return nil, refuse("proposal %d is %s", id, p.State)
	}
	return p, nil
}

func (s *session) vote(caller common.Address, id uint64, approve bool) error {
	if s.version() == 0 {
		return ErrNotInstalled
	}
	if _, err := s.sweep(); err != nil {
		return err
	}
	who, err := s.member(caller, "vote")
	if err != nil {
		return err
	}
	p, err := s.openProposal(id)
	if err != nil {
		return err
	}
	for _, b := range p.Ballots {
		if b.Member == who {
			verb := "against"
			if b.Approve {
				verb = "for"
			}
			return refuse("member %q already voted %s proposal %d at block %d", who, verb, id, b.Block)
		}
	}
	p.Ballots = append(p.Ballots, Ballot{Member: who, Approve: approve, Block: s.block})
	if err := s.putProposal(p); err != nil {
		return err
	}
	if err := s.emit("ProposalVoted", new(big.Int).SetUint64(id), who, approve); err != nil {
		return err
	}
	return s.decideOne(p)
}

func (s *session) withdraw(caller common.Address, id uint64) error {
	if s.version() == 0 {
		return ErrNotInstalled
	}
	if _, err := s.sweep(); err != nil {
		return err
	}
	who, err := s.member(caller, "withdraw proposals")
	if err != nil {
		return err
	}
	p, err := s.openProposal(id)
	if err != nil {
		return err
	}
	if p.Proposer != who {
		return refuse("only its proposer %q may withdraw proposal %d", p.Proposer, id)
	}
	return s.close(p, Withdrawn, fmt.Sprintf("withdrawn by %q", who))
}

// view returns proposal id as it stands at this block: an open proposal
// past its lifetime is reported expired even before a sweep stores it.
func (s *session) view(id uint64) (*Proposal, error) {
	p, err := s.proposal(id)
	if err != nil || p == nil {
		return p, err
	}
	if p.State == Open && s.block >= p.ExpiresAt {
		p.State = Expired
		p.Reason = fmt.Sprintf("lifetime ended at block %d", p.ExpiresAt)
	}
	return p, nil
}

func (s *session) openList() ([]*Proposal, error) {
	var out []*Proposal
	for _, id := range s.openIDs() {
		p, err := s.view(id)
		if err != nil {
			return nil, err
		}
		if p.State == Open {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ---- exported Go API ------------------------------------------------------

// atomically runs f in a session over state; on error every change f made
// (storage and logs) is reverted.
func atomically(state vm.StateDB, block uint64, f func(s *session) error) (uint64, error) {
	s := &session{store: &store{db: state}, block: block}
	snap := state.Snapshot()
	if err := f(s); err != nil {
		state.RevertToSnapshot(snap)
		return s.gas, err
	}
	return s.gas, nil
}

// Propose records a proposal of caller (an account of a member) at the
// given block and returns its id. Proposing counts as the proposer's yes
// ballot, so under one-of-n (or with a single member) it passes at once.
// The returned error is an *Error when the proposal is refused; the state
// is then unchanged.
func Propose(state vm.StateDB, caller common.Address, block uint64, a Action) (uint64, error) {
	var id uint64
	_, err := atomically(state, block, func(s *session) (err error) {
		id, err = s.propose(caller, a)
		return err
	})
	return id, err
}

// Vote records the ballot of the member caller acts for and decides the
// proposal if the policy now does.
func Vote(state vm.StateDB, caller common.Address, block uint64, id uint64, approve bool) error {
	_, err := atomically(state, block, func(s *session) error { return s.vote(caller, id, approve) })
	return err
}

// Withdraw withdraws an open proposal of the member caller acts for.
func Withdraw(state vm.StateDB, caller common.Address, block uint64, id uint64) error {
	_, err := atomically(state, block, func(s *session) error { return s.withdraw(caller, id) })
	return err
}

// Expire marks every open proposal whose lifetime has ended at block
// expired (emitting ProposalResolved for each) and returns their ids.
// Every write operation does the same first, so Expire is only needed to
// make expiry visible in storage and logs without other activity. The
// logs go through state.AddLog and so belong to the transaction the state
// is set to (SetTxContext): call it within a transaction, or use the
// contract's expire().
func Expire(state vm.StateDB, block uint64) ([]uint64, error) {
	var ids []uint64
	_, err := atomically(state, block, func(s *session) (err error) {
		if s.version() == 0 {
			return ErrNotInstalled
		}
		ids, err = s.sweep()
		return err
	})
	return ids, err
}

// GetProposal returns proposal id as it stands at block (an open proposal
// past its lifetime is reported Expired), or nil if there is none.
func GetProposal(state vm.StateDB, id uint64, block uint64) (*Proposal, error) {
	s := &session{store: reader(state), block: block}
	return s.view(id)
}

// OpenProposals returns the proposals open at block, by id.
func OpenProposals(state vm.StateDB, block uint64) ([]*Proposal, error) {
	s := &session{store: reader(state), block: block}
	return s.openList()
}

// IsRefusal reports whether err is a refused operation (an *Error) rather
// than a fault of the state.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
