package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/holiman/uint256"
)

// The differential test runs one scenario of signed transactions on a
// `cocogeth --dev` process and on go-ethereum's in-process simulated chain
// (ethclient/simulated) built from the same genesis (genesis.Dev(): chain
// config through Osaka and the same alloc), and compares, transaction by
// transaction, everything that does not depend on block context or fees:
// receipts, logs, eth_call results and the state of the touched accounts.

// Fee fields shared by every transaction: high enough for the base fee of
// both chains.
var (
	diffTip    = testnode.Gwei(1)
	diffFeeCap = testnode.Gwei(50)
)

// diffChain is one of the two chains under comparison.
type diffChain struct {
	name   string
	eth    simulated.Client // implemented by *ethclient.Client too
	coco   *ethclient.Client
	commit func() // seals a block after a send (simulated chain only)
}

// diffSender signs transactions from one key with a locally tracked nonce.
type diffSender struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	nonce uint64
}

func newDiffSender(key *ecdsa.PrivateKey) *diffSender {
	return &diffSender{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// diffStep is one transaction of the scenario.
type diffStep struct {
	name       string
	tx         *types.Transaction
	from       *diffSender
	wantStatus uint64
}

// diffCall is one eth_call of the battery run after every step.
type diffCall struct {
	name     string
	from     common.Address
	to       common.Address
	data     []byte
	compare  func(out []byte) []byte // projection of the output to compare; nil = all of it
	skipWhen func() bool
}

// diffCallResult is the outcome of an eth_call.
type diffCallResult struct {
	out     []byte
	err     string
	errData string
}

func TestDifferentialSimulated(t *testing.T) {
	spec := genesis.Dev()
	cfg := spec.ChainConfig()
	if cfg.OsakaTime == nil || cfg.AmsterdamTime != nil || cfg.BPO1Time != nil {
		t.Fatalf("genesis.Dev() chain config is not 'through Osaka only': %+v", cfg)
	}
	if _, ok := spec.Eth.Alloc[testnode.DevAddress]; !ok {
		t.Fatalf("genesis.Dev() does not fund the dev account")
	}

	// Chain A: a real cocogeth --dev process.
	n := startDev(t)
	coco := &diffChain{name: "cocogeth", eth: n.Client(), coco: n.Client()}

	// Chain B: go-ethereum's simulated chain on the same genesis.
	simGenesis := *spec.Eth
	sim := simulated.NewBackend(nil, func(_ *node.Config, ec *ethconfig.Config) {
		ec.Genesis = &simGenesis
		ec.Miner.GasCeil = simGenesis.GasLimit
	})
	t.Cleanup(func() { sim.Close() })
	simc := &diffChain{name: "simulated", eth: sim.Client(), commit: func() { sim.Commit() }}
	chains := []*diffChain{coco, simc}

	// Same chain id, same genesis block, same starting nonces.
	for _, c := range chains {
		id, err := c.eth.ChainID(ctx(t))
		if err != nil || id.Cmp(testnode.DevChainID) != 0 {
			t.Fatalf("%s: eth_chainId = %v, %v; want 1337", c.name, id, err)
		}
	}
	g0 := make([]*types.Header, 2)
	for i, c := range chains {
		h, err := c.eth.HeaderByNumber(ctx(t), big.NewInt(0))
		if err != nil {
			t.Fatalf("%s: genesis header: %v", c.name, err)
		}
		g0[i] = h
	}
	if g0[0].Hash() != g0[1].Hash() || g0[0].Root != g0[1].Root {
		t.Errorf("genesis differs: cocogeth hash %s root %s, simulated hash %s root %s",
			g0[0].Hash(), g0[0].Root, g0[1].Hash(), g0[1].Root)
	}
	if g0[0].GasLimit != g0[1].GasLimit || g0[0].BaseFee.Cmp(g0[1].BaseFee) != 0 {
		t.Errorf("genesis gasLimit/baseFee differ: cocogeth %d/%v, simulated %d/%v",
			g0[0].GasLimit, g0[0].BaseFee, g0[1].GasLimit, g0[1].BaseFee)
	}

	dev := newDiffSender(testnode.DevKey())
	spender := newDiffSender(diffKey("differential spender"))
	authority := newDiffSender(diffKey("differential 7702 authority"))
	for _, c := range chains {
		for _, s := range []*diffSender{dev, spender, authority} {
			nonce, err := c.eth.PendingNonceAt(ctx(t), s.addr)
			if err != nil || nonce != 0 {
				t.Fatalf("%s: nonce of %s = %d, %v; want 0", c.name, s.addr, nonce, err)
			}
		}
	}
	signer := types.NewPragueSigner(testnode.DevChainID)

	tok := testcontracts.MustLoad("TestToken")
	ev := testcontracts.MustLoad("Events")
	fac := testcontracts.MustLoad("Factory")
	bi := testcontracts.MustLoad("BlockInfo")
	child := testcontracts.MustLoad("Child")

	// Addresses are deterministic: contracts from the dev nonces 0..3.
	tokAddr := crypto.CreateAddress(dev.addr, 0)
	evAddr := crypto.CreateAddress(dev.addr, 1)
	facAddr := crypto.CreateAddress(dev.addr, 2)
	biAddr := crypto.CreateAddress(dev.addr, 3)
	child1 := crypto.CreateAddress(facAddr, 1)
	salt := common.HexToHash("0x5a17")
	childInit := append(append([]byte(nil), child.Bytecode...), common.BigToHash(big.NewInt(43)).Bytes()...)
	child2 := crypto.CreateAddress2(facAddr, salt, crypto.Keccak256(childInit))
	r1, r2 := common.HexToAddress("0x00000000000000000000000000000000000d1f01"), common.HexToAddress("0x00000000000000000000000000000000000d1f02")
	r3, r4, r5 := common.HexToAddress("0x00000000000000000000000000000000000d1f03"), common.HexToAddress("0x00000000000000000000000000000000000d1f04"), common.HexToAddress("0x00000000000000000000000000000000000d1f05")
	var failedCreate common.Address // set before the failing creation

	pack := func(a abi.ABI, method string, args ...any) []byte {
		data, err := a.Pack(method, args...)
		if err != nil {
			t.Fatalf("pack %s: %v", method, err)
		}
		return data
	}
	deployData := func(a testcontracts.Artifact, args ...any) []byte {
		data, err := a.DeployData(args...)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	sign := func(s *diffSender, data types.TxData) *types.Transaction {
		tx, err := types.SignNewTx(s.key, signer, data)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		s.nonce++
		return tx
	}
	dyn := func(s *diffSender, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
		if value == nil {
			value = new(big.Int)
		}
		return sign(s, &types.DynamicFeeTx{ChainID: testnode.DevChainID, Nonce: s.nonce, GasTipCap: diffTip, GasFeeCap: diffFeeCap, Gas: gas, To: to, Value: value, Data: data})
	}
	legacy := func(s *diffSender, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
		return sign(s, &types.LegacyTx{Nonce: s.nonce, GasPrice: diffFeeCap, Gas: gas, To: to, Value: value, Data: data})
	}
	al2930 := func(s *diffSender, to *common.Address, value *big.Int, gas uint64, data []byte, al types.AccessList) *types.Transaction {
		return sign(s, &types.AccessListTx{ChainID: testnode.DevChainID, Nonce: s.nonce, GasPrice: diffFeeCap, Gas: gas, To: to, Value: value, Data: data, AccessList: al})
	}

	u := func(x int64) *big.Int { return big.NewInt(x) }
	supply := testnode.Ether(1_000_000)
	precompileInputs := diffPrecompileInputs()

	var steps []diffStep
	add := func(name string, from *diffSender, wantStatus uint64, tx *types.Transaction) {
		steps = append(steps, diffStep{name: name, tx: tx, from: from, wantStatus: wantStatus})
	}
	const ok, fail = types.ReceiptStatusSuccessful, types.ReceiptStatusFailed
	addr := func(a common.Address) *common.Address { return &a }

	// Deployments (dev nonces 0..3).
	add("deploy TestToken", dev, ok, dyn(dev, nil, nil, 3_000_000, deployData(tok, "Diff Token", "DIF", supply)))
	add("deploy Events", dev, ok, dyn(dev, nil, nil, 3_000_000, deployData(ev)))
	add("deploy Factory", dev, ok, dyn(dev, nil, nil, 3_000_000, deployData(fac)))
	add("deploy BlockInfo", dev, ok, dyn(dev, nil, nil, 3_000_000, deployData(bi)))
	add("fund spender (1559 transfer)", dev, ok, dyn(dev, addr(spender.addr), testnode.Ether(10), 21_000, nil))
	// ERC20.
	add("ERC20 transfer", dev, ok, dyn(dev, &tokAddr, nil, 200_000, pack(tok.ABI, "transfer", r1, u(1000))))
	add("ERC20 approve", dev, ok, dyn(dev, &tokAddr, nil, 200_000, pack(tok.ABI, "approve", spender.addr, u(5000))))
	add("ERC20 transferFrom", spender, ok, dyn(spender, &tokAddr, nil, 200_000, pack(tok.ABI, "transferFrom", dev.addr, r2, u(3000))))
	add("ERC20 transferFrom over allowance (revert)", spender, fail, dyn(spender, &tokAddr, nil, 200_000, pack(tok.ABI, "transferFrom", dev.addr, r2, u(999_999))))
	add("ERC20 transfer over balance (revert)", dev, fail, dyn(dev, &tokAddr, nil, 200_000, pack(tok.ABI, "transfer", r1, new(big.Int).Mul(supply, u(2)))))
	add("ERC20 approve to zero", dev, ok, legacy(dev, &tokAddr, new(big.Int), 200_000, pack(tok.ABI, "approve", r2, u(0))))
	// Events.
	add("Events set(5,77)", dev, ok, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "set", u(5), u(77))))
	add("Events set(5,0) (clear, refund)", dev, ok, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "set", u(5), u(0))))
	add("Events set(6,88) in a 2930 tx with an access list", dev, ok, al2930(dev, &evAddr, new(big.Int), 200_000, pack(ev.ABI, "set", u(6), u(88)), types.AccessList{
		{Address: evAddr, StorageKeys: []common.Hash{diffMapSlot(u(6), 0), common.BigToHash(u(1)), common.BigToHash(u(2))}},
	}))
	add("Events emitMany(5)", dev, ok, dyn(dev, &evAddr, nil, 300_000, pack(ev.ABI, "emitMany", u(5))))
	add("Events revertWithReasonTx (revert)", dev, fail, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "revertWithReasonTx", u(3))))
	add("Events revertWithCustomTx (revert)", dev, fail, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "revertWithCustomTx", u(9))))
	add("Events panicDivideTx(0) (panic 0x12)", dev, fail, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "panicDivideTx", u(0))))
	add("Events panicAssert (panic 0x01)", dev, fail, dyn(dev, &evAddr, nil, 200_000, pack(ev.ABI, "panicAssert")))
	add("Events onlyOwner from spender (revert Unauthorized)", spender, fail, dyn(spender, &evAddr, nil, 200_000, pack(ev.ABI, "onlyOwner")))
	add("Events deposit 1 ether (payable)", dev, ok, dyn(dev, &evAddr, testnode.Ether(1), 200_000, pack(ev.ABI, "deposit")))
	add("Events receive() (plain value transfer)", dev, ok, dyn(dev, &evAddr, u(12345), 100_000, nil))
	add("Events deposit from spender", spender, ok, legacy(spender, &evAddr, u(777), 200_000, pack(ev.ABI, "deposit")))
	add("Events burn(100)", dev, ok, dyn(dev, &evAddr, nil, 500_000, pack(ev.ABI, "burn", u(100))))
	add("Events burn(10000) out of gas", dev, fail, dyn(dev, &evAddr, nil, 60_000, pack(ev.ABI, "burn", u(10_000))))
	// Factory.
	add("Factory create(42) with value (CREATE)", dev, ok, dyn(dev, &facAddr, u(1000), 500_000, pack(fac.ABI, "create", u(42))))
	add("Factory create2(43, salt) (CREATE2)", dev, ok, dyn(dev, &facAddr, nil, 500_000, pack(fac.ABI, "create2", u(43), salt)))
	add("Factory create2(43, salt) again (collision, revert)", dev, fail, dyn(dev, &facAddr, nil, 500_000, pack(fac.ABI, "create2", u(43), salt)))
	// A contract creation whose init code reverts.
	failedCreate = crypto.CreateAddress(dev.addr, dev.nonce)
	add("contract creation with reverting init code", dev, fail, dyn(dev, nil, nil, 100_000, common.FromHex("0x60006000fd")))
	// Plain transfers of every tx type.
	add("ETH transfer legacy", dev, ok, legacy(dev, &r3, testnode.Ether(1), 21_000, nil))
	add("ETH transfer 2930", dev, ok, al2930(dev, &r4, testnode.Ether(2), 21_000, nil, nil))
	add("ETH transfer 1559", dev, ok, dyn(dev, &r5, testnode.Ether(3), 21_000, nil))
	add("ETH transfer legacy to a precompile", dev, ok, legacy(dev, addr(common.BytesToAddress([]byte{4})), u(5), 100_000, []byte("identity")))
	// Precompiles called directly by transactions.
	for _, p := range precompileInputs {
		add("precompile tx "+p.name, dev, ok, dyn(dev, &p.addr, nil, 200_000, p.input))
	}
	// EIP-7702: the authority delegates to Events in a set-code tx sent by
	// dev that also calls set(1,2) on the authority; then a plain call.
	auth, err := types.SignSetCode(authority.key, types.SetCodeAuthorization{
		ChainID: *uint256.MustFromBig(testnode.DevChainID), Address: evAddr, Nonce: 0,
	})
	if err != nil {
		t.Fatalf("sign authorization: %v", err)
	}
	add("7702 set-code tx delegating to Events + set(1,2)", dev, ok, sign(dev, &types.SetCodeTx{
		ChainID: uint256.MustFromBig(testnode.DevChainID), Nonce: dev.nonce,
		GasTipCap: uint256.MustFromBig(diffTip), GasFeeCap: uint256.MustFromBig(diffFeeCap),
		Gas: 300_000, To: authority.addr, Value: new(uint256.Int),
		Data:     pack(ev.ABI, "set", u(1), u(2)),
		AuthList: []types.SetCodeAuthorization{auth},
	}))
	add("call the delegated authority set(7,8)", dev, ok, dyn(dev, &authority.addr, nil, 200_000, pack(ev.ABI, "set", u(7), u(8))))

	// Accounts whose state is compared after every step (fee payers are
	// compared by balance plus fees paid).
	eventsSlots := []common.Hash{common.BigToHash(u(1)), common.BigToHash(u(2)), common.BigToHash(u(3))}
	for _, k := range []int64{1, 5, 6, 7} {
		eventsSlots = append(eventsSlots, diffMapSlot(u(k), 0))
	}
	tokSlots := []common.Hash{common.BigToHash(u(2)), common.BigToHash(u(3)), common.BigToHash(u(4))}
	for _, a := range []common.Address{dev.addr, spender.addr, r1, r2} {
		tokSlots = append(tokSlots, diffMapSlot(new(big.Int).SetBytes(a.Bytes()), 0))
	}
	tokSlots = append(tokSlots,
		diffNestedSlot(dev.addr, spender.addr, 1), diffNestedSlot(dev.addr, r2, 1))
	arr := new(big.Int).SetBytes(crypto.Keccak256(common.BigToHash(u(0)).Bytes()))
	facSlots := []common.Hash{common.BigToHash(u(0)), common.BigToHash(arr), common.BigToHash(new(big.Int).Add(arr, u(1))), common.BigToHash(new(big.Int).Add(arr, u(2)))}
	childSlots := []common.Hash{common.BigToHash(u(0)), common.BigToHash(u(1))}
	type watched struct {
		name  string
		addr  common.Address
		slots []common.Hash
		payer *diffSender
	}
	accounts := []watched{
		{"TestToken", tokAddr, tokSlots, nil},
		{"Events", evAddr, eventsSlots, nil},
		{"Factory", facAddr, facSlots, nil},
		{"BlockInfo", biAddr, childSlots, nil},
		{"Child(CREATE)", child1, childSlots, nil},
		{"Child(CREATE2)", child2, childSlots, nil},
		{"failed-create address", failedCreate, nil, nil},
		{"7702 authority", authority.addr, eventsSlots, nil},
		{"r1", r1, nil, nil}, {"r2", r2, nil, nil}, {"r3", r3, nil, nil}, {"r4", r4, nil, nil}, {"r5", r5, nil, nil},
		{"dev (fee payer)", dev.addr, nil, dev},
		{"spender (fee payer)", spender.addr, nil, spender},
	}
	for _, p := range precompileInputs {
		accounts = append(accounts, watched{"precompile " + p.name, p.addr, nil, nil})
	}
	accounts = append(accounts, watched{"precompile identity", common.BytesToAddress([]byte{4}), nil, nil})

	// The eth_call battery.
	var calls []diffCall
	view := func(name string, from, to common.Address, a abi.ABI, method string, args ...any) {
		calls = append(calls, diffCall{name: name + "." + method + fmt.Sprintf("%v", args), from: from, to: to, data: pack(a, method, args...)})
	}
	for _, a := range []common.Address{dev.addr, spender.addr, r1, r2} {
		view("TestToken", dev.addr, tokAddr, tok.ABI, "balanceOf", a)
	}
	view("TestToken", dev.addr, tokAddr, tok.ABI, "allowance", dev.addr, spender.addr)
	view("TestToken", dev.addr, tokAddr, tok.ABI, "allowance", dev.addr, r2)
	view("TestToken", dev.addr, tokAddr, tok.ABI, "totalSupply")
	view("TestToken", dev.addr, tokAddr, tok.ABI, "name")
	view("TestToken", dev.addr, tokAddr, tok.ABI, "symbol")
	view("TestToken", dev.addr, tokAddr, tok.ABI, "decimals")
	view("TestToken", dev.addr, tokAddr, tok.ABI, "transfer", r1, new(big.Int).Mul(supply, u(2))) // reverts
	for _, target := range []struct {
		name string
		addr common.Address
	}{{"Events", evAddr}, {"Authority", authority.addr}} {
		for _, k := range []int64{1, 5, 6, 7} {
			view(target.name, dev.addr, target.addr, ev.ABI, "get", u(k))
		}
		view(target.name, dev.addr, target.addr, ev.ABI, "lastValue")
		view(target.name, dev.addr, target.addr, ev.ABI, "counter")
		view(target.name, dev.addr, target.addr, ev.ABI, "owner")
		view(target.name, dev.addr, target.addr, ev.ABI, "multi")
	}
	view("Events", dev.addr, evAddr, ev.ABI, "revertWithReason")
	view("Events", dev.addr, evAddr, ev.ABI, "revertWithCustom", u(7))
	view("Events", dev.addr, evAddr, ev.ABI, "revertEmpty")
	view("Events", spender.addr, evAddr, ev.ABI, "onlyOwner")
	view("Events", dev.addr, evAddr, ev.ABI, "panicAssert")
	view("Events", dev.addr, evAddr, ev.ABI, "panicDivide", u(0))
	view("Events", dev.addr, evAddr, ev.ABI, "panicOverflow", u(1))
	view("Factory", dev.addr, facAddr, fac.ABI, "count")
	for i := int64(0); i < 3; i++ {
		view("Factory", dev.addr, facAddr, fac.ABI, "children", u(i))
	}
	view("Factory", dev.addr, facAddr, fac.ABI, "predict", u(43), salt)
	for _, c := range []common.Address{child1, child2} {
		view("Child", dev.addr, c, child.ABI, "parent")
		view("Child", dev.addr, c, child.ABI, "value")
	}
	for _, a := range []common.Address{r3, evAddr, child1, authority.addr} {
		view("BlockInfo", dev.addr, biAddr, bi.ABI, "balanceOf", a)
	}
	// info() depends on the block; only its chainid (4th word) must agree.
	calls = append(calls, diffCall{name: "BlockInfo.info().chainid", from: dev.addr, to: biAddr, data: pack(bi.ABI, "info"),
		compare: func(out []byte) []byte {
			if len(out) < 4*32 {
				return out
			}
			return out[3*32 : 4*32]
		}})
	for _, p := range precompileInputs {
		calls = append(calls, diffCall{name: "precompile " + p.name, from: dev.addr, to: p.addr, data: p.input})
	}

	// Run the scenario.
	fees := map[common.Address][2]*big.Int{}
	for _, s := range []*diffSender{dev, spender} {
		fees[s.addr] = [2]*big.Int{new(big.Int), new(big.Int)}
	}
	diffs := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		diffs++
		t.Errorf(format, args...)
	}
	for i, st := range steps {
		var rs [2]*types.Receipt
		for ci, c := range chains {
			r, err := c.send(t, st.tx)
			if err != nil {
				t.Fatalf("step %d %q on %s: %v", i, st.name, c.name, err)
			}
			rs[ci] = r
			// Per-chain fee accounting: the payer pays value + gasUsed*effectiveGasPrice.
			header, err := c.eth.HeaderByNumber(ctx(t), r.BlockNumber)
			if err != nil {
				t.Fatalf("%s: header %v: %v", c.name, r.BlockNumber, err)
			}
			wantPrice := diffEffectivePrice(st.tx, header.BaseFee)
			if r.EffectiveGasPrice == nil || r.EffectiveGasPrice.Cmp(wantPrice) != 0 {
				errorf("step %d %q on %s: effectiveGasPrice %v, want %v (baseFee %v)", i, st.name, c.name, r.EffectiveGasPrice, wantPrice, header.BaseFee)
			}
			fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
			if header.Coinbase == st.from.addr { // the payer gets the tip back
				fee.Sub(fee, new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), new(big.Int).Sub(r.EffectiveGasPrice, header.BaseFee)))
			}
			fees[st.from.addr][ci].Add(fees[st.from.addr][ci], fee)
			before, err1 := c.eth.BalanceAt(ctx(t), st.from.addr, new(big.Int).Sub(r.BlockNumber, common.Big1))
			after, err2 := c.eth.BalanceAt(ctx(t), st.from.addr, r.BlockNumber)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: balance of payer around block %v: %v, %v", c.name, r.BlockNumber, err1, err2)
			}
			spent := new(big.Int).Sub(before, after)
			want := new(big.Int).Add(fee, diffValueOut(st, r))
			if spent.Cmp(want) != 0 {
				errorf("step %d %q on %s: payer balance dropped by %v, want value+gasUsed*effectiveGasPrice = %v", i, st.name, c.name, spent, want)
			}
		}
		a, b := rs[0], rs[1]
		t.Logf("step %2d %-52s status %d/%d gasUsed %d/%d", i, st.name, a.Status, b.Status, a.GasUsed, b.GasUsed)
		if a.Status != st.wantStatus || b.Status != st.wantStatus {
			errorf("step %d %q: status cocogeth %d, simulated %d; want %d", i, st.name, a.Status, b.Status, st.wantStatus)
		}
		for _, d := range diffReceipts(a, b) {
			errorf("step %d %q: receipt %s", i, st.name, d)
		}
		// eth_call battery on the resulting state.
		for _, cl := range calls {
			ra, rb := coco.call(cl), simc.call(cl)
			if !bytes.Equal(ra.out, rb.out) || ra.err != rb.err || ra.errData != rb.errData {
				errorf("step %d %q: eth_call %s: cocogeth (out %x err %q data %s), simulated (out %x err %q data %s)",
					i, st.name, cl.name, ra.out, ra.err, ra.errData, rb.out, rb.err, rb.errData)
			}
		}
		// State of the watched accounts.
		for _, w := range accounts {
			var st0, st1 diffAccount
			for ci, c := range chains {
				s, err := c.account(w.addr, w.slots)
				if err != nil {
					t.Fatalf("%s: state of %s: %v", c.name, w.name, err)
				}
				if w.payer != nil {
					s.balance.Add(s.balance, fees[w.addr][ci])
				}
				if ci == 0 {
					st0 = s
				} else {
					st1 = s
				}
			}
			for _, d := range st0.diff(st1, w.payer != nil) {
				errorf("step %d %q: account %s (%s): %s", i, st.name, w.name, w.addr, d)
			}
		}
	}
	if diffs == 0 {
		t.Logf("%d transactions, %d eth_calls and %d accounts compared after each: no difference", len(steps), len(calls), len(accounts))
	}
}

