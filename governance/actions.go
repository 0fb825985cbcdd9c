package governance

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"
)

// ActionKind is the kind of change a proposal asks for; the numbers are
// those of IGovernance.ActionKind.
type ActionKind uint8

// Action kinds.
const (
	ActAddMember ActionKind = iota
	ActRemoveMember
	ActAddParticipant
	ActRemoveParticipant
	ActAddNode
	ActRemoveNode
	ActSetPolicy
	ActAddCode
	ActRemoveCode
	ActAddTEE
	ActRemoveTEE
	ActSetSettings
	ActSetRecoveryKey
	ActSetRecoveryThreshold
	numActions
)

// actionNames are, by kind, the kebab-case name of the action (as
// `cocogeth propose`, the console's coco.propose and coco_proposal spell
// it) and the IGovernance function that proposes it.
var actionNames = [numActions]struct{ name, method string }{
	ActAddMember:            {"add-member", "proposeAddMember"},
	ActRemoveMember:         {"remove-member", "proposeRemoveMember"},
	ActAddParticipant:       {"add-participant", "proposeAddParticipant"},
	ActRemoveParticipant:    {"remove-participant", "proposeRemoveParticipant"},
	ActAddNode:              {"add-node", "proposeAddNode"},
	ActRemoveNode:           {"remove-node", "proposeRemoveNode"},
	ActSetPolicy:            {"set-policy", "proposeSetPolicy"},
	ActAddCode:              {"add-code", "proposeAddCode"},
	ActRemoveCode:           {"remove-code", "proposeRemoveCode"},
	ActAddTEE:               {"add-tee", "proposeAddTEE"},
	ActRemoveTEE:            {"remove-tee", "proposeRemoveTEE"},
	ActSetSettings:          {"set-settings", "proposeSetSettings"},
	ActSetRecoveryKey:       {"set-recovery-key", "proposeSetRecoveryKey"},
	ActSetRecoveryThreshold: {"set-recovery-threshold", "proposeSetRecoveryThreshold"},
}

// ActionKinds returns every action kind, in the order of their numbers.
func ActionKinds() []ActionKind {
	out := make([]ActionKind, 0, numActions)
	for k := range numActions {
		out = append(out, k)
	}
	return out
}

// Name is the kebab-case name of the action kind, the one users and tools
// see: "add-member", "set-policy", "add-tee". It is "" for an unknown kind.
func (k ActionKind) Name() string {
	if k < numActions {
		return actionNames[k].name
	}
	return ""
}

// ParseActionName returns the action kind of a name as Name spells it,
// ignoring case.
func ParseActionName(name string) (ActionKind, error) {
	for k := range numActions {
		if strings.EqualFold(name, actionNames[k].name) {
			return k, nil
		}
	}
	names := make([]string, numActions)
	for k := range numActions {
		names[k] = actionNames[k].name
	}
	return 0, fmt.Errorf("unknown action %q (want one of %s)", name, strings.Join(names, ", "))
}

// Method is the name of the ABI function that proposes this kind of action.
func (k ActionKind) Method() string {
	if k < numActions {
		return actionNames[k].method
	}
	return ""
}

