package governance

import (
	"encoding/binary"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
)

// Address is the governance account: its storage holds the constitution
// and the proposals, and calls to it run Contract.
var Address = common.HexToAddress("0x000000000000000000000000000000000000C0C0")

// Fixed storage slots of Address (see doc.go for the whole layout).
var (
	slotVersion      = slot(0x00) // uint64: constitution version, 0 = not installed
	slotPolicy       = slot(0x01) // [31] kind+1, [16:24] M
	slotSettings     = slot(0x02) // [0:8] lifetime, [8:16] epoch length, [16:24] session lifetime, [24:26] recovery threshold, [31] open sending
	slotNextProposal = slot(0x03) // uint64: id of the next proposal (first is 1)

	setMembers      = slot(0x10) // set of actor keys
	setParticipants = slot(0x11) // set of actor keys
	setNodes        = slot(0x12) // set of node keys
	setCode         = slot(0x13) // set of code identities
	setTEE          = slot(0x14) // set of TEE kinds (left-aligned ASCII)
	setOpen         = slot(0x15) // set of open proposals: [16:24] expiresAt, [24:32] id
)

// Domain tags of the hashed slots.
const (
	tagIndex    = "coco.gov.index"    // ‖ set slot ‖ element → position+1
	tagAccount  = "coco.gov.account"  // ‖ address → [0] kind, [1:32] actor key
	tagActorID  = "coco.gov.actorid"  // ‖ id → actor key (hashed, byte 0 cleared)
	tagActor    = "coco.gov.actor"    // ‖ actor key → blob RLP(actorRecord)
	tagNodeID   = "coco.gov.nodeid"   // ‖ id → node key
	tagNode     = "coco.gov.node"     // ‖ node key → blob RLP(Node)
	tagNodeKey  = "coco.gov.nodekey"  // ‖ keccak(public key) → node key
	tagOpenBy   = "coco.gov.openby"   // ‖ actor key → number of open proposals
	tagProposal = "coco.gov.proposal" // ‖ uint256 id → blob RLP(proposalRecord)
	tagRecovery = "coco.gov.recovery" // ‖ recovery key (32 bytes) → actor key of the member holding it
)

func slot(n uint64) common.Hash { return uint256.NewInt(n).Bytes32() }

func hashed(tag string, parts ...[]byte) common.Hash {
	b := make([]byte, 0, 64)
	b = append(b, tag...)
	for _, p := range parts {
		b = append(b, p...)
	}
	return crypto.Keccak256Hash(b)
}

func word(n uint64) []byte { h := slot(n); return h[:] }

// offset returns h+i as a 256-bit number (wrapping).
func offset(h common.Hash, i uint64) common.Hash {
	if i == 0 {
		return h
	}
	v := new(uint256.Int).SetBytes32(h[:])
	v.Add(v, new(uint256.Int).SetUint64(i))
	return v.Bytes32()
}

func u64(h common.Hash) uint64 { return binary.BigEndian.Uint64(h[24:]) }

// Gas schedule of Contract (see doc.go).
const (
	GasBase        = 2_000  // every call
	GasRead        = 200    // one storage slot read
	GasWriteSame   = 200    // a slot written with the value it holds
	GasWriteNew    = 20_000 // a zero slot set to non-zero
	GasWriteUpdate = 5_000  // a non-zero slot changed (or cleared)
	GasLog         = 375    // per log
	GasLogTopic    = 375    // per topic
	GasLogByte     = 8      // per byte of log data
)

// store is metered access to the storage of Address.
type store struct {
	db  vm.StateDB
	gas uint64
}

func (s *store) get(k common.Hash) common.Hash {
	s.gas += GasRead
	return s.db.GetState(Address, k)
}

func (s *store) set(k, v common.Hash) {
	cur := s.db.GetState(Address, k)
	switch {
	case cur == v:
		s.gas += GasWriteSame
		return
	case cur == (common.Hash{}):
		s.gas += GasWriteNew
	default:
		s.gas += GasWriteUpdate
	}
	s.db.SetState(Address, k, v)
}

func (s *store) getU64(k common.Hash) uint64    { return u64(s.get(k)) }
func (s *store) setU64(k common.Hash, v uint64) { s.set(k, slot(v)) }

// A blob is a byte string at a hashed slot: the slot holds its length,
// the following slots its bytes, 32 per slot, the last one zero-padded.

func (s *store) getBlob(k common.Hash) []byte {
	n := s.getU64(k)
	if n == 0 {
		return nil
	}
	out := make([]byte, 0, (n+31)/32*32)
	for i := uint64(0); i < (n+31)/32; i++ {
		w := s.get(offset(k, i+1))
		out = append(out, w[:]...)
	}
	return out[:n]
}

func (s *store) setBlob(k common.Hash, data []byte) {
	old := s.getU64(k)
	n := uint64(len(data))
	s.setU64(k, n)
	words := (n + 31) / 32
	for i := uint64(0); i < words; i++ {
		var w common.Hash
		copy(w[:], data[i*32:])
		s.set(offset(k, i+1), w)
	}
	for i := words; i < (old+31)/32; i++ {
		s.set(offset(k, i+1), common.Hash{})
	}
}