// send submits tx and returns its receipt once the chain's head includes it.
func (c *diffChain) send(t *testing.T, tx *types.Transaction) (*types.Receipt, error) {
	cx, cancel := context.WithTimeout(context.Background(), testnode.ReceiptTimeout)
	defer cancel()
	if err := c.eth.SendTransaction(cx, tx); err != nil {
		return nil, fmt.Errorf("eth_sendRawTransaction: %w", err)
	}
	if c.commit != nil {
		c.commit()
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, err := c.eth.TransactionReceipt(cx, tx.Hash())
			if err == nil || !errors.Is(err, ethereum.NotFound) || time.Now().After(deadline) {
				return r, err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return testnode.WaitReceipt(cx, c.coco, tx.Hash())
}

// call runs an eth_call on the latest state.
func (c *diffChain) call(cl diffCall) diffCallResult {
	cx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	to := cl.to
	out, err := c.eth.CallContract(cx, ethereum.CallMsg{From: cl.from, To: &to, Data: cl.data, Gas: 5_000_000}, nil)
	var res diffCallResult
	if err != nil {
		res.err = err.Error()
		var de rpc.DataError
		if errors.As(err, &de) {
			res.errData = fmt.Sprint(de.ErrorData())
		}
		return res
	}
	if cl.compare != nil {
		out = cl.compare(out)
	}
	res.out = out
	return res
}

type diffAccount struct {
	balance *big.Int
	nonce   uint64
	code    []byte
	slots   map[common.Hash]common.Hash
}

// account reads the latest balance, nonce, code and slots of addr.
func (c *diffChain) account(addr common.Address, slots []common.Hash) (diffAccount, error) {
	cx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var a diffAccount
	var err error
	if a.balance, err = c.eth.BalanceAt(cx, addr, nil); err != nil {
		return a, err
	}
	if a.nonce, err = c.eth.NonceAt(cx, addr, nil); err != nil {
		return a, err
	}
	if a.code, err = c.eth.CodeAt(cx, addr, nil); err != nil {
		return a, err
	}
	a.slots = map[common.Hash]common.Hash{}
	for _, s := range slots {
		v, err := c.eth.StorageAt(cx, addr, s, nil)
		if err != nil {
			return a, err
		}
		a.slots[s] = common.BytesToHash(v)
	}
	return a, nil
}

func (a diffAccount) diff(b diffAccount, payer bool) []string {
	var out []string
	if a.balance.Cmp(b.balance) != 0 {
		what := "balance"
		if payer {
			what = "balance + fees paid"
		}
		out = append(out, fmt.Sprintf("%s cocogeth %v, simulated %v", what, a.balance, b.balance))
	}
	if a.nonce != b.nonce {
		out = append(out, fmt.Sprintf("nonce cocogeth %d, simulated %d", a.nonce, b.nonce))
	}
	if !bytes.Equal(a.code, b.code) {
		out = append(out, fmt.Sprintf("code cocogeth %d bytes (%x), simulated %d bytes (%x)", len(a.code), crypto.Keccak256(a.code), len(b.code), crypto.Keccak256(b.code)))
	}
	for k, v := range a.slots {
		if b.slots[k] != v {
			out = append(out, fmt.Sprintf("slot %s cocogeth %s, simulated %s", k, v, b.slots[k]))
		}
	}
	return out
}

// diffReceipts lists the differences between two receipts of the same
// transaction in fields that do not depend on the block or the fees.
func diffReceipts(a, b *types.Receipt) []string {
	var out []string
	f := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			out = append(out, fmt.Sprintf("%s: cocogeth %v, simulated %v", name, x, y))
		}
	}
	f("type", a.Type, b.Type)
	f("status", a.Status, b.Status)
	f("gasUsed", a.GasUsed, b.GasUsed)
	f("cumulativeGasUsed", a.CumulativeGasUsed, b.CumulativeGasUsed)
	f("contractAddress", a.ContractAddress, b.ContractAddress)
	f("txHash", a.TxHash, b.TxHash)
	f("blobGasUsed", a.BlobGasUsed, b.BlobGasUsed)
	f("logsBloom", hexutil.Bytes(a.Bloom[:]), hexutil.Bytes(b.Bloom[:]))
	f("len(logs)", len(a.Logs), len(b.Logs))
	for i := 0; i < len(a.Logs) && i < len(b.Logs); i++ {
		la, lb := a.Logs[i], b.Logs[i]
		f(fmt.Sprintf("logs[%d].address", i), la.Address, lb.Address)
		f(fmt.Sprintf("logs[%d].topics", i), la.Topics, lb.Topics)
		f(fmt.Sprintf("logs[%d].data", i), hexutil.Bytes(la.Data), hexutil.Bytes(lb.Data))
		f(fmt.Sprintf("logs[%d].removed", i), la.Removed, lb.Removed)
		f(fmt.Sprintf("logs[%d].txHash", i), la.TxHash, lb.TxHash)
	}
	return out
}