func (k ActionKind) String() string {
	if k < numActions {
		return actionNames[k].method[len("propose"):]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is a change of the constitution that members vote on. The
// concrete types are AddMember, RemoveMember, AddParticipant,
// RemoveParticipant, AddNode, RemoveNode, SetPolicy, AddCode, RemoveCode,
// AddTEE, RemoveTEE, SetSettings, SetRecoveryKey and SetRecoveryThreshold.
type Action interface {
	Kind() ActionKind
	// String describes the action for people ("add member \"D\" …").
	String() string
	// abiArgs are the arguments of the action's propose function.
	abiArgs() []any
	// jsonArgs are the arguments in their JSON form (see ActionJSON).
	jsonArgs() any
	// normalise checks what does not depend on the constitution and
	// returns the action in canonical form.
	normalise() (Action, error)
	// check tells whether the action can be applied to the constitution
	// as it stands.
	check(s *store) error
	// apply applies a checked action and returns its effects in order.
	apply(s *store) ([]effect, error)
}

// AddMember adds a member.
type AddMember struct{ Member Member }

// RemoveMember removes a member and every node it owns. It is refused when
// it would remove the last member, leave the voting policy unsatisfiable,
// or remove every validating node.
type RemoveMember struct{ ID string }

// AddParticipant adds a participant.
type AddParticipant struct{ Participant Participant }

// RemoveParticipant removes a participant and every node it owns (refused
// when that would remove every validating node).
type RemoveParticipant struct{ ID string }

// AddNode adds a validating node owned by an existing actor.
type AddNode struct{ Node Node }

// RemoveNode removes a validating node (never the last one).
type RemoveNode struct{ ID string }

// SetPolicy replaces the voting policy. It is decided under the policy in
// force until it passes.
type SetPolicy struct{ Policy Policy }

// AddCode adds a code identity to the code manifest.
type AddCode struct{ CodeID common.Hash }

// RemoveCode removes a code identity (never the last one, nor one a node
// is pinned to).
type RemoveCode struct{ CodeID common.Hash }

// AddTEE adds a TEE kind ("sgx" or "simulation") to the TEE manifest.
type AddTEE struct{ TEE string }

// RemoveTEE removes a TEE kind (never the last one).
type RemoveTEE struct{ TEE string }

// SetSettings replaces the settings but the recovery threshold, which it
// leaves as it is: Settings.RecoveryThreshold is ignored (it is not an
// argument of proposeSetSettings; SetRecoveryThreshold sets it). A new
// proposal lifetime applies to proposals made after the change.
type SetSettings struct{ Settings Settings }

// SetRecoveryKey sets, replaces or (with the zero Key) removes the
// recovery public key of member ID. A non-zero Key must be a valid
// recovery.PublicKey that no other member holds.
type SetRecoveryKey struct {
	ID  string
	Key common.Hash
}

// SetRecoveryThreshold sets the recovery threshold M
// (Settings.RecoveryThreshold): how many of the members' recovery keys
// recover an epoch's ledger secret; 0 means a majority of the members
// that have a recovery key. It is refused when M is the threshold already
// stored, or more than the members that have a recovery key when it is
// proposed or when it passes (an unreachable threshold would leave every
// later epoch unrecoverable).
type SetRecoveryThreshold struct{ M uint16 }

func (AddMember) Kind() ActionKind            { return ActAddMember }
func (RemoveMember) Kind() ActionKind         { return ActRemoveMember }
func (AddParticipant) Kind() ActionKind       { return ActAddParticipant }
func (RemoveParticipant) Kind() ActionKind    { return ActRemoveParticipant }
func (AddNode) Kind() ActionKind              { return ActAddNode }
func (RemoveNode) Kind() ActionKind           { return ActRemoveNode }
func (SetPolicy) Kind() ActionKind            { return ActSetPolicy }
func (AddCode) Kind() ActionKind              { return ActAddCode }
func (RemoveCode) Kind() ActionKind           { return ActRemoveCode }
func (AddTEE) Kind() ActionKind               { return ActAddTEE }
func (RemoveTEE) Kind() ActionKind            { return ActRemoveTEE }
func (SetSettings) Kind() ActionKind          { return ActSetSettings }
func (SetRecoveryKey) Kind() ActionKind       { return ActSetRecoveryKey }
func (SetRecoveryThreshold) Kind() ActionKind { return ActSetRecoveryThreshold }

func (a AddMember) String() string {
	return fmt.Sprintf("add member %q (%d account(s))", a.Member.ID, len(a.Member.Accounts))
}
func (a RemoveMember) String() string { return fmt.Sprintf("remove member %q", a.ID) }
func (a AddParticipant) String() string {
	return fmt.Sprintf("add participant %q (%d account(s))", a.Participant.ID, len(a.Participant.Accounts))
}
func (a RemoveParticipant) String() string { return fmt.Sprintf("remove participant %q", a.ID) }
func (a AddNode) String() string {
	return fmt.Sprintf("add node %q at %s owned by %q", a.Node.ID, a.Node.RaftAddr, a.Node.Owner)
}
func (a RemoveNode) String() string  { return fmt.Sprintf("remove node %q", a.ID) }
func (a SetPolicy) String() string   { return fmt.Sprintf("set voting policy to %s", a.Policy) }
func (a AddCode) String() string     { return fmt.Sprintf("add code identity %s", a.CodeID.Hex()) }
func (a RemoveCode) String() string  { return fmt.Sprintf("remove code identity %s", a.CodeID.Hex()) }
func (a AddTEE) String() string      { return fmt.Sprintf("add TEE kind %q", a.TEE) }
func (a RemoveTEE) String() string   { return fmt.Sprintf("remove TEE kind %q", a.TEE) }
func (a SetSettings) String() string { return fmt.Sprintf("set settings: %s", a.Settings.BaseString()) }
func (a SetRecoveryKey) String() string {
	if a.Key == (common.Hash{}) {
		return fmt.Sprintf("remove the recovery key of member %q", a.ID)
	}
	return fmt.Sprintf("set the recovery key of member %q to %s", a.ID, a.Key.Hex())
}
func (a SetRecoveryThreshold) String() string {
	if a.M == 0 {
		return "set the recovery threshold to a majority of the members' recovery keys"
	}
	return fmt.Sprintf("set the recovery threshold to %s of the members' recovery keys", RecoveryThresholdString(a.M))
}

// ABI arguments, in the order of the propose functions of IGovernance.sol.

func (a AddMember) abiArgs() []any {
	return []any{a.Member.ID, nonNilAccounts(a.Member.Accounts), []byte(a.Member.PublicKey), []byte(a.Member.RecoveryKey)}
}
func (a RemoveMember) abiArgs() []any { return []any{a.ID} }
func (a AddParticipant) abiArgs() []any {
	return []any{a.Participant.ID, nonNilAccounts(a.Participant.Accounts)}
}
func (a RemoveParticipant) abiArgs() []any { return []any{a.ID} }
func (a AddNode) abiArgs() []any {
	return []any{a.Node.ID, a.Node.Owner, a.Node.RaftAddr, []byte(a.Node.PublicKey), [32]byte(a.Node.CodeID)}
}
func (a RemoveNode) abiArgs() []any { return []any{a.ID} }
func (a SetPolicy) abiArgs() []any  { return []any{uint8(a.Policy.Kind), a.Policy.M} }
func (a AddCode) abiArgs() []any    { return []any{[32]byte(a.CodeID)} }
func (a RemoveCode) abiArgs() []any { return []any{[32]byte(a.CodeID)} }
func (a AddTEE) abiArgs() []any     { return []any{a.TEE} }
func (a RemoveTEE) abiArgs() []any  { return []any{a.TEE} }
func (a SetSettings) abiArgs() []any {
	return []any{a.Settings.ProposalLifetime, a.Settings.EpochLength, a.Settings.OpenSending, a.Settings.SessionLifetime}
}
func (a SetRecoveryKey) abiArgs() []any       { return []any{a.ID, [32]byte(a.Key)} }
func (a SetRecoveryThreshold) abiArgs() []any { return []any{a.M} }

// ActionJSON is the JSON form of an action, as coco_proposal shows it:
// the kind's Name and the arguments,
//
//	{"action": "add-participant", "args": {"id": "P", "accounts": ["0x…"]}}
//
// The arguments of AddMember, AddParticipant and AddNode are the member,
// participant or node, those of SetPolicy and SetSettings the policy or
// settings (those of SetSettings without the recovery threshold, which it
// does not set), those of SetRecoveryKey {"id": …, "recoveryKey": …} (zero
// to remove it), those of SetRecoveryThreshold {"recoveryThreshold": M}
// (0: a majority), and those of the others {"id": …} (removals of actors and
// nodes), {"codeId": …} (code identities) or {"kind": …} (TEE kinds).
type ActionJSON struct {
	Action string `json:"action"`
	Args   any    `json:"args"`
}

// NewActionJSON returns the JSON form of a.
func NewActionJSON(a Action) ActionJSON {
	return ActionJSON{Action: a.Kind().Name(), Args: a.jsonArgs()}
}

// JSON forms of the arguments that are not a whole constitution entry.
type (
	idJSON struct {
		ID string `json:"id"`
	}
	codeJSON struct {
		CodeID common.Hash `json:"codeId"`
	}
	teeJSON struct {
		Kind string `json:"kind"`
	}
	recoveryKeyJSON struct {
		ID          string      `json:"id"`
		RecoveryKey common.Hash `json:"recoveryKey"`
	}
	// settingsJSON is Settings without the recovery threshold, the
	// arguments of set-settings.
	settingsJSON struct {
		ProposalLifetime uint64 `json:"proposalLifetime"`
		EpochLength      uint64 `json:"epochLength"`
		OpenSending      bool   `json:"openSending"`
		SessionLifetime  uint64 `json:"sessionLifetime"`
	}
	recoveryThresholdJSON struct {
		RecoveryThreshold uint16 `json:"recoveryThreshold"`
	}
)

func (a AddMember) jsonArgs() any         { return a.Member }
func (a RemoveMember) jsonArgs() any      { return idJSON{a.ID} }
func (a AddParticipant) jsonArgs() any    { return a.Participant }
func (a RemoveParticipant) jsonArgs() any { return idJSON{a.ID} }
func (a AddNode) jsonArgs() any           { return a.Node }
func (a RemoveNode) jsonArgs() any        { return idJSON{a.ID} }
func (a SetPolicy) jsonArgs() any         { return a.Policy }
func (a AddCode) jsonArgs() any           { return codeJSON{a.CodeID} }
func (a RemoveCode) jsonArgs() any        { return codeJSON{a.CodeID} }
func (a AddTEE) jsonArgs() any            { return teeJSON{a.TEE} }
func (a RemoveTEE) jsonArgs() any         { return teeJSON{a.TEE} }
func (a SetSettings) jsonArgs() any {
	st := a.Settings
	return settingsJSON{st.ProposalLifetime, st.EpochLength, st.OpenSending, st.SessionLifetime}
}
func (a SetRecoveryKey) jsonArgs() any       { return recoveryKeyJSON{a.ID, a.Key} }
func (a SetRecoveryThreshold) jsonArgs() any { return recoveryThresholdJSON{a.M} }

func nonNilAccounts(a []common.Address) []common.Address {
	if a == nil {
		return []common.Address{}
	}
	return a
}

// actionFromABI builds the action of a propose function from its
// unpacked ABI arguments.
func actionFromABI(kind ActionKind, args []any) (a Action, err error) {
	defer func() {
		// A type assertion failing here means abi.json and this code
		// disagree; report it rather than crash the node.
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("arguments of %s do not match: %v", kind.Method(), r)
		}
	}()
	switch kind {
	case ActAddMember:
		return AddMember{Member{ID: args[0].(string), Accounts: args[1].([]common.Address), PublicKey: args[2].([]byte), RecoveryKey: args[3].([]byte)}}, nil
	case ActRemoveMember:
		return RemoveMember{ID: args[0].(string)}, nil
	case ActAddParticipant:
		return AddParticipant{Participant{ID: args[0].(string), Accounts: args[1].([]common.Address)}}, nil
	case ActRemoveParticipant:
		return RemoveParticipant{ID: args[0].(string)}, nil
	case ActAddNode:
		return AddNode{Node{ID: args[0].(string), Owner: args[1].(string), RaftAddr: args[2].(string), PublicKey: args[3].([]byte), CodeID: common.Hash(args[4].([32]byte))}}, nil
	case ActRemoveNode:
		return RemoveNode{ID: args[0].(string)}, nil
	case ActSetPolicy:
		return SetPolicy{Policy{Kind: PolicyKind(args[0].(uint8)), M: args[1].(uint64)}}, nil
	case ActAddCode:
		return AddCode{CodeID: common.Hash(args[0].([32]byte))}, nil
	case ActRemoveCode:
		return RemoveCode{CodeID: common.Hash(args[0].([32]byte))}, nil
	case ActAddTEE:
		return AddTEE{TEE: args[0].(string)}, nil
	case ActRemoveTEE:
		return RemoveTEE{TEE: args[0].(string)}, nil
	case ActSetSettings:
		return SetSettings{Settings{ProposalLifetime: args[0].(uint64), EpochLength: args[1].(uint64), OpenSending: args[2].(bool), SessionLifetime: args[3].(uint64)}}, nil
	case ActSetRecoveryKey:
		return SetRecoveryKey{ID: args[0].(string), Key: common.Hash(args[1].([32]byte))}, nil
	case ActSetRecoveryThreshold:
		return SetRecoveryThreshold{M: args[0].(uint16)}, nil
	}
	return nil, fmt.Errorf("unknown action kind %d", kind)
}

// EncodeArgs returns the ABI encoding of the action's propose arguments
// (the `args` field of IGovernance.Proposal).
func EncodeArgs(a Action) ([]byte, error) {
	m := contractABI.Methods[a.Kind().Method()]
	return m.Inputs.Pack(a.abiArgs()...)
}

// DecodeArgs is the inverse of EncodeArgs.
func DecodeArgs(kind ActionKind, args []byte) (Action, error) {
	m, ok := contractABI.Methods[kind.Method()]
	if !ok {
		return nil, fmt.Errorf("unknown action kind %d", kind)
	}
	vals, err := m.Inputs.Unpack(args)
	if err != nil {
		return nil, err
	}
	return actionFromABI(kind, vals)
}

// Stored form: kind and RLP of the concrete type.

type taggedRLP struct {
	Kind uint8
	Data rlp.RawValue
}

func encodeAction(a Action) (taggedRLP, error) {
	b, err := rlp.EncodeToBytes(a)
	if err != nil {
		return taggedRLP{}, err
	}
	return taggedRLP{Kind: uint8(a.Kind()), Data: b}, nil
}

func decodeAction(t taggedRLP) (Action, error) {
	var err error
	switch ActionKind(t.Kind) {
	case ActAddMember:
		var a AddMember
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActRemoveMember:
		var a RemoveMember
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActAddParticipant:
		var a AddParticipant
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActRemoveParticipant:
		var a RemoveParticipant
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActAddNode:
		var a AddNode
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActRemoveNode:
		var a RemoveNode
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActSetPolicy:
		var a SetPolicy
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActAddCode:
		var a AddCode
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActRemoveCode:
		var a RemoveCode
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActAddTEE:
		var a AddTEE
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActRemoveTEE:
		var a RemoveTEE
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActSetSettings:
		var a SetSettings
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActSetRecoveryKey:
		var a SetRecoveryKey
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	case ActSetRecoveryThreshold:
		var a SetRecoveryThreshold
		err = rlp.DecodeBytes(t.Data, &a)
		return a, err
	}
	return nil, fmt.Errorf("unknown action kind %d", t.Kind)
}

// ---- normalise: checks independent of the constitution -----------------

func (a AddMember) normalise() (Action, error) {
	m, err := normaliseMember(a.Member)
	return AddMember{m}, err
}

func normaliseMember(m Member) (Member, error) {
	if err := checkID("member", m.ID); err != nil {
		return m, err
	}
	if err := checkAccounts(m.Accounts); err != nil {
		return m, fmt.Errorf("member %q: %v", m.ID, err)
	}
	if err := checkKey("public key", m.PublicKey, true); err != nil {
		return m, fmt.Errorf("member %q: %v", m.ID, err)
	}
	rk, err := normaliseRecoveryKey(m.RecoveryKey)
	if err != nil {
		return m, fmt.Errorf("member %q: %v", m.ID, err)
	}
	return Member{ID: m.ID, Accounts: append([]common.Address{}, m.Accounts...), PublicKey: append([]byte{}, m.PublicKey...), RecoveryKey: rk}, nil
}

func (a RemoveMember) normalise() (Action, error) { return a, checkID("member", a.ID) }

func (a AddParticipant) normalise() (Action, error) {
	p, err := normaliseParticipant(a.Participant)
	return AddParticipant{p}, err
}

func normaliseParticipant(p Participant) (Participant, error) {
	if err := checkID("participant", p.ID); err != nil {
		return p, err
	}
	if err := checkAccounts(p.Accounts); err != nil {
		return p, fmt.Errorf("participant %q: %v", p.ID, err)
	}
	return Participant{ID: p.ID, Accounts: append([]common.Address{}, p.Accounts...)}, nil
}

func (a RemoveParticipant) normalise() (Action, error) { return a, checkID("participant", a.ID) }

func (a AddNode) normalise() (Action, error) {
	n, err := normaliseNode(a.Node)
	return AddNode{n}, err
}

func normaliseNode(n Node) (Node, error) {
	if err := checkID("node", n.ID); err != nil {
		return n, err
	}
	if err := checkID("owner", n.Owner); err != nil {
		return n, fmt.Errorf("node %q: %v", n.ID, err)
	}
	if err := checkRaftAddr(n.RaftAddr); err != nil {
		return n, fmt.Errorf("node %q: %v", n.ID, err)
	}
	key, err := NormaliseNodeKey(n.PublicKey)
	if err != nil {
		return n, fmt.Errorf("node %q: %v", n.ID, err)
	}
	n.PublicKey = key
	return n, nil
}

func (a RemoveNode) normalise() (Action, error) { return a, checkID("node", a.ID) }

func (a SetPolicy) normalise() (Action, error) {
	if a.Policy.Kind > Majority {
		return a, fmt.Errorf("unknown policy kind %d (0 unanimous, 1 m-of-n, 2 one-of-n, 3 majority)", uint8(a.Policy.Kind))
	}
	if a.Policy.Kind == MOfN && a.Policy.M == 0 {
		return a, fmt.Errorf("policy m-of-n needs M >= 1")
	}
	if a.Policy.Kind != MOfN && a.Policy.M != 0 {
		return a, fmt.Errorf("policy %s takes no M (got %d)", a.Policy.Kind, a.Policy.M)
	}
	return a, nil
}

func (a AddCode) normalise() (Action, error) {
	if a.CodeID == (common.Hash{}) {
		return a, fmt.Errorf("the zero code identity cannot be added")
	}
	return a, nil
}

func (a RemoveCode) normalise() (Action, error) { return a, nil }

func (a AddTEE) normalise() (Action, error)    { return a, checkTEE(a.TEE) }
func (a RemoveTEE) normalise() (Action, error) { return a, checkTEE(a.TEE) }

func (a SetSettings) normalise() (Action, error) {
	a.Settings = a.Settings.voted()
	return a, a.Settings.check()
}

func (a SetRecoveryKey) normalise() (Action, error) {
	if err := checkID("member", a.ID); err != nil {
		return a, err
	}
	if _, err := normaliseRecoveryKey(a.Key[:]); err != nil {
		return a, fmt.Errorf("member %q: %v", a.ID, err)
	}
	return a, nil
}

// normalise: any threshold may be stored (0 is a majority); whether it
// can be reached depends on the constitution (check).
func (a SetRecoveryThreshold) normalise() (Action, error) { return a, nil }

// ---- check: against the constitution as it stands ---------------------

func checkNewActor(s *store, id string, accounts []common.Address) error {
	r, err := s.actorByID(id)
	if err != nil {
		return err
	}
	if r != nil {
		return fmt.Errorf("id %q is already used by %s %q", id, ActorKind(r.Kind), r.ID)
	}
	for _, acc := range accounts {
		kind, key := s.account(acc)
		if kind == NoActor {
			continue
		}
		owner, err := s.actor(key)
		if err != nil {
			return err
		}
		name := "?"
		if owner != nil {
			name = owner.ID
		}
		return fmt.Errorf("account %s already belongs to %s %q", acc.Hex(), kind, name)
	}
	return nil
}

// checkRemoveActor checks the removal of actor id of the given kind and
// returns its record and the nodes it owns.
func checkRemoveActor(s *store, id string, kind ActorKind) (*actorRecord, []Node, error) {
	r, err := s.actorByID(id)
	if err != nil {
		return nil, nil, err
	}
	if r == nil || ActorKind(r.Kind) != kind {
		return nil, nil, fmt.Errorf("no %s %q", kind, id)
	}
	nodes, err := s.nodes()
	if err != nil {
		return nil, nil, err
	}
	var owned []Node
	for _, n := range nodes {
		if n.Owner == id {
			owned = append(owned, n)
		}
	}
	if len(owned) > 0 && len(owned) == len(nodes) {
		return nil, nil, fmt.Errorf("removing %s %q would remove every validating node (it owns all %d)", kind, id, len(nodes))
	}
	return r, owned, nil
}

func (a AddMember) check(s *store) error {
	if err := checkNewActor(s, a.Member.ID, a.Member.Accounts); err != nil {
		return err
	}
	return checkRecoveryKeyFree(s, a.Member.ID, a.Member.RecoveryKey)
}

// checkRecoveryKeyFree refuses a recovery key that a member other than id
// holds (nothing to check for none).
func checkRecoveryKeyFree(s *store, id string, key []byte) error {
	if len(key) == 0 {
		return nil
	}
	holder := s.get(recoveryKeySlot(key))
	if holder == (common.Hash{}) || holder == actorKey(id) {
		return nil
	}
	r, err := s.actor(holder)
	if err != nil {
		return err
	}
	name := "?"
	if r != nil {
		name = r.ID
	}
	return fmt.Errorf("recovery key %#x is already used by member %q", key, name)
}

func (a RemoveMember) check(s *store) error {
	if !s.setHas(setMembers, actorKey(a.ID)) {
		return fmt.Errorf("no member %q", a.ID)
	}
	n := s.memberCount()
	if n <= 1 {
		return fmt.Errorf("cannot remove %q, the last member", a.ID)
	}
	if p := s.policy(); p.Threshold(n-1) == 0 {
		return fmt.Errorf("removing member %q would leave voting policy %s unsatisfiable with %d member(s)", a.ID, p, n-1)
	}
	_, _, err := checkRemoveActor(s, a.ID, KindMember)
	return err
}

func (a AddParticipant) check(s *store) error {
	return checkNewActor(s, a.Participant.ID, a.Participant.Accounts)
}

func (a RemoveParticipant) check(s *store) error {
	_, _, err := checkRemoveActor(s, a.ID, KindParticipant)
	return err
}

func (a AddNode) check(s *store) error {
	n := a.Node
	if old, err := s.node(nodeKey(n.ID)); err != nil {
		return err
	} else if old != nil {
		return fmt.Errorf("node %q already exists", n.ID)
	}
	if r, err := s.actorByID(n.Owner); err != nil {
		return err
	} else if r == nil {
		return fmt.Errorf("node %q: owner %q is not a member or participant", n.ID, n.Owner)
	}
	if k := s.get(nodeKeySlot(n.PublicKey)); k != (common.Hash{}) {
		return fmt.Errorf("node %q: public key already used by another node", n.ID)
	}
	nodes, err := s.nodes()
	if err != nil {
		return err
	}
	for _, o := range nodes {
		if o.RaftAddr == n.RaftAddr {
			return fmt.Errorf("node %q: raft address %s already used by node %q", n.ID, n.RaftAddr, o.ID)
		}
	}
	if n.CodeID != (common.Hash{}) && !s.setHas(setCode, n.CodeID) {
		return fmt.Errorf("node %q: code identity %s is not in the code manifest", n.ID, n.CodeID.Hex())
	}
	return nil
}

func (a RemoveNode) check(s *store) error {
	n, err := s.node(nodeKey(a.ID))
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("no node %q", a.ID)
	}
	if s.setLen(setNodes) <= 1 {
		return fmt.Errorf("cannot remove %q, the last validating node", a.ID)
	}
	return nil
}

