package governance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
)

// StubCode is the code installed at Address: PUSH1 0 PUSH1 0 REVERT. The
// node runs calls to Address natively (Contract); should one ever reach the
// EVM instead, it reverts rather than succeed silently as a call to an
// empty account would. It also gives the account a code hash, so that
// Solidity's extcodesize check passes and the account is never "empty"
// (EIP-161 would delete an empty account together with its storage).
var StubCode = []byte{0x60, 0x00, 0x60, 0x00, 0xfd}

// Genesis is the genesis constitution, config.coco.constitution of a
// genesis file:
//
//	"constitution": {
//	  "members": [{"id": "A", "accounts": ["0x…"], "publicKey": "0x…", "recoveryKey": "0x…"}],
//	  "participants": [{"id": "P", "accounts": ["0x…"]}],
//	  "nodes": [{"id": "vn1", "owner": "A", "raftAddr": "10.0.0.1:30400", "publicKey": "0x04…", "codeId": "0x…"}],
//	  "codeManifest": ["0x…"],
//	  "teeManifest": ["sgx"],
//	  "policy": {"kind": "m-of-n", "m": 2},
//	  "settings": {"proposalLifetime": 1000, "epochLength": 100000, "openSending": false, "recoveryThreshold": 2}
//	}
//
// Settings left at zero take DefaultProposalLifetime and
// DefaultEpochLength; the policy is required. recoveryThreshold is how
// many of the members' recovery keys recover an epoch's ledger secret
// (omitted or 0: a majority of the members with a recovery key); it may
// not exceed the number of members that give one. A member's recoveryKey is
// optional (omitted or zero: none); when given it must be a valid recovery
// public key of 32 bytes (`cocogeth recovery keygen` prints one), and no
// two members may give the same.
type Genesis struct {
	Members      []Member      `json:"members"`
	Participants []Participant `json:"participants,omitempty"`
	Nodes        []Node        `json:"nodes,omitempty"`
	CodeManifest []common.Hash `json:"codeManifest,omitempty"`
	TEEManifest  []string      `json:"teeManifest"`
	Policy       *Policy       `json:"policy"`
	Settings     Settings      `json:"settings"`
}

