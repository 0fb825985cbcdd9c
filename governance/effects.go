package governance

import "github.com/ethereum/go-ethereum/common"

// An effect is one step of applying a passed proposal to the
// constitution. The contract reports each with its event, in the order the
// steps were applied (the NodeRemoved of a removed actor's nodes before
// its MemberRemoved or ParticipantRemoved), then ConstitutionChanged.
//
// Effects are not stored. The constitution in the state is the record of
// what it is, its version tells that it changed (the adapter re-reads it
// after every block that moved the version), and the events are the
// history clients read.
type effect interface {
	// event is the IGovernance event that reports the effect, and its
	// arguments in the order of the event's parameters.
	event() (name string, args []any)
}

type (
	memberAdded        struct{ member Member }
	memberRemoved      struct{ member Member }
	participantAdded   struct{ participant Participant }
	participantRemoved struct{ participant Participant }
	nodeAdded          struct{ node Node }
	nodeRemoved        struct{ node Node }
	policyChanged      struct{ policy Policy }
	codeAdded          struct{ codeID common.Hash }
	codeRemoved        struct{ codeID common.Hash }
	teeAdded           struct{ kind string }
	teeRemoved         struct{ kind string }
	settingsChanged    struct{ settings Settings }
	recoveryKeySet     struct {
		id  string
		key common.Hash // zero: removed
	}
	recoveryThresholdSet struct{ m uint16 } // 0: a majority
)

func (e memberAdded) event() (string, []any)   { return "MemberAdded", []any{e.member.ID} }
func (e memberRemoved) event() (string, []any) { return "MemberRemoved", []any{e.member.ID} }
func (e participantAdded) event() (string, []any) {
	return "ParticipantAdded", []any{e.participant.ID}
}
func (e participantRemoved) event() (string, []any) {
	return "ParticipantRemoved", []any{e.participant.ID}
}
func (e nodeAdded) event() (string, []any) {
	n := e.node
	return "NodeAdded", []any{n.ID, n.Owner, n.RaftAddr, []byte(n.PublicKey), [32]byte(n.CodeID)}
}
func (e nodeRemoved) event() (string, []any) {
	return "NodeRemoved", []any{e.node.ID, e.node.Owner, e.node.RaftAddr}
}
func (e policyChanged) event() (string, []any) {
	return "PolicyChanged", []any{uint8(e.policy.Kind), e.policy.M}
}
func (e codeAdded) event() (string, []any)   { return "CodeAdded", []any{e.codeID} }
func (e codeRemoved) event() (string, []any) { return "CodeRemoved", []any{e.codeID} }
func (e teeAdded) event() (string, []any)    { return "TEEAdded", []any{e.kind} }
func (e teeRemoved) event() (string, []any)  { return "TEERemoved", []any{e.kind} }
func (e settingsChanged) event() (string, []any) {
	s := e.settings
	return "SettingsChanged", []any{s.ProposalLifetime, s.EpochLength, s.OpenSending, s.SessionLifetime}
}
func (e recoveryKeySet) event() (string, []any) {
	return "RecoveryKeySet", []any{e.id, [32]byte(e.key)}
}
func (e recoveryThresholdSet) event() (string, []any) {
	return "RecoveryThresholdSet", []any{e.m}
}