func (a SetPolicy) check(s *store) error {
	cur := s.policy()
	if cur == a.Policy {
		return fmt.Errorf("voting policy is already %s", cur)
	}
	if n := s.memberCount(); a.Policy.Threshold(n) == 0 {
		return fmt.Errorf("voting policy %s cannot be satisfied by %d member(s)", a.Policy, n)
	}
	return nil
}

func (a AddCode) check(s *store) error {
	if s.setHas(setCode, a.CodeID) {
		return fmt.Errorf("code identity %s is already in the code manifest", a.CodeID.Hex())
	}
	return nil
}

func (a RemoveCode) check(s *store) error {
	if !s.setHas(setCode, a.CodeID) {
		return fmt.Errorf("code identity %s is not in the code manifest", a.CodeID.Hex())
	}
	if s.setLen(setCode) <= 1 {
		return fmt.Errorf("cannot remove the last code identity (an empty code manifest accepts any code)")
	}
	nodes, err := s.nodes()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.CodeID == a.CodeID {
			return fmt.Errorf("code identity %s is pinned by node %q", a.CodeID.Hex(), n.ID)
		}
	}
	return nil
}

func (a AddTEE) check(s *store) error {
	if s.setHas(setTEE, teeWord(a.TEE)) {
		return fmt.Errorf("TEE kind %q is already in the TEE manifest", a.TEE)
	}
	return nil
}

