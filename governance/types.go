package governance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// ActorKind says what an account belongs to.
type ActorKind uint8

// Actor kinds; the numbers are those of IGovernance.ActorKind.
const (
	NoActor ActorKind = iota
	KindMember
	KindParticipant
)

func (k ActorKind) String() string {
	switch k {
	case NoActor:
		return "none"
	case KindMember:
		return "member"
	case KindParticipant:
		return "participant"
	}
	return fmt.Sprintf("ActorKind(%d)", uint8(k))
}

// Member is a governing actor: it proposes, votes and transacts.
type Member struct {
	ID string `json:"id"`
	// Accounts are the Ethereum accounts that act for the member; any of
	// them may propose and vote, and all of them together cast one ballot.
	Accounts []common.Address `json:"accounts"`
	// PublicKey is the member's public key or X.509 certificate (opaque,
	// 1..MaxKeyBytes bytes).
	PublicKey hexutil.Bytes `json:"publicKey"`
	// RecoveryKey is the member's recovery public key (package recovery:
	// RecoveryKeySize bytes, a point of the Ed25519 prime-order subgroup as
	// recovery.ParsePublicKey accepts it), to which the member's shares of
	// each epoch's ledger secret are encrypted. Empty (or, on input, all
	// zero) means none: the member then holds no share. No two members have
	// the same recovery key.
	RecoveryKey hexutil.Bytes `json:"recoveryKey,omitempty"`
}

// Participant is an actor that transacts but does not govern.
type Participant struct {
	ID       string           `json:"id"`
	Accounts []common.Address `json:"accounts"`
}

// Node is a validating node (VN).
type Node struct {
	// ID is the node's Raft server id.
	ID string `json:"id"`
	// Owner is the id of the member or participant that runs the node.
	Owner string `json:"owner"`
	// RaftAddr is the host:port of its node-to-node endpoint.
	RaftAddr string `json:"raftAddr"`
	// PublicKey is the node's secp256k1 key, stored uncompressed (65
	// bytes, 0x04…) as `cocogeth nodekey` prints it; 64-byte and 33-byte
	// compressed forms are accepted and normalised.
	PublicKey hexutil.Bytes `json:"publicKey"`
	// CodeID pins the code identity the node must attest to; zero means any
	// identity of the code manifest.
	CodeID common.Hash `json:"codeId,omitempty"`
}

// PolicyKind is the kind of voting policy; the numbers are those of
// IGovernance.PolicyKind.
type PolicyKind uint8

// Voting policies.
const (
	Unanimous PolicyKind = iota // every member approves
	MOfN                        // at least M members approve
	OneOfN                      // one member approves (the proposer)
	Majority                    // more than half of the members approve
)

var policyNames = []string{"unanimous", "m-of-n", "one-of-n", "majority"}

func (k PolicyKind) String() string {
	if int(k) < len(policyNames) {
		return policyNames[k]
	}
	return fmt.Sprintf("PolicyKind(%d)", uint8(k))
}

