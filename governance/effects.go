package governance

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rlp"
)

// Effect is one change of the constitution, as the node must apply it:
// NodeAdded and NodeRemoved become Raft membership changes, the others
// change admission, attestation and key policies.
type Effect interface {
	effectKind() effectKind
	String() string
}

// MemberAdded: a member joined.
type MemberAdded struct{ Member Member }

// MemberRemoved: a member left (its nodes are removed before it, each with
// its own NodeRemoved).
type MemberRemoved struct{ Member Member }

// ParticipantAdded: a participant joined.
type ParticipantAdded struct{ Participant Participant }

// ParticipantRemoved: a participant left (after NodeRemoved of its nodes).
type ParticipantRemoved struct{ Participant Participant }

// NodeAdded: a validating node joined the VN list.
type NodeAdded struct{ Node Node }

// NodeRemoved: a validating node left the VN list.
type NodeRemoved struct{ Node Node }

// PolicyChanged: the voting policy changed.
type PolicyChanged struct{ Old, New Policy }

// CodeAdded: a code identity joined the code manifest.
type CodeAdded struct{ CodeID common.Hash }

// CodeRemoved: a code identity left the code manifest.
type CodeRemoved struct{ CodeID common.Hash }

// TEEAdded: a TEE kind joined the TEE manifest.
type TEEAdded struct{ Kind string }

// TEERemoved: a TEE kind left the TEE manifest.
type TEERemoved struct{ Kind string }

// SettingsChanged: the settings changed.
type SettingsChanged struct{ Old, New Settings }

type effectKind uint8

const (
	effMemberAdded effectKind = iota + 1
	effMemberRemoved
	effParticipantAdded
	effParticipantRemoved
	effNodeAdded
	effNodeRemoved
	effPolicyChanged
	effCodeAdded
	effCodeRemoved
	effTEEAdded
	effTEERemoved
	effSettingsChanged
)

func (MemberAdded) effectKind() effectKind        { return effMemberAdded }
func (MemberRemoved) effectKind() effectKind      { return effMemberRemoved }
func (ParticipantAdded) effectKind() effectKind   { return effParticipantAdded }
func (ParticipantRemoved) effectKind() effectKind { return effParticipantRemoved }
func (NodeAdded) effectKind() effectKind          { return effNodeAdded }
func (NodeRemoved) effectKind() effectKind        { return effNodeRemoved }
func (PolicyChanged) effectKind() effectKind      { return effPolicyChanged }
func (CodeAdded) effectKind() effectKind          { return effCodeAdded }
func (CodeRemoved) effectKind() effectKind        { return effCodeRemoved }
func (TEEAdded) effectKind() effectKind           { return effTEEAdded }
func (TEERemoved) effectKind() effectKind         { return effTEERemoved }
func (SettingsChanged) effectKind() effectKind    { return effSettingsChanged }

func (e MemberAdded) String() string   { return fmt.Sprintf("member %q added", e.Member.ID) }
func (e MemberRemoved) String() string { return fmt.Sprintf("member %q removed", e.Member.ID) }
func (e ParticipantAdded) String() string {
	return fmt.Sprintf("participant %q added", e.Participant.ID)
}
func (e ParticipantRemoved) String() string {
	return fmt.Sprintf("participant %q removed", e.Participant.ID)
}
func (e NodeAdded) String() string {
	return fmt.Sprintf("node %q (%s, owner %q) added", e.Node.ID, e.Node.RaftAddr, e.Node.Owner)
}
func (e NodeRemoved) String() string {
	return fmt.Sprintf("node %q (%s, owner %q) removed", e.Node.ID, e.Node.RaftAddr, e.Node.Owner)
}
func (e PolicyChanged) String() string {
	return fmt.Sprintf("voting policy changed from %s to %s", e.Old, e.New)
}
func (e CodeAdded) String() string   { return fmt.Sprintf("code identity %s added", e.CodeID.Hex()) }
func (e CodeRemoved) String() string { return fmt.Sprintf("code identity %s removed", e.CodeID.Hex()) }
func (e TEEAdded) String() string    { return fmt.Sprintf("TEE kind %q added", e.Kind) }
func (e TEERemoved) String() string  { return fmt.Sprintf("TEE kind %q removed", e.Kind) }
func (e SettingsChanged) String() string {
	return fmt.Sprintf("settings changed to %s", e.New)
}