func (a RemoveTEE) check(s *store) error {
	if !s.setHas(setTEE, teeWord(a.TEE)) {
		return fmt.Errorf("TEE kind %q is not in the TEE manifest", a.TEE)
	}
	if s.setLen(setTEE) <= 1 {
		return fmt.Errorf("cannot remove %q, the last TEE kind", a.TEE)
	}
	return nil
}

func (a SetSettings) check(s *store) error {
	if s.settings().voted() == a.Settings.voted() {
		return fmt.Errorf("settings are already %s", a.Settings.BaseString())
	}
	return nil
}

func (a SetRecoveryKey) check(s *store) error {
	r, err := s.actorByID(a.ID)
	if err != nil {
		return err
	}
	if r == nil || ActorKind(r.Kind) != KindMember {
		return fmt.Errorf("no member %q", a.ID)
	}
	if a.Key == (common.Hash{}) {
		if len(r.RecoveryKey) == 0 {
			return fmt.Errorf("member %q has no recovery key to remove", a.ID)
		}
		return nil
	}
	if bytes.Equal(r.RecoveryKey, a.Key[:]) {
		return fmt.Errorf("member %q already has recovery key %s", a.ID, a.Key.Hex())
	}
	return checkRecoveryKeyFree(s, a.ID, a.Key[:])
}

