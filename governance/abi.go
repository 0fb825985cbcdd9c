package governance

import (
	"bytes"
	_ "embed"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

//go:generate node abigen.mjs

// ABIJSON is the ABI of IGovernance.sol, as compiled by solc (abigen.mjs).
//
//go:embed abi.json
var ABIJSON []byte

var contractABI = func() abi.ABI {
	a, err := abi.JSON(bytes.NewReader(ABIJSON))
	if err != nil {
		panic("governance: abi.json: " + err.Error())
	}
	return a
}()

// ABI returns the parsed ABI of the governance contract.
func ABI() abi.ABI { return contractABI }

// revertSelector is the selector of Solidity's Error(string).
var revertSelector = []byte{0x08, 0xc3, 0x79, 0xa0}

// RevertData encodes reason as Solidity's Error(string) revert data.
func RevertData(reason string) []byte {
	t, _ := abi.NewType("string", "", nil)
	b, _ := abi.Arguments{{Type: t}}.Pack(reason)
	return append(append([]byte{}, revertSelector...), b...)
}

// makeLog builds the log of event name with its arguments in declaration
// order (indexed ones included).
func makeLog(name string, block uint64, args ...any) (*types.Log, error) {
	ev, ok := contractABI.Events[name]
	if !ok {
		return nil, fmt.Errorf("governance: no event %s in abi.json", name)
	}
	if len(args) != len(ev.Inputs) {
		return nil, fmt.Errorf("governance: event %s takes %d arguments, got %d", name, len(ev.Inputs), len(args))
	}
	topics := []common.Hash{ev.ID}
	var data []any
	for i, in := range ev.Inputs {
		if !in.Indexed {
			data = append(data, args[i])
			continue
		}
		var t common.Hash
		switch v := args[i].(type) {
		case *big.Int:
			t = common.BigToHash(v)
		case uint64:
			t = common.BigToHash(new(big.Int).SetUint64(v))
		case common.Hash:
			t = v
		case [32]byte:
			t = v
		default:
			return nil, fmt.Errorf("governance: event %s: unsupported indexed type %T", name, v)
		}
		topics = append(topics, t)
	}
	packed, err := ev.Inputs.NonIndexed().Pack(data...)
	if err != nil {
		return nil, fmt.Errorf("governance: event %s: %v", name, err)
	}
	return &types.Log{Address: Address, Topics: topics, Data: packed, BlockNumber: block}, nil
}
