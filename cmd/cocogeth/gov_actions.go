package main

import (
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// proposeAction describes one action of `cocogeth propose`: its kind
// (whose Name the user types), its arguments and how they become the
// arguments of the governance ABI function that proposes it.
type proposeAction struct {
	kind     governance.ActionKind
	usage    string // arguments, for help and errors
	min, max int    // number of arguments
	parse    func(args []string) ([]any, error)
}

var proposeActions = []proposeAction{
	{governance.ActAddMember, "ID ACCOUNT[,ACCOUNT…] PUBKEY [RECOVERYKEY]", 3, 4, func(a []string) ([]any, error) {
		accounts, err := parseAccounts(a[1])
		if err != nil {
			return nil, err
		}
		pub, err := parseBytes("PUBKEY", a[2], false)
		if err != nil {
			return nil, err
		}
		recovery := []byte{}
		if len(a) > 3 {
			if recovery, err = parseBytes("RECOVERYKEY", a[3], true); err != nil {
				return nil, err
			}
		}
		return []any{a[0], accounts, pub, recovery}, nil
	}},
	{governance.ActRemoveMember, "ID", 1, 1, func(a []string) ([]any, error) {
		return []any{a[0]}, nil
	}},
	{governance.ActAddParticipant, "ID ACCOUNT[,ACCOUNT…]", 2, 2, func(a []string) ([]any, error) {
		accounts, err := parseAccounts(a[1])
		if err != nil {
			return nil, err
		}
		return []any{a[0], accounts}, nil
	}},
	{governance.ActRemoveParticipant, "ID", 1, 1, func(a []string) ([]any, error) {
		return []any{a[0]}, nil
	}},
	{governance.ActAddNode, "ID OWNER RAFTADDR PUBKEY [CODEID]", 4, 5, func(a []string) ([]any, error) {
		if _, port, err := net.SplitHostPort(a[2]); err != nil || port == "" {
			return nil, fmt.Errorf("invalid RAFTADDR %q: want host:port", a[2])
		}
		pub, err := parseBytes("PUBKEY", a[3], false)
		if err != nil {
			return nil, err
		}
		var code [32]byte
		if len(a) > 4 {
			if code, err = parseHash("CODEID", a[4]); err != nil {
				return nil, err
			}
		}
		return []any{a[0], a[1], a[2], pub, code}, nil
	}},
	{governance.ActRemoveNode, "ID", 1, 1, func(a []string) ([]any, error) {
		return []any{a[0]}, nil
	}},
	{governance.ActSetPolicy, "unanimous|majority|one-of-n|m-of-n [M]", 1, 2, func(a []string) ([]any, error) {
		var kind governance.PolicyKind
		if err := kind.UnmarshalText([]byte(a[0])); err != nil {
			return nil, err
		}
		var m uint64
		switch {
		case kind == governance.MOfN && len(a) < 2:
			return nil, fmt.Errorf("policy m-of-n needs M (the number of approvals)")
		case kind == governance.MOfN:
			var err error
			if m, err = strconv.ParseUint(a[1], 10, 64); err != nil || m == 0 {
				return nil, fmt.Errorf("invalid M %q: want a number of members, at least 1", a[1])
			}
		case len(a) > 1:
			return nil, fmt.Errorf("policy %s takes no M", kind)
		}
		return []any{uint8(kind), m}, nil
	}},
	{governance.ActAddCode, "HASH", 1, 1, func(a []string) ([]any, error) {
		h, err := parseHash("HASH", a[0])
		return []any{h}, err
	}},
	{governance.ActRemoveCode, "HASH", 1, 1, func(a []string) ([]any, error) {
		h, err := parseHash("HASH", a[0])
		return []any{h}, err
	}},
	{governance.ActAddTEE, "KIND", 1, 1, func(a []string) ([]any, error) {
		kind, err := parseTEE(a[0])
		return []any{kind}, err
	}},
	{governance.ActRemoveTEE, "KIND", 1, 1, func(a []string) ([]any, error) {
		kind, err := parseTEE(a[0])
		return []any{kind}, err
	}},
	{governance.ActSetSettings, "LIFETIME EPOCH OPEN(true|false) [SESSION]", 3, 4, func(a []string) ([]any, error) {
		lifetime, err := strconv.ParseUint(a[0], 10, 64)
		if err != nil || lifetime == 0 {
			return nil, fmt.Errorf("invalid LIFETIME %q: want a number of blocks, at least 1", a[0])
		}
		epoch, err := strconv.ParseUint(a[1], 10, 64)
		if err != nil || epoch == 0 {
			return nil, fmt.Errorf("invalid EPOCH %q: want a number of blocks, at least 1", a[1])
		}
		var open bool
		switch strings.ToLower(a[2]) {
		case "true":
			open = true
		case "false":
		default:
			return nil, fmt.Errorf("invalid OPEN %q: want true or false", a[2])
		}
		// SESSION: the longest sign-in session, a duration (12h, 90m);
		// absent or 0: the default, 24 h.
		var session uint64
		if len(a) == 4 && a[3] != "0" {
			d, err := time.ParseDuration(a[3])
			if err != nil || d < time.Second || d > governance.MaxSessionLifetime*time.Second {
				return nil, fmt.Errorf("invalid SESSION %q: want a duration from 1s to 720h (e.g. 12h), or 0 for the default 24h", a[3])
			}
			session = uint64(d / time.Second)
		}
		return []any{lifetime, epoch, open, session}, nil
	}},
	{governance.ActSetRecoveryKey, "ID KEY|none", 2, 2, func(a []string) ([]any, error) {
		key, err := parseRecoveryKey("KEY", a[1])
		return []any{a[0], key}, err
	}},
	{governance.ActSetRecoveryThreshold, "M|majority", 1, 1, func(a []string) ([]any, error) {
		m, err := parseRecoveryThreshold(a[0])
		return []any{m}, err
	}},
}

// actionUsage lists the actions and their arguments, one per line, the
// arguments aligned after the longest name.
func actionUsage() string {
	width := 0
	for _, a := range proposeActions {
		width = max(width, len(a.kind.Name()))
	}
	var b strings.Builder
	for _, a := range proposeActions {
		fmt.Fprintf(&b, "   %-*s  %s\n", width, a.kind.Name(), a.usage)
	}
	return b.String()
}

// encodeProposal parses `propose <action> [args…]` and returns the
// calldata of the governance call and the name of its ABI function.
func encodeProposal(args []string) (method string, calldata []byte, err error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("missing action; one of:\n%s", actionUsage())
	}
	kind, err := governance.ParseActionName(args[0])
	if err != nil {
		return "", nil, fmt.Errorf("unknown action %q; one of:\n%s", args[0], actionUsage())
	}
	for _, a := range proposeActions {
		if a.kind != kind {
			continue
		}
		name, rest := kind.Name(), args[1:]
		if len(rest) < a.min || len(rest) > a.max {
			return "", nil, fmt.Errorf("%s takes %s (got %d argument(s))", name, a.usage, len(rest))
		}
		vals, err := a.parse(rest)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %v", name, err)
		}
		method = kind.Method()
		calldata, err = governance.ABI().Pack(method, vals...)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %v", name, err)
		}
		return method, calldata, nil
	}
	return "", nil, fmt.Errorf("action %s cannot be proposed from the command line", kind.Name())
}