// MarshalText writes the policy name ("m-of-n", …).
func (k PolicyKind) MarshalText() ([]byte, error) {
	if int(k) >= len(policyNames) {
		return nil, fmt.Errorf("invalid policy kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a policy name.
func (k *PolicyKind) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for i, n := range policyNames {
		if s == n {
			*k = PolicyKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown policy kind %q (want one of %s)", string(b), strings.Join(policyNames, ", "))
}

// Policy is the voting policy. M is used by MOfN only and must be zero for
// the others.
type Policy struct {
	Kind PolicyKind `json:"kind"`
	M    uint64     `json:"m,omitempty"`
}

func (p Policy) String() string {
	if p.Kind == MOfN {
		return fmt.Sprintf("%d-of-n", p.M)
	}
	return p.Kind.String()
}

// Threshold is the number of approving members a proposal needs among n
// members. It returns 0 when the policy cannot be satisfied with n members.
func (p Policy) Threshold(n uint64) uint64 {
	var t uint64
	switch p.Kind {
	case Unanimous:
		t = n
	case MOfN:
		t = p.M
	case OneOfN:
		t = 1
	case Majority:
		t = n/2 + 1
	default:
		return 0
	}
	if t == 0 || t > n {
		return 0
	}
	return t
}

// check reports whether the policy is well formed and satisfiable with n
// members.
func (p Policy) check(n uint64) error {
	switch p.Kind {
	case MOfN:
		if p.M == 0 {
			return fmt.Errorf("policy m-of-n needs M >= 1")
		}
		if p.M > n {
			return fmt.Errorf("policy %d-of-n cannot be satisfied by %d member(s)", p.M, n)
		}
	case Unanimous, OneOfN, Majority:
		if p.M != 0 {
			return fmt.Errorf("policy %s takes no M (got %d)", p.Kind, p.M)
		}
	default:
		return fmt.Errorf("unknown policy kind %d", uint8(p.Kind))
	}
	if n == 0 {
		return fmt.Errorf("no members")
	}
	return nil
}

// Settings are the network's numeric settings.
type Settings struct {
	// ProposalLifetime is the number of blocks a proposal stays open.
	ProposalLifetime uint64 `json:"proposalLifetime"`
	// EpochLength is the number of blocks of one key epoch.
	EpochLength uint64 `json:"epochLength"`
	// OpenSending lets any account send transactions, not only actors.
	OpenSending bool `json:"openSending"`
	// SessionLifetime is the longest sign-in session (coco_login) in
	// seconds; 0 means DefaultSessionLifetime.
	SessionLifetime uint64 `json:"sessionLifetime"`
	// RecoveryThreshold is M, the number of members' recovery keys that
	// recover an epoch's ledger secret; 0 means a majority of the members
	// that have a recovery key. Constitution.RecoveryThreshold is the M in
	// effect. It is set in the genesis and by set-recovery-threshold
	// (SetRecoveryThreshold); set-settings leaves it as it is, and
	// SetSettings ignores this field (it is not part of its ABI, RLP or
	// JSON arguments).
	RecoveryThreshold uint16 `json:"recoveryThreshold" rlp:"-"`
}

// Bounds of Settings.SessionLifetime, in seconds.
const (
	DefaultSessionLifetime = 24 * 60 * 60
	MaxSessionLifetime     = 30 * 24 * 60 * 60
)

// Session is the longest sign-in session the settings allow.
func (s Settings) Session() time.Duration {
	if s.SessionLifetime == 0 {
		return DefaultSessionLifetime * time.Second
	}
	return time.Duration(s.SessionLifetime) * time.Second
}

// String describes every setting, the recovery threshold last.
func (s Settings) String() string {
	return s.BaseString() + ", recovery threshold " + RecoveryThresholdString(s.RecoveryThreshold)
}

// BaseString describes the settings that set-settings changes: all of
// them but the recovery threshold.
func (s Settings) BaseString() string {
	open := "off"
	if s.OpenSending {
		open = "on"
	}
	return fmt.Sprintf("proposal lifetime %d blocks, epoch %d blocks, open sending %s, sessions up to %v", s.ProposalLifetime, s.EpochLength, open, s.Session())
}

// RecoveryThresholdString describes a stored recovery threshold: "2 keys",
// or "majority" for 0.
func RecoveryThresholdString(m uint16) string {
	switch m {
	case 0:
		return "majority"
	case 1:
		return "1 key"
	}
	return fmt.Sprintf("%d keys", m)
}

// voted is the settings without the recovery threshold, the part that
// set-settings sets.
func (s Settings) voted() Settings {
	s.RecoveryThreshold = 0
	return s
}

func (s Settings) check() error {
	if s.ProposalLifetime == 0 || s.ProposalLifetime > MaxProposalLifetime {
		return fmt.Errorf("proposal lifetime must be 1..%d blocks (got %d)", uint64(MaxProposalLifetime), s.ProposalLifetime)
	}
	if s.EpochLength == 0 {
		return fmt.Errorf("epoch length must be at least 1 block")
	}
	if s.SessionLifetime > MaxSessionLifetime {
		return fmt.Errorf("session lifetime must be at most %d s (30 days; 0 = 24 h), got %d", uint64(MaxSessionLifetime), s.SessionLifetime)
	}
	return nil
}

// TEE kinds the TEE manifest may list.
const (
	TEESGX        = "sgx"
	TEESimulation = "simulation"
)

// KnownTEEs are the TEE kinds cocogeth implements.
var KnownTEEs = []string{TEESGX, TEESimulation}

// Limits on what one actor, node or proposal may carry.
const (
	MaxIDLength         = 64
	MaxAccounts         = 16
	MaxKeyBytes         = 4096
	MaxProposalLifetime = 1 << 40
	// MaxOpenPerMember is how many open proposals one member may have at a
	// time (so that no member can crowd out the others).
	MaxOpenPerMember = 16
)

// RecoveryKeySize is the size of a member's recovery public key (a
// recovery.PublicKey).
const RecoveryKeySize = 32

// Defaults applied to a genesis constitution that leaves a setting at zero.
const (
	DefaultProposalLifetime = 100_000
	DefaultEpochLength      = 100_000
)

// Constitution is the whole constitution as stored at Address.
type Constitution struct {
	// Version is bumped by every change; 1 is the genesis constitution.
	Version      uint64        `json:"version"`
	Members      []Member      `json:"members"`
	Participants []Participant `json:"participants"`
	Nodes        []Node        `json:"nodes"`
	CodeManifest []common.Hash `json:"codeManifest"`
	TEEManifest  []string      `json:"teeManifest"`
	Policy       Policy        `json:"policy"`
	Settings     Settings      `json:"settings"`
}

// Member returns the member with the given id.
func (c *Constitution) Member(id string) (*Member, bool) {
	for i := range c.Members {
		if c.Members[i].ID == id {
			return &c.Members[i], true
		}
	}
	return nil, false
}

// RecoveryKeys returns the members that have a recovery key and their
// keys (RecoveryKeySize bytes each, copies), ordered by member id, which is
// the order of Members in a constitution from Load or Genesis.Constitution.
// ids[i] holds keys[i]; members without a recovery key are left out, so
// both are empty when no member has one.
func (c *Constitution) RecoveryKeys() (ids []string, keys [][]byte) {
	ms := make([]*Member, 0, len(c.Members))
	for i := range c.Members {
		if len(c.Members[i].RecoveryKey) > 0 {
			ms = append(ms, &c.Members[i])
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	ids = make([]string, len(ms))
	keys = make([][]byte, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
		keys[i] = bytes.Clone(m.RecoveryKey)
	}
	return ids, keys
}

// RecoveryThreshold returns the M in effect for the current recovery keys
// (those RecoveryKeys returns, n of them): how many of them recover an
// epoch's ledger secret. It is Settings.RecoveryThreshold when that is
// 1..n, a majority n/2+1 when it is 0, and n when it exceeds n (members or
// their keys were removed after it was set); 0 when no member has a
// recovery key.
func (c *Constitution) RecoveryThreshold() int {
	n := 0
	for i := range c.Members {
		if len(c.Members[i].RecoveryKey) > 0 {
			n++
		}
	}
	return effectiveRecoveryThreshold(c.Settings.RecoveryThreshold, n)
}

// effectiveRecoveryThreshold is the threshold in effect for stored value m
// and n recovery keys (see Constitution.RecoveryThreshold).
func effectiveRecoveryThreshold(m uint16, n int) int {
	switch {
	case n <= 0:
		return 0
	case m == 0:
		return recovery.DefaultThreshold(n)
	case int(m) > n:
		return n
	}
	return int(m)
}

// Node returns the node with the given id.
func (c *Constitution) Node(id string) (*Node, bool) {
	for i := range c.Nodes {
		if c.Nodes[i].ID == id {
			return &c.Nodes[i], true
		}
	}
	return nil, false
}

// ActorOf returns the kind and id of the actor an account belongs to.
func (c *Constitution) ActorOf(addr common.Address) (ActorKind, string) {
	for _, m := range c.Members {
		for _, a := range m.Accounts {
			if a == addr {
				return KindMember, m.ID
			}
		}
	}
	for _, p := range c.Participants {
		for _, a := range p.Accounts {
			if a == addr {
				return KindParticipant, p.ID
			}
		}
	}
	return NoActor, ""
}

// String renders the constitution as indented JSON.
func (c *Constitution) String() string {
	b, _ := json.MarshalIndent(c, "", "  ")
	return string(b)
}
