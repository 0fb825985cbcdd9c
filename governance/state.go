package governance

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rlp"
)

// ErrNotInstalled is returned when the state holds no constitution.
var ErrNotInstalled = errors.New("governance: no constitution installed at " + Address.Hex())

// actorRecord is the stored form of a member or participant.
type actorRecord struct {
	Kind        uint8
	ID          string
	Accounts    []common.Address
	PublicKey   []byte
	RecoveryKey []byte
}

func (r *actorRecord) member() Member {
	m := Member{ID: r.ID, Accounts: r.Accounts, PublicKey: r.PublicKey, RecoveryKey: r.RecoveryKey}
	if len(m.RecoveryKey) == 0 {
		m.RecoveryKey = nil
	}
	return m
}

func (r *actorRecord) participant() Participant {
	return Participant{ID: r.ID, Accounts: r.Accounts}
}

// Reads of the constitution, over a metered store.

func (s *store) version() uint64 { return s.getU64(slotVersion) }

func (s *store) policy() Policy { return policyFrom(s.get(slotPolicy)) }

func (s *store) settings() Settings { return settingsFrom(s.get(slotSettings)) }

// account returns the kind and actor key an account is registered to.
func (s *store) account(a common.Address) (ActorKind, common.Hash) {
	v := s.get(accountSlot(a))
	kind := ActorKind(v[0])
	v[0] = 0
	return kind, v
}

func (s *store) actor(key common.Hash) (*actorRecord, error) {
	b := s.getBlob(actorSlot(key))
	if b == nil {
		return nil, nil
	}
	r := new(actorRecord)
	if err := rlp.DecodeBytes(b, r); err != nil {
		return nil, fmt.Errorf("governance: corrupt actor record: %v", err)
	}
	return r, nil
}

// actorByID returns the actor with the given id, or nil.
func (s *store) actorByID(id string) (*actorRecord, error) { return s.actor(actorKey(id)) }

func (s *store) node(key common.Hash) (*Node, error) {
	b := s.getBlob(nodeSlot(key))
	if b == nil {
		return nil, nil
	}
	n := new(Node)
	if err := rlp.DecodeBytes(b, n); err != nil {
		return nil, fmt.Errorf("governance: corrupt node record: %v", err)
	}
	return n, nil
}

func (s *store) memberCount() uint64 { return s.setLen(setMembers) }

// recoveryKeyCount is the number of members that have a recovery key.
func (s *store) recoveryKeyCount() (uint64, error) {
	var n uint64
	for _, k := range s.setList(setMembers) {
		r, err := s.actor(k)
		if err != nil {
			return 0, err
		}
		if r == nil {
			return 0, fmt.Errorf("governance: corrupt state: actor %x listed without record", k)
		}
		if len(r.RecoveryKey) > 0 {
			n++
		}
	}
	return n, nil
}

func (s *store) actors(set common.Hash) ([]*actorRecord, error) {
	keys := s.setList(set)
	out := make([]*actorRecord, 0, len(keys))
	for _, k := range keys {
		r, err := s.actor(k)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, fmt.Errorf("governance: corrupt state: actor %x listed without record", k)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *store) nodes() ([]Node, error) {
	keys := s.setList(setNodes)
	out := make([]Node, 0, len(keys))
	for _, k := range keys {
		n, err := s.node(k)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, fmt.Errorf("governance: corrupt state: node %x listed without record", k)
		}
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *store) codeManifest() []common.Hash {
	out := s.setList(setCode)
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i][:], out[j][:]) < 0 })
	return out
}

func (s *store) teeManifest() []string {
	ws := s.setList(setTEE)
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = teeString(w)
	}
	sort.Strings(out)
	return out
}

func (s *store) load() (*Constitution, error) {
	v := s.version()
	if v == 0 {
		return nil, ErrNotInstalled
	}
	c := &Constitution{Version: v, Policy: s.policy(), Settings: s.settings()}
	ms, err := s.actors(setMembers)
	if err != nil {
		return nil, err
	}
	c.Members = make([]Member, len(ms))
	for i, r := range ms {
		c.Members[i] = r.member()
	}
	ps, err := s.actors(setParticipants)
	if err != nil {
		return nil, err
	}
	c.Participants = make([]Participant, len(ps))
	for i, r := range ps {
		c.Participants[i] = r.participant()
	}
	if c.Nodes, err = s.nodes(); err != nil {
		return nil, err
	}
	c.CodeManifest = s.codeManifest()
	c.TEEManifest = s.teeManifest()
	return c, nil
}

// Exported reads. None of them writes to the state.

func reader(state vm.StateDB) *store { return &store{db: state} }

// Load reads the whole constitution. Its Version lets callers cache it:
// the constitution is unchanged as long as Version(state) is.
func Load(state vm.StateDB) (*Constitution, error) { return reader(state).load() }

// Version returns the constitution version (0 when none is installed).
// It reads one slot.
func Version(state vm.StateDB) uint64 { return reader(state).version() }

// IsActor reports whether the account belongs to a member or participant.
// It reads one slot.
func IsActor(state vm.StateDB, addr common.Address) bool {
	k, _ := reader(state).account(addr)
	return k != NoActor
}

// IsMember reports whether the account belongs to a member. It reads one
// slot.
func IsMember(state vm.StateDB, addr common.Address) bool {
	k, _ := reader(state).account(addr)
	return k == KindMember
}

// MaySend reports whether the account may send transactions: it belongs to
// an actor, or the settings allow open sending. It reads at most two slots.
func MaySend(state vm.StateDB, addr common.Address) bool {
	s := reader(state)
	if k, _ := s.account(addr); k != NoActor {
		return true
	}
	return s.settings().OpenSending
}

// ActorOf returns the kind and id of the actor the account belongs to
// (NoActor and "" for any other account).
func ActorOf(state vm.StateDB, addr common.Address) (ActorKind, string, error) {
	s := reader(state)
	k, key := s.account(addr)
	if k == NoActor {
		return NoActor, "", nil
	}
	r, err := s.actor(key)
	if err != nil {
		return NoActor, "", err
	}
	if r == nil {
		return NoActor, "", fmt.Errorf("governance: corrupt state: account %s without actor record", addr.Hex())
	}
	return k, r.ID, nil
}

// NodeByKey returns the node whose public key is pub (65, 64 or 33 bytes),
// or nil. It reads the node key index and the node's record.
func NodeByKey(state vm.StateDB, pub []byte) (*Node, error) {
	norm, err := NormaliseNodeKey(pub)
	if err != nil {
		return nil, nil
	}
	s := reader(state)
	key := s.get(nodeKeySlot(norm))
	if key == (common.Hash{}) {
		return nil, nil
	}
	return s.node(key)
}

// ReadSettings returns the settings (one slot), the stored recovery
// threshold included; Constitution.RecoveryThreshold is the one in effect.
func ReadSettings(state vm.StateDB) Settings { return reader(state).settings() }

// ReadPolicy returns the voting policy (one slot).
func ReadPolicy(state vm.StateDB) Policy { return reader(state).policy() }