func (a SetRecoveryThreshold) check(s *store) error {
	if cur := s.settings().RecoveryThreshold; cur == a.M {
		return fmt.Errorf("recovery threshold is already %s", RecoveryThresholdString(cur))
	}
	n, err := s.recoveryKeyCount()
	if err != nil {
		return err
	}
	if uint64(a.M) > n {
		return fmt.Errorf("recovery threshold %d cannot be reached: only %d member(s) have a recovery key", a.M, n)
	}
	return nil
}

// ---- apply -------------------------------------------------------------

func putActor(s *store, kind ActorKind, r *actorRecord) error {
	b, err := rlp.EncodeToBytes(r)
	if err != nil {
		return err
	}
	key := actorKey(r.ID)
	s.setBlob(actorSlot(key), b)
	for _, acc := range r.Accounts {
		s.set(accountSlot(acc), accountValue(kind, key))
	}
	set := setMembers
	if kind == KindParticipant {
		set = setParticipants
	}
	s.setAdd(set, key)
	if len(r.RecoveryKey) > 0 {
		s.set(recoveryKeySlot(r.RecoveryKey), key)
	}
	return nil
}

func deleteActor(s *store, kind ActorKind, r *actorRecord) {
	key := actorKey(r.ID)
	for _, acc := range r.Accounts {
		s.set(accountSlot(acc), common.Hash{})
	}
	if len(r.RecoveryKey) > 0 {
		s.set(recoveryKeySlot(r.RecoveryKey), common.Hash{})
	}
	s.setBlob(actorSlot(key), nil)
	set := setMembers
	if kind == KindParticipant {
		set = setParticipants
	}
	s.setRemove(set, key)
}