// diffEffectivePrice is the price per gas the tx pays in a block of baseFee.
func diffEffectivePrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	switch tx.Type() {
	case types.LegacyTxType, types.AccessListTxType:
		return tx.GasPrice()
	}
	p := new(big.Int).Add(baseFee, tx.GasTipCap())
	if p.Cmp(tx.GasFeeCap()) > 0 {
		p.Set(tx.GasFeeCap())
	}
	return p
}

// diffValueOut is the value the payer sends (nothing if the tx failed).
func diffValueOut(st diffStep, r *types.Receipt) *big.Int {
	if r.Status != types.ReceiptStatusSuccessful {
		return new(big.Int)
	}
	return st.tx.Value()
}

// diffKey derives a deterministic private key from a label.
func diffKey(label string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(label)))
	if err != nil {
		panic(err)
	}
	return k
}

// diffMapSlot is the storage slot of mapping[key] for a mapping at slot.
func diffMapSlot(key *big.Int, slot int64) common.Hash {
	return crypto.Keccak256Hash(common.BigToHash(key).Bytes(), common.BigToHash(big.NewInt(slot)).Bytes())
}

// diffNestedSlot is the slot of mapping[a][b] for a nested mapping at slot.
func diffNestedSlot(a, b common.Address, slot int64) common.Hash {
	inner := crypto.Keccak256Hash(common.BytesToHash(a.Bytes()).Bytes(), common.BigToHash(big.NewInt(slot)).Bytes())
	return crypto.Keccak256Hash(common.BytesToHash(b.Bytes()).Bytes(), inner.Bytes())
}