// encodeVote returns the calldata of vote(id, approve) from "<id> yes|no".
func encodeVote(args []string) (uint64, bool, []byte, error) {
	if len(args) != 2 {
		return 0, false, nil, fmt.Errorf("need two arguments: the proposal id and yes or no")
	}
	id, err := parseProposalID(args[0])
	if err != nil {
		return 0, false, nil, err
	}
	var approve bool
	switch strings.ToLower(args[1]) {
	case "yes", "y", "true", "approve":
		approve = true
	case "no", "n", "false", "reject":
	default:
		return 0, false, nil, fmt.Errorf("invalid ballot %q: want yes or no", args[1])
	}
	data, err := governance.ABI().Pack("vote", new(big.Int).SetUint64(id), approve)
	return id, approve, data, err
}

// encodeWithdraw returns the calldata of withdraw(id) from "<id>".
func encodeWithdraw(args []string) (uint64, []byte, error) {
	if len(args) != 1 {
		return 0, nil, fmt.Errorf("need one argument: the proposal id")
	}
	id, err := parseProposalID(args[0])
	if err != nil {
		return 0, nil, err
	}
	data, err := governance.ABI().Pack("withdraw", new(big.Int).SetUint64(id))
	return id, data, err
}

func parseProposalID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(s, "#"), 0, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("invalid proposal id %q: want a number, at least 1", s)
	}
	return id, nil
}

func parseAccounts(s string) ([]common.Address, error) {
	var out []common.Address
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if !common.IsHexAddress(a) {
			return nil, fmt.Errorf("invalid account %q: want a 0x-prefixed address of 20 bytes", a)
		}
		out = append(out, common.HexToAddress(a))
	}
	return out, nil
}

// parseBytes reads 0x-prefixed hex; empty ("0x") only when allowed.
func parseBytes(what, s string, emptyOK bool) ([]byte, error) {
	b, err := hexutil.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("invalid %s %q: want 0x-prefixed hex (%v)", what, s, err)
	}
	if len(b) == 0 && !emptyOK {
		return nil, fmt.Errorf("invalid %s: empty", what)
	}
	return b, nil
}

func parseHash(what, s string) ([32]byte, error) {
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != 32 {
		return [32]byte{}, fmt.Errorf("invalid %s %q: want 32 bytes of 0x-prefixed hex", what, s)
	}
	return [32]byte(b), nil
}

// parseRecoveryKey reads a member's recovery public key: 32 bytes of 0x
// hex, as `cocogeth recovery keygen` prints it, checked to be a valid key;
// "none" or the zero key mean none (zero).
func parseRecoveryKey(what, s string) ([32]byte, error) {
	if strings.EqualFold(s, "none") {
		return [32]byte{}, nil
	}
	b, err := hexutil.Decode(s)
	if err != nil || len(b) != governance.RecoveryKeySize {
		return [32]byte{}, fmt.Errorf("invalid %s %q: want a recovery public key of %d bytes of 0x hex (cocogeth recovery keygen prints one), or none", what, s, governance.RecoveryKeySize)
	}
	key := [32]byte(b)
	if key == ([32]byte{}) {
		return key, nil
	}
	if _, err := recovery.ParsePublicKey(b); err != nil {
		return [32]byte{}, fmt.Errorf("invalid %s %s: %v", what, s, err)
	}
	return key, nil
}

// parseRecoveryThreshold reads the recovery threshold M of
// set-recovery-threshold: a number of recovery keys, 1..65535, or 0 or
// "majority" for a majority of the members with a recovery key (0).
func parseRecoveryThreshold(s string) (uint16, error) {
	if strings.EqualFold(s, "majority") {
		return 0, nil
	}
	m, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("invalid M %q: want a number of recovery keys (1..65535), or majority (or 0) for a majority of the members with a recovery key", s)
	}
	return uint16(m), nil
}

func parseTEE(s string) (string, error) {
	for _, k := range governance.KnownTEEs {
		if strings.EqualFold(s, k) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown TEE kind %q (want one of %s)", s, strings.Join(governance.KnownTEEs, ", "))
}
