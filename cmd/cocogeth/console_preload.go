package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cocogeth/cocogeth/governance"
)

// consolePreload is the JavaScript the console of `cocogeth attach` runs
// after web3: the coco_ and raft_ namespaces as web3 extensions (globals
// coco and raft), the governance contract as coco.gov, and helpers that
// propose, vote and withdraw and wait for the outcome. __ABI__,
// __ADDRESS__ and __METHODS__ are replaced by the governance ABI, address
// and actions (consoleMethods).
const consolePreload = `
(function () {
	function optNumber(v) { return (v === undefined || v === null) ? v : web3.toHex(v); }
	function optBlock(v) { return (v === undefined || v === null) ? v : web3._extend.formatters.inputBlockNumberFormatter(v); }
	web3._extend({
		property: 'coco',
		methods: [
			new web3._extend.Method({ name: 'constitution', call: 'coco_constitution', params: 1, inputFormatter: [optBlock] }),
			new web3._extend.Method({ name: 'proposals', call: 'coco_proposals', params: 2, inputFormatter: [null, optBlock] }),
			new web3._extend.Method({ name: 'proposal', call: 'coco_proposal', params: 2, inputFormatter: [null, optBlock] }),
			new web3._extend.Method({ name: 'governance', call: 'coco_governance', params: 0 }),
			new web3._extend.Method({ name: 'waitForBlock', call: 'coco_waitForBlock', params: 2, inputFormatter: [web3.toHex, optNumber], outputFormatter: web3.toDecimal }),
			new web3._extend.Method({ name: 'nodeInfo', call: 'coco_nodeInfo', params: 0 })
		]
	});
	web3._extend({
		property: 'raft',
		methods: [
			new web3._extend.Method({ name: 'leader', call: 'raft_leader', params: 0 }),
			new web3._extend.Method({ name: 'role', call: 'raft_role', params: 0 }),
			new web3._extend.Method({ name: 'cluster', call: 'raft_cluster', params: 0 }),
			new web3._extend.Method({ name: 'stats', call: 'raft_stats', params: 0 }),
			new web3._extend.Method({ name: 'addPeer', call: 'raft_addPeer', params: 2 }),
			new web3._extend.Method({ name: 'removePeer', call: 'raft_removePeer', params: 1 })
		]
	});
})();
var coco = web3.coco;
var raft = web3.raft;
(function () {
	var abi = __ABI__;
	var address = '__ADDRESS__';
	coco.address = address;
	coco.abi = abi;
	coco.gov = web3.eth.contract(abi).at(address);

	var methods = __METHODS__;
	var policies = { 'unanimous': 0, 'm-of-n': 1, 'one-of-n': 2, 'majority': 3 };
	var zero32 = '0x' + new Array(65).join('0');

	// split separates the trailing transaction options ({from: …}).
	function split(args) {
		args = Array.prototype.slice.call(args);
		var opts = {};
		if (args.length > 0 && typeof args[args.length - 1] === 'object' && !(args[args.length - 1] instanceof Array)) {
			opts = args.pop();
		}
		if (opts.from === undefined) {
			opts.from = web3.eth.defaultAccount || web3.eth.accounts[0];
		}
		return { args: args, opts: opts };
	}

	// send sends data to the governance contract with room for a deciding
	// ballot, waits for the receipt and returns it.
	function send(data, opts) {
		var tx = { from: opts.from, to: address, data: data };
		if (opts.gas === undefined) {
			tx.gas = web3.eth.estimateGas(tx) * 2 + 300000;
		} else {
			tx.gas = opts.gas;
		}
		var hash = web3.eth.sendTransaction(tx);
		for (var i = 0; i < 600; i++) {
			var r = web3.eth.getTransactionReceipt(hash);
			if (r) {
				if (web3.toDecimal(r.status) !== 1) {
					throw new Error('transaction ' + hash + ' failed in block ' + r.blockNumber);
				}
				return r;
			}
			try { coco.waitForBlock(web3.eth.blockNumber + 1, 1000); } catch (e) { }
		}
		throw new Error('no receipt for ' + hash);
	}

	function topicID(r, name) {
		var sig = web3.sha3(name);
		for (var i = 0; i < r.logs.length; i++) {
			var l = r.logs[i];
			if (l.address.toLowerCase() === address.toLowerCase() && l.topics[0] === sig) {
				return web3.toDecimal(l.topics[1]);
			}
		}
		return null;
	}

	// coco.propose('add-member', 'E', ['0x…'], '0x04…', {from: eth.accounts[0]})
	// sends the proposal, waits for it and returns the proposal id.
	coco.propose = function (kind) {
		var m = methods[kind];
		if (!m) {
			throw new Error('unknown action ' + kind + ' (one of ' + Object.keys(methods).join(', ') + ')');
		}
		var s = split(Array.prototype.slice.call(arguments, 1));
		var args = s.args;
		if (kind === 'set-policy') {
			if (typeof args[0] === 'string') {
				if (!(args[0] in policies)) { throw new Error('unknown policy ' + args[0]); }
				args[0] = policies[args[0]];
			}
			if (args.length < 2) { args.push(0); }
		}
		if ((kind === 'add-member' || kind === 'add-participant') && typeof args[1] === 'string') {
			args[1] = args[1].split(',');
		}
		if (kind === 'set-recovery-threshold' && args[0] === 'majority') { args[0] = 0; }
		if (kind === 'add-member' && args.length < 4) { args.push('0x'); }
		if (kind === 'add-node' && args.length < 5) { args.push(zero32); }
		if (args.length !== m[1]) {
			throw new Error(kind + ' takes ' + m[1] + ' arguments, got ' + args.length);
		}
		var fn = coco.gov[m[0]];
		var r = send(fn.getData.apply(fn, args), s.opts);
		return topicID(r, 'ProposalCreated(uint256,string,uint8,string)');
	};

	// coco.vote(id, true, {from: …}) records a ballot and returns the
	// proposal's state afterwards ("open", "passed", …).
	coco.vote = function (id, approve) {
		var s = split(Array.prototype.slice.call(arguments, 2));
		send(coco.gov.vote.getData(id, approve), s.opts);
		return coco.proposal(id).state;
	};

	// coco.withdraw(id, {from: …}) withdraws an open proposal.
	coco.withdraw = function (id) {
		var s = split(Array.prototype.slice.call(arguments, 1));
		send(coco.gov.withdraw.getData(id), s.opts);
		return coco.proposal(id).state;
	};
})();
`

