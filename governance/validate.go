package governance

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// checkID accepts 1..MaxIDLength printable ASCII characters without spaces.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s id is empty", what)
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("%s id %q is longer than %d bytes", what, id, MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%s id %q: only printable ASCII without spaces is allowed", what, id)
		}
	}
	return nil
}

func checkAccounts(accounts []common.Address) error {
	if len(accounts) == 0 {
		return fmt.Errorf("at least one account is required")
	}
	if len(accounts) > MaxAccounts {
		return fmt.Errorf("%d accounts given, at most %d are allowed", len(accounts), MaxAccounts)
	}
	for i, a := range accounts {
		if a == (common.Address{}) {
			return fmt.Errorf("the zero address cannot be an account")
		}
		if slices.Contains(accounts[:i], a) {
			return fmt.Errorf("account %s is listed twice", a.Hex())
		}
	}
	return nil
}

func checkKey(what string, b []byte, required bool) error {
	if required && len(b) == 0 {
		return fmt.Errorf("%s is empty", what)
	}
	if len(b) > MaxKeyBytes {
		return fmt.Errorf("%s is %d bytes, at most %d are allowed", what, len(b), MaxKeyBytes)
	}
	return nil
}

// normaliseRecoveryKey checks a member's recovery key and returns it in
// stored form: nil for none (empty or RecoveryKeySize zero bytes), else a
// copy of a key recovery.ParsePublicKey accepts.
func normaliseRecoveryKey(b []byte) ([]byte, error) {
	if len(b) == 0 || (len(b) == RecoveryKeySize && isZero(b)) {
		return nil, nil
	}
	if len(b) != RecoveryKeySize {
		return nil, fmt.Errorf("recovery key must be %d bytes (as `cocogeth recovery keygen` prints it), got %d", RecoveryKeySize, len(b))
	}
	k, err := recovery.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("invalid recovery key %#x: %v", b, err)
	}
	return []byte(k), nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// NormaliseNodeKey parses a secp256k1 node public key given uncompressed
// (65 bytes), raw (64 bytes) or compressed (33 bytes) and returns its
// 65-byte uncompressed form: the form the constitution stores, genesis
// validators are compared in, and the node-to-node channel admits.
func NormaliseNodeKey(b []byte) ([]byte, error) {
	switch len(b) {
	case 64:
		b = append([]byte{0x04}, b...)
	case 33:
		pub, err := crypto.DecompressPubkey(b)
		if err != nil {
			return nil, fmt.Errorf("node public key: %v", err)
		}
		return crypto.FromECDSAPub(pub), nil
	case 65:
	default:
		return nil, fmt.Errorf("node public key must be a secp256k1 key of 65 bytes (0x04…, as `cocogeth nodekey` prints), got %d bytes", len(b))
	}
	pub, err := crypto.UnmarshalPubkey(b)
	if err != nil {
		return nil, fmt.Errorf("node public key: %v", err)
	}
	return crypto.FromECDSAPub(pub), nil
}

func checkRaftAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("raft address %q: want host:port (%v)", addr, err)
	}
	if host == "" {
		return fmt.Errorf("raft address %q has no host", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return fmt.Errorf("raft address %q: port must be 1..65535", addr)
	}
	if len(addr) > 255 {
		return fmt.Errorf("raft address is longer than 255 bytes")
	}
	return nil
}

func checkTEE(kind string) error {
	if !slices.Contains(KnownTEEs, kind) {
		return fmt.Errorf("unknown TEE kind %q (known: %q, %q)", kind, TEESGX, TEESimulation)
	}
	return nil
}
