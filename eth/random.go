package eth

import (
	"bytes"
	"crypto/rand"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
)

// RandomAddress is the enclave randomness contract (IRandom.sol).
var RandomAddress = common.HexToAddress("0x000000000000000000000000000000000000C0C1")

// randomGas is what one random() costs: about a SLOAD of a warm slot.
const randomGas = 200

// randomSelector is random()'s.
var randomSelector = crypto.Keccak256([]byte("random()"))[:4]

// randomPrecompile answers random() with 32 bytes drawn by the node that
// executes the call: inside its TEE when it runs in one (crypto/rand in an
// enclave reads the CPU's RDRAND from within). Only the leader executes
// blocks; followers take its results with the block's write set, so a
// block's randomness is the leader's and no one can predict or replay it
// from the chain. In eth_call it is the answering node's, and changes on
// every call. Registered on every chain.
type randomPrecompile struct{}

var _ StatefulPrecompile = randomPrecompile{}

func (randomPrecompile) Address() common.Address { return RandomAddress }

// Name implements StatefulPrecompile.
func (randomPrecompile) Name() string { return "COCO_RANDOM" }

// Run implements StatefulPrecompile.
func (randomPrecompile) Run(call PrecompileCall, input []byte) ([]byte, uint64, error) {
	if len(input) < 4 || !bytes.Equal(input[:4], randomSelector) {
		return governance.RevertData("random: unknown function (want random())"), 0, vm.ErrExecutionReverted
	}
	if call.Gas < randomGas {
		return nil, 0, vm.ErrOutOfGas
	}
	out := make([]byte, 32)
	if _, err := rand.Read(out); err != nil {
		return governance.RevertData("random: no randomness: " + err.Error()), randomGas, vm.ErrExecutionReverted
	}
	return out, randomGas, nil
}