type diffPrecompile struct {
	name  string
	addr  common.Address
	input []byte
}

// diffPrecompileInputs are valid inputs of a few precompiles, from the
// Frontier set to Osaka's P256VERIFY. None of the test contracts calls a
// precompile, so transactions and eth_calls address them directly.
func diffPrecompileInputs() []diffPrecompile {
	key := diffKey("differential precompile signer")
	hash := crypto.Keccak256([]byte("differential"))
	sig, err := crypto.Sign(hash, key)
	if err != nil {
		panic(err)
	}
	ecrec := append(append(append(append([]byte(nil), hash...), common.LeftPadBytes([]byte{sig[64] + 27}, 32)...), sig[:32]...), sig[32:64]...)
	// modexp: 3^5 mod 7 with 1-byte operands.
	modexp := append(append(append(common.LeftPadBytes([]byte{1}, 32), common.LeftPadBytes([]byte{1}, 32)...), common.LeftPadBytes([]byte{1}, 32)...), 3, 5, 7)
	// P256VERIFY: the first valid vector of go-ethereum's p256Verify tests (RIP-7212).
	p256 := common.FromHex("4cee90eb86eaa050036147a12d49004b6b9c72bd725d39d4785011fe190f0b4da73bd4903f0ce3b639bbbf6e8e80d16931ff4bcf5993d58468e8fb19086e8cac36dbcd03009df8c59286b162af3bd7fcc0450c9aa81be5d10d312af6c66b1d604aebd3099c618202fcfe16ae7770b0c49ab5eadf74b754204a3bb6060e44eff37618b065f9832de4ca6ca971a7a1adc826d0f7c00181a5fb2ddf79ae00b4e10e")
	return []diffPrecompile{
		{"ecrecover", common.BytesToAddress([]byte{1}), ecrec},
		{"sha256", common.BytesToAddress([]byte{2}), []byte("differential")},
		{"ripemd160", common.BytesToAddress([]byte{3}), []byte("differential")},
		{"modexp", common.BytesToAddress([]byte{5}), modexp},
		{"bls12 G1ADD (infinity)", common.BytesToAddress([]byte{0x0b}), make([]byte, 256)},
		{"p256verify", common.BytesToAddress([]byte{1, 0}), p256},
	}
}