func putNode(s *store, n *Node) error {
	b, err := rlp.EncodeToBytes(n)
	if err != nil {
		return err
	}
	key := nodeKey(n.ID)
	s.setBlob(nodeSlot(key), b)
	s.set(nodeKeySlot(n.PublicKey), key)
	s.setAdd(setNodes, key)
	return nil
}

func deleteNode(s *store, n *Node) {
	key := nodeKey(n.ID)
	s.setBlob(nodeSlot(key), nil)
	s.set(nodeKeySlot(n.PublicKey), common.Hash{})
	s.setRemove(setNodes, key)
}

func (a AddMember) apply(s *store) ([]effect, error) {
	m := a.Member
	err := putActor(s, KindMember, &actorRecord{Kind: uint8(KindMember), ID: m.ID, Accounts: m.Accounts, PublicKey: m.PublicKey, RecoveryKey: m.RecoveryKey})
	return []effect{memberAdded{m}}, err
}

func removeActor(s *store, id string, kind ActorKind) ([]effect, error) {
	r, owned, err := checkRemoveActor(s, id, kind)
	if err != nil {
		return nil, err
	}
	var effects []effect
	for i := range owned {
		deleteNode(s, &owned[i])
		effects = append(effects, nodeRemoved{owned[i]})
	}
	deleteActor(s, kind, r)
	if kind == KindMember {
		effects = append(effects, memberRemoved{r.member()})
	} else {
		effects = append(effects, participantRemoved{r.participant()})
	}
	return effects, nil
}

