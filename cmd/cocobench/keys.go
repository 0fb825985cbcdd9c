package main

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// deriveKey returns the index-th sender key of seed. It is a pure function of
// (seed, index): keccak256("cocobench/key/" || seed || index || counter),
// where the counter starts at 0 and is only bumped in the (astronomically
// unlikely) case that the hash is not a valid secp256k1 scalar.
func deriveKey(seed string, index uint64) *ecdsa.PrivateKey {
	buf := make([]byte, 0, len("cocobench/key/")+len(seed)+12)
	buf = append(buf, "cocobench/key/"...)
	buf = append(buf, seed...)
	buf = binary.BigEndian.AppendUint64(buf, index)
	for ctr := uint32(0); ; ctr++ {
		h := crypto.Keccak256(binary.BigEndian.AppendUint32(buf, ctr))
		if k, err := crypto.ToECDSA(h); err == nil {
			return k
		}
	}
}

// deriveKeys returns the first n keys of seed.
func deriveKeys(seed string, n int) []*ecdsa.PrivateKey {
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		keys[i] = deriveKey(seed, uint64(i))
	}
	return keys
}

// recipientAddresses returns n deterministic addresses that nobody holds a
// key for: the last 20 bytes of keccak256("cocobench/recipient/" || seed || i).
func recipientAddresses(seed string, n int) []common.Address {
	out := make([]common.Address, n)
	buf := make([]byte, 0, 64)
	for i := range out {
		b := append(buf[:0], "cocobench/recipient/"...)
		b = append(b, seed...)
		b = binary.BigEndian.AppendUint64(b, uint64(i))
		out[i] = common.BytesToAddress(crypto.Keccak256(b)[12:])
	}
	return out
}

// seedNumber folds the seed string into a number for the random generators
// that pick recipients.
func seedNumber(seed string) uint64 {
	return binary.BigEndian.Uint64(crypto.Keccak256([]byte("cocobench/rng/" + seed))[:8])
}

// parseKey reads a hex private key with or without 0x prefix.
func parseKey(s string) (*ecdsa.PrivateKey, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	k, err := crypto.HexToECDSA(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --key: %v", err)
	}
	return k, nil
}