// writeConsolePreload writes the console's preload script into a new
// temporary file; remove it when the console stops.
func writeConsolePreload() (string, error) {
	abi, err := consoleABI()
	if err != nil {
		return "", err
	}
	methods, err := consoleMethods()
	if err != nil {
		return "", err
	}
	js := strings.NewReplacer("__ABI__", string(abi), "__ADDRESS__", governance.Address.Hex(), "__METHODS__", string(methods)).Replace(consolePreload)
	f, err := os.CreateTemp("", "cocogeth-console-*.js")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(js); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return filepath.Abs(f.Name())
}

// consoleMethods maps each action's name to its propose function and
// number of arguments, from governance's vocabulary and ABI:
// {"add-member": ["proposeAddMember", 4], …}.
func consoleMethods() ([]byte, error) {
	out := map[string][]any{}
	for _, k := range governance.ActionKinds() {
		m, ok := governance.ABI().Methods[k.Method()]
		if !ok {
			return nil, fmt.Errorf("governance ABI has no %s", k.Method())
		}
		out[k.Name()] = []any{k.Method(), len(m.Inputs)}
	}
	return json.Marshal(out)
}

// consoleABI is the governance ABI for the console's web3.js 0.20, which
// calls a function (rather than sending a transaction) only when the ABI
// marks it "constant", as solc did before 0.5: views are marked so.
func consoleABI() ([]byte, error) {
	var items []map[string]any
	if err := json.Unmarshal(governance.ABIJSON, &items); err != nil {
		return nil, err
	}
	for _, it := range items {
		if m, _ := it["stateMutability"].(string); it["type"] == "function" && (m == "view" || m == "pure") {
			it["constant"] = true
		}
	}
	return json.Marshal(items)
}