// A set is an enumerable set of non-zero words: its slot holds the count,
// keccak(slot)+i the i-th element, and an index slot per element its
// position+1. Removal moves the last element into the hole.

func setElem(set common.Hash, i uint64) common.Hash {
	return offset(crypto.Keccak256Hash(set[:]), i)
}

func setIndex(set, e common.Hash) common.Hash { return hashed(tagIndex, set[:], e[:]) }

func (s *store) setLen(set common.Hash) uint64 { return s.getU64(set) }

func (s *store) setHas(set, e common.Hash) bool { return s.get(setIndex(set, e)) != (common.Hash{}) }

func (s *store) setAdd(set, e common.Hash) bool {
	if s.setHas(set, e) {
		return false
	}
	n := s.setLen(set)
	s.set(setElem(set, n), e)
	s.setU64(setIndex(set, e), n+1)
	s.setU64(set, n+1)
	return true
}

func (s *store) setRemove(set, e common.Hash) bool {
	pos := s.getU64(setIndex(set, e))
	if pos == 0 {
		return false
	}
	n := s.setLen(set)
	if pos != n {
		last := s.get(setElem(set, n-1))
		s.set(setElem(set, pos-1), last)
		s.setU64(setIndex(set, last), pos)
	}
	s.set(setElem(set, n-1), common.Hash{})
	s.set(setIndex(set, e), common.Hash{})
	s.setU64(set, n-1)
	return true
}

func (s *store) setList(set common.Hash) []common.Hash {
	n := s.setLen(set)
	out := make([]common.Hash, n)
	for i := range n {
		out[i] = s.get(setElem(set, i))
	}
	return out
}

// Keys.

// actorKey is the key of an actor id: keccak256(tag ‖ id) with its first
// byte cleared, so that an account slot holds the kind in byte 0 and the
// key in bytes 1..31.
func actorKey(id string) common.Hash {
	h := hashed(tagActorID, []byte(id))
	h[0] = 0
	return h
}

func accountSlot(a common.Address) common.Hash { return hashed(tagAccount, a[:]) }
func actorSlot(key common.Hash) common.Hash    { return hashed(tagActor, key[:]) }
func openBySlot(key common.Hash) common.Hash   { return hashed(tagOpenBy, key[:]) }
func nodeKey(id string) common.Hash            { return hashed(tagNodeID, []byte(id)) }
func nodeSlot(key common.Hash) common.Hash     { return hashed(tagNode, key[:]) }
func nodeKeySlot(pub []byte) common.Hash       { return hashed(tagNodeKey, crypto.Keccak256(pub)) }
func proposalSlot(id uint64) common.Hash       { return hashed(tagProposal, word(id)) }
func recoveryKeySlot(key []byte) common.Hash   { return hashed(tagRecovery, key) }

func accountValue(kind ActorKind, key common.Hash) common.Hash {
	v := key
	v[0] = byte(kind)
	return v
}

func teeWord(kind string) common.Hash {
	var w common.Hash
	copy(w[:], kind)
	return w
}

func teeString(w common.Hash) string {
	n := 0
	for n < len(w) && w[n] != 0 {
		n++
	}
	return string(w[:n])
}

func openWord(id, expires uint64) common.Hash {
	var w common.Hash
	binary.BigEndian.PutUint64(w[16:24], expires)
	binary.BigEndian.PutUint64(w[24:32], id)
	return w
}

func openSplit(w common.Hash) (id, expires uint64) {
	return binary.BigEndian.Uint64(w[24:32]), binary.BigEndian.Uint64(w[16:24])
}

func policyWord(p Policy) common.Hash {
	var w common.Hash
	w[31] = byte(p.Kind) + 1
	binary.BigEndian.PutUint64(w[16:24], p.M)
	return w
}

func policyFrom(w common.Hash) Policy {
	if w[31] == 0 {
		return Policy{}
	}
	return Policy{Kind: PolicyKind(w[31] - 1), M: binary.BigEndian.Uint64(w[16:24])}
}

func settingsWord(st Settings) common.Hash {
	var w common.Hash
	binary.BigEndian.PutUint64(w[0:8], st.ProposalLifetime)
	binary.BigEndian.PutUint64(w[8:16], st.EpochLength)
	binary.BigEndian.PutUint64(w[16:24], st.SessionLifetime)
	binary.BigEndian.PutUint16(w[24:26], st.RecoveryThreshold)
	if st.OpenSending {
		w[31] = 1
	}
	return w
}

func settingsFrom(w common.Hash) Settings {
	return Settings{
		ProposalLifetime:  binary.BigEndian.Uint64(w[0:8]),
		EpochLength:       binary.BigEndian.Uint64(w[8:16]),
		SessionLifetime:   binary.BigEndian.Uint64(w[16:24]),
		RecoveryThreshold: binary.BigEndian.Uint16(w[24:26]),
		OpenSending:       w[31] == 1,
	}
}