// ParseGenesis reads a genesis constitution from JSON, refusing unknown
// fields, and validates it.
func ParseGenesis(data []byte) (*Genesis, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	g := new(Genesis)
	if err := dec.Decode(g); err != nil {
		return nil, fmt.Errorf("constitution: %v", err)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// Validate checks the genesis constitution; the error names the offending
// entry.
func (g *Genesis) Validate() error {
	_, err := g.Constitution()
	return err
}

// Constitution returns the constitution the genesis installs (version 1),
// normalised (node keys uncompressed, lists sorted, defaults applied).
func (g *Genesis) Constitution() (*Constitution, error) {
	fail := func(format string, args ...any) (*Constitution, error) {
		return nil, fmt.Errorf("constitution: "+format, args...)
	}
	c := &Constitution{Version: 1, Settings: g.Settings}
	if c.Settings.ProposalLifetime == 0 {
		c.Settings.ProposalLifetime = DefaultProposalLifetime
	}
	if c.Settings.EpochLength == 0 {
		c.Settings.EpochLength = DefaultEpochLength
	}
	if err := c.Settings.check(); err != nil {
		return fail("settings: %v", err)
	}
	if len(g.Members) == 0 {
		return fail("at least one member is required")
	}
	ids := map[string]string{} // actor id → "members[i]"
	accounts := map[common.Address]string{}
	// claim registers an actor's id and accounts, refusing ones already
	// taken by an earlier actor.
	claim := func(where, id string, accs []common.Address) error {
		if prev, ok := ids[id]; ok {
			return fmt.Errorf("constitution: %s: id %q is already used by %s", where, id, prev)
		}
		ids[id] = where
		for _, a := range accs {
			if prev, ok := accounts[a]; ok {
				return fmt.Errorf("constitution: %s (%q): account %s already belongs to %s", where, id, a.Hex(), prev)
			}
			accounts[a] = fmt.Sprintf("%s (%q)", where, id)
		}
		return nil
	}
	recoveryKeys := map[string]string{} // recovery key → "members[i] (id)"
	for i, m := range g.Members {
		nm, err := normaliseMember(m)
		if err != nil {
			return fail("members[%d]: %v", i, err)
		}
		if err := claim(fmt.Sprintf("members[%d]", i), nm.ID, nm.Accounts); err != nil {
			return nil, err
		}
		if len(nm.RecoveryKey) > 0 {
			if prev, ok := recoveryKeys[string(nm.RecoveryKey)]; ok {
				return fail("members[%d] (%q): recovery key %#x is already used by %s", i, nm.ID, []byte(nm.RecoveryKey), prev)
			}
			recoveryKeys[string(nm.RecoveryKey)] = fmt.Sprintf("members[%d] (%q)", i, nm.ID)
		}
		c.Members = append(c.Members, nm)
	}
	if m := c.Settings.RecoveryThreshold; int(m) > len(recoveryKeys) {
		return fail("settings: recovery threshold %d cannot be reached: only %d member(s) have a recovery key", m, len(recoveryKeys))
	}
	for i, p := range g.Participants {
		np, err := normaliseParticipant(p)
		if err != nil {
			return fail("participants[%d]: %v", i, err)
		}
		if err := claim(fmt.Sprintf("participants[%d]", i), np.ID, np.Accounts); err != nil {
			return nil, err
		}
		c.Participants = append(c.Participants, np)
	}
	for i, h := range g.CodeManifest {
		if h == (common.Hash{}) {
			return fail("codeManifest[%d]: the zero code identity is not allowed", i)
		}
		if slices.Contains(c.CodeManifest, h) {
			return fail("codeManifest[%d]: %s is listed twice", i, h.Hex())
		}
		c.CodeManifest = append(c.CodeManifest, h)
	}
	if len(g.TEEManifest) == 0 {
		return fail("teeManifest must list at least one TEE kind (%q or %q)", TEESGX, TEESimulation)
	}
	for i, k := range g.TEEManifest {
		if err := checkTEE(k); err != nil {
			return fail("teeManifest[%d]: %v", i, err)
		}
		if slices.Contains(c.TEEManifest, k) {
			return fail("teeManifest[%d]: %q is listed twice", i, k)
		}
		c.TEEManifest = append(c.TEEManifest, k)
	}
	nodeIDs := map[string]bool{}
	keys := map[string]string{}
	addrs := map[string]string{}
	for i, n := range g.Nodes {
		nn, err := normaliseNode(n)
		if err != nil {
			return fail("nodes[%d]: %v", i, err)
		}
		if nodeIDs[nn.ID] {
			return fail("nodes[%d]: node id %q is listed twice", i, nn.ID)
		}
		nodeIDs[nn.ID] = true
		if _, ok := ids[nn.Owner]; !ok {
			return fail("nodes[%d] (%q): owner %q is not a member or participant", i, nn.ID, nn.Owner)
		}
		if prev, ok := keys[string(nn.PublicKey)]; ok {
			return fail("nodes[%d] (%q): public key already used by node %q", i, nn.ID, prev)
		}
		keys[string(nn.PublicKey)] = nn.ID
		if prev, ok := addrs[nn.RaftAddr]; ok {
			return fail("nodes[%d] (%q): raft address %s already used by node %q", i, nn.ID, nn.RaftAddr, prev)
		}
		addrs[nn.RaftAddr] = nn.ID
		if nn.CodeID != (common.Hash{}) && !slices.Contains(c.CodeManifest, nn.CodeID) {
			return fail("nodes[%d] (%q): code identity %s is not in the code manifest", i, nn.ID, nn.CodeID.Hex())
		}
		c.Nodes = append(c.Nodes, nn)
	}
	if g.Policy == nil {
		return fail("policy is required, e.g. {\"kind\": \"majority\"} or {\"kind\": \"m-of-n\", \"m\": 2}")
	}
	if err := g.Policy.check(uint64(len(c.Members))); err != nil {
		return fail("policy: %v", err)
	}
	c.Policy = *g.Policy
	sort.Slice(c.Members, func(i, j int) bool { return c.Members[i].ID < c.Members[j].ID })
	sort.Slice(c.Participants, func(i, j int) bool { return c.Participants[i].ID < c.Participants[j].ID })
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].ID < c.Nodes[j].ID })
	sort.Slice(c.CodeManifest, func(i, j int) bool { return bytes.Compare(c.CodeManifest[i][:], c.CodeManifest[j][:]) < 0 })
	sort.Strings(c.TEEManifest)
	if c.Members == nil {
		c.Members = []Member{}
	}
	if c.Participants == nil {
		c.Participants = []Participant{}
	}
	if c.Nodes == nil {
		c.Nodes = []Node{}
	}
	if c.CodeManifest == nil {
		c.CodeManifest = []common.Hash{}
	}
	return c, nil
}

// Install validates the genesis constitution and writes it into the
// storage of Address (version 1), with nonce 1 and StubCode on the
// account. It refuses a state that already holds a constitution. It emits
// no logs.
func (g *Genesis) Install(state vm.StateDB) error {
	c, err := g.Constitution()
	if err != nil {
		return err
	}
	s := &store{db: state}
	if s.version() != 0 {
		return errors.New("governance: a constitution is already installed")
	}
	if !state.Exist(Address) {
		state.CreateAccount(Address)
	}
	state.SetNonce(Address, 1, tracing.NonceChangeGenesis)
	state.SetCode(Address, StubCode, tracing.CodeChangeGenesis)
	for i := range c.Members {
		m := &c.Members[i]
		if err := putActor(s, KindMember, &actorRecord{Kind: uint8(KindMember), ID: m.ID, Accounts: m.Accounts, PublicKey: m.PublicKey, RecoveryKey: m.RecoveryKey}); err != nil {
			return err
		}
	}
	for i := range c.Participants {
		p := &c.Participants[i]
		if err := putActor(s, KindParticipant, &actorRecord{Kind: uint8(KindParticipant), ID: p.ID, Accounts: p.Accounts}); err != nil {
			return err
		}
	}
	for i := range c.Nodes {
		if err := putNode(s, &c.Nodes[i]); err != nil {
			return err
		}
	}
	for _, h := range c.CodeManifest {
		s.setAdd(setCode, h)
	}
	for _, k := range c.TEEManifest {
		s.setAdd(setTEE, teeWord(k))
	}
	s.set(slotPolicy, policyWord(c.Policy))
	s.set(slotSettings, settingsWord(c.Settings))
	s.setU64(slotNextProposal, 1)
	s.setU64(slotVersion, 1)
	return nil
}