func newEffect(k effectKind) (Effect, error) {
	switch k {
	case effMemberAdded:
		return new(MemberAdded), nil
	case effMemberRemoved:
		return new(MemberRemoved), nil
	case effParticipantAdded:
		return new(ParticipantAdded), nil
	case effParticipantRemoved:
		return new(ParticipantRemoved), nil
	case effNodeAdded:
		return new(NodeAdded), nil
	case effNodeRemoved:
		return new(NodeRemoved), nil
	case effPolicyChanged:
		return new(PolicyChanged), nil
	case effCodeAdded:
		return new(CodeAdded), nil
	case effCodeRemoved:
		return new(CodeRemoved), nil
	case effTEEAdded:
		return new(TEEAdded), nil
	case effTEERemoved:
		return new(TEERemoved), nil
	case effSettingsChanged:
		return new(SettingsChanged), nil
	}
	return nil, fmt.Errorf("unknown effect kind %d", k)
}

// Change is one version step of the constitution: the effects of one
// passed proposal, in the order they were applied.
type Change struct {
	Version  uint64 // the version the change produced
	Block    uint64 // the block that decided it
	Proposal uint64 // the proposal that passed
	Effects  []Effect
}

type taggedRLP struct {
	Kind uint8
	Data rlp.RawValue
}

type changeRecord struct {
	Version  uint64
	Block    uint64
	Proposal uint64
	Effects  []taggedRLP
}

func encodeChange(c *Change) ([]byte, error) {
	rec := changeRecord{Version: c.Version, Block: c.Block, Proposal: c.Proposal}
	for _, e := range c.Effects {
		b, err := rlp.EncodeToBytes(e)
		if err != nil {
			return nil, err
		}
		rec.Effects = append(rec.Effects, taggedRLP{Kind: uint8(e.effectKind()), Data: b})
	}
	return rlp.EncodeToBytes(&rec)
}

func decodeChange(b []byte) (*Change, error) {
	var rec changeRecord
	if err := rlp.DecodeBytes(b, &rec); err != nil {
		return nil, err
	}
	c := &Change{Version: rec.Version, Block: rec.Block, Proposal: rec.Proposal}
	for _, t := range rec.Effects {
		e, err := newEffect(effectKind(t.Kind))
		if err != nil {
			return nil, err
		}
		if err := rlp.DecodeBytes(t.Data, e); err != nil {
			return nil, err
		}
		// Return values, not pointers.
		switch v := e.(type) {
		case *MemberAdded:
			e = *v
		case *MemberRemoved:
			e = *v
		case *ParticipantAdded:
			e = *v
		case *ParticipantRemoved:
			e = *v
		case *NodeAdded:
			e = *v
		case *NodeRemoved:
			e = *v
		case *PolicyChanged:
			e = *v
		case *CodeAdded:
			e = *v
		case *CodeRemoved:
			e = *v
		case *TEEAdded:
			e = *v
		case *TEERemoved:
			e = *v
		case *SettingsChanged:
			e = *v
		}
		c.Effects = append(c.Effects, e)
	}
	return c, nil
}

// Changes returns the changes that led from version since to the current
// version, oldest first: the adapter calls it after each block with the
// version it saw before, and turns NodeAdded/NodeRemoved into Raft
// membership changes at that block. Changes(state, 0) and Changes(state, 1)
// return every change made after genesis. The change log lives in the
// state, so a reverted transaction leaves no change behind.
func Changes(state vm.StateDB, since uint64) ([]Change, error) {
	s := reader(state)
	cur := s.version()
	if cur == 0 {
		return nil, ErrNotInstalled
	}
	if since > cur {
		return nil, fmt.Errorf("governance: version %d is newer than the state's %d", since, cur)
	}
	if since == 0 {
		since = 1
	}
	var out []Change
	for v := since + 1; v <= cur; v++ {
		b := s.getBlob(changeSlot(v))
		if b == nil {
			return nil, fmt.Errorf("governance: change log entry %d missing", v)
		}
		c, err := decodeChange(b)
		if err != nil {
			return nil, fmt.Errorf("governance: corrupt change log entry %d: %v", v, err)
		}
		out = append(out, *c)
	}
	return out, nil
}