func (a RemoveMember) apply(s *store) ([]effect, error) { return removeActor(s, a.ID, KindMember) }

func (a AddParticipant) apply(s *store) ([]effect, error) {
	p := a.Participant
	err := putActor(s, KindParticipant, &actorRecord{Kind: uint8(KindParticipant), ID: p.ID, Accounts: p.Accounts})
	return []effect{participantAdded{p}}, err
}

func (a RemoveParticipant) apply(s *store) ([]effect, error) {
	return removeActor(s, a.ID, KindParticipant)
}

func (a AddNode) apply(s *store) ([]effect, error) {
	n := a.Node
	return []effect{nodeAdded{n}}, putNode(s, &n)
}

func (a RemoveNode) apply(s *store) ([]effect, error) {
	n, err := s.node(nodeKey(a.ID))
	if err != nil || n == nil {
		return nil, fmt.Errorf("no node %q", a.ID)
	}
	deleteNode(s, n)
	return []effect{nodeRemoved{*n}}, nil
}

func (a SetPolicy) apply(s *store) ([]effect, error) {
	s.set(slotPolicy, policyWord(a.Policy))
	return []effect{policyChanged{a.Policy}}, nil
}

func (a AddCode) apply(s *store) ([]effect, error) {
	s.setAdd(setCode, a.CodeID)
	return []effect{codeAdded{a.CodeID}}, nil
}

