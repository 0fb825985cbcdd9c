package e2e

import (
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// GovForwarder is a tiny contract that forwards its owner's calls to the
// governance precompile, so that governance sees the contract as
// msg.sender: a member whose account is a contract (a multisig wallet, say)
// votes through it. Source (solc 0.8.30, optimizer 200 runs, evmVersion
// prague; recompile with test/js/node_modules/solc and paste the bytecode):
//
//	// SPDX-License-Identifier: MIT
//	pragma solidity ^0.8.20;
//	contract GovForwarder {
//	    address public owner;
//	    constructor(address o) { owner = o; }
//	    function exec(bytes calldata data) external returns (bytes memory) {
//	        require(msg.sender == owner, "GovForwarder: not the owner");
//	        (bool ok, bytes memory ret) = address(0xC0C0).call(data);
//	        if (!ok) { assembly { revert(add(ret, 32), mload(ret)) } }
//	        return ret;
//	    }
//	}
const (
	govForwarderABIJSON = `[{"inputs":[{"internalType":"address","name":"o","type":"address"}],"stateMutability":"nonpayable","type":"constructor"},{"inputs":[{"internalType":"bytes","name":"data","type":"bytes"}],"name":"exec","outputs":[{"internalType":"bytes","name":"","type":"bytes"}],"stateMutability":"nonpayable","type":"function"},{"inputs":[],"name":"owner","outputs":[{"internalType":"address","name":"","type":"address"}],"stateMutability":"view","type":"function"}]`
	govForwarderBin     = "0x6080604052348015600e575f5ffd5b506040516102cf3803806102cf833981016040819052602b91604e565b5f80546001600160a01b0319166001600160a01b03929092169190911790556079565b5f60208284031215605d575f5ffd5b81516001600160a01b03811681146072575f5ffd5b9392505050565b610249806100865f395ff3fe608060405234801561000f575f5ffd5b5060043610610034575f3560e01c806355f86501146100385780638da5cb5b14610061575b5f5ffd5b61004b610046366004610161565b61008b565b60405161005891906101cf565b60405180910390f35b5f54610073906001600160a01b031681565b6040516001600160a01b039091168152602001610058565b5f546060906001600160a01b031633146100eb5760405162461bcd60e51b815260206004820152601b60248201527f476f76466f727761726465723a206e6f7420746865206f776e65720000000000604482015260640160405180910390fd5b5f5f61c0c06001600160a01b03168585604051610109929190610204565b5f604051808303815f865af19150503d805f8114610142576040519150601f19603f3d011682016040523d82523d5f602084013e610147565b606091505b50915091508161015957805160208201fd5b949350505050565b5f5f60208385031215610172575f5ffd5b823567ffffffffffffffff811115610188575f5ffd5b8301601f81018513610198575f5ffd5b803567ffffffffffffffff8111156101ae575f5ffd5b8560208284010111156101bf575f5ffd5b6020919091019590945092505050565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b818382375f910190815291905056fea2646970667358221220811d34598451ce9b72465888edf7d704dd0e6c19aa26133ab0ec21f37d9cda3a64736f6c634300081e0033"
)

var govForwarderABI = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(govForwarderABIJSON))
	if err != nil {
		panic(err)
	}
	return a
}()

// deployGovForwarder deploys a GovForwarder owned by owner from w.
func deployGovForwarder(t *testing.T, w *testnode.Wallet, owner common.Address) common.Address {
	t.Helper()
	args, err := govForwarderABI.Pack("", owner)
	if err != nil {
		t.Fatal(err)
	}
	data := append(hexutil.MustDecode(govForwarderBin), args...)
	r := w.SendAndWait(t, w.DynamicTx(t, nil, nil, 0, data))
	testnode.MustSucceed(t, r, "deploy GovForwarder")
	return r.ContractAddress
}

// govForwardData is the calldata of GovForwarder.exec(governance call).
func govForwardData(t *testing.T, method string, args ...any) []byte {
	t.Helper()
	data, err := govForwarderABI.Pack("exec", govPack(t, method, args...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// govForward calls method of the governance contract through the
// forwarder fwd from w (its owner), gas estimated, and waits for the
// successful receipt.
func govForward(t *testing.T, w *testnode.Wallet, fwd common.Address, method string, args ...any) *types.Receipt {
	t.Helper()
	r := w.SendAndWait(t, w.DynamicTx(t, &fwd, nil, 0, govForwardData(t, method, args...)))
	testnode.MustSucceed(t, r, "GovForwarder.exec("+method+")")
	return r
}