func (a RemoveCode) apply(s *store) ([]effect, error) {
	s.setRemove(setCode, a.CodeID)
	return []effect{codeRemoved{a.CodeID}}, nil
}

func (a AddTEE) apply(s *store) ([]effect, error) {
	s.setAdd(setTEE, teeWord(a.TEE))
	return []effect{teeAdded{a.TEE}}, nil
}

func (a RemoveTEE) apply(s *store) ([]effect, error) {
	s.setRemove(setTEE, teeWord(a.TEE))
	return []effect{teeRemoved{a.TEE}}, nil
}

func (a SetSettings) apply(s *store) ([]effect, error) {
	st := a.Settings
	st.RecoveryThreshold = s.settings().RecoveryThreshold
	s.set(slotSettings, settingsWord(st))
	return []effect{settingsChanged{st}}, nil
}

func (a SetRecoveryKey) apply(s *store) ([]effect, error) {
	key := actorKey(a.ID)
	r, err := s.actor(key)
	if err != nil {
		return nil, err
	}
	if r == nil || ActorKind(r.Kind) != KindMember {
		return nil, fmt.Errorf("no member %q", a.ID)
	}
	if len(r.RecoveryKey) > 0 {
		s.set(recoveryKeySlot(r.RecoveryKey), common.Hash{})
	}
	r.RecoveryKey = nil
	if a.Key != (common.Hash{}) {
		r.RecoveryKey = a.Key.Bytes()
		s.set(recoveryKeySlot(r.RecoveryKey), key)
	}
	b, err := rlp.EncodeToBytes(r)
	if err != nil {
		return nil, err
	}
	s.setBlob(actorSlot(key), b)
	return []effect{recoveryKeySet{id: a.ID, key: a.Key}}, nil
}

func (a SetRecoveryThreshold) apply(s *store) ([]effect, error) {
	st := s.settings()
	st.RecoveryThreshold = a.M
	s.set(slotSettings, settingsWord(st))
	return []effect{recoveryThresholdSet{a.M}}, nil
}
