package confidential

import (
	"bytes"
	"context"
	_ "embed"

	"github.com/cocogeth/cocogeth/ethapi"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rpc"
)

// ABIJSON is the ABI of ICocoConfidential (ICocoConfidential.sol).
//
//go:embed abi.json
var ABIJSON string

var (
	hooksABI = mustABI(ABIJSON)
	// InterfaceID is ICocoConfidential's ERC-165 interface id: the XOR of
	// its two selectors.
	InterfaceID = interfaceID(hooksABI)
	// supportsInterface(bytes4), ERC-165.
	supportsInterfaceSelector = []byte{0x01, 0xff, 0xc9, 0xa7}
)

func mustABI(js string) abi.ABI {
	a, err := abi.JSON(bytes.NewReader([]byte(js)))
	if err != nil {
		panic(err)
	}
	return a
}

func interfaceID(a abi.ABI) [4]byte {
	var id [4]byte
	for _, m := range a.Methods {
		for i := range id {
			id[i] ^= m.ID[i]
		}
	}
	return id
}

// Gas of the calls the node makes to contracts: ERC-165 gives
// supportsInterface 30,000; a hook gets enough for real rules, and no more,
// so a looping hook costs the node little and means "no".
const (
	supportsInterfaceGas = 30_000
	hookGas              = 1_000_000
)

// policy evaluates contracts' declarations and hooks over the chain of a
// backend.
type policy struct {
	b     Backend
	known *lru.Cache[common.Hash, bool] // code hash → confidential
}

// Backend is what the policy reads: the state after a block, and the
// node's EVM on it.
type Backend interface {
	HeaderByNumber(ctx context.Context, n rpc.BlockNumber) (*types.Header, error)
	HeaderByHash(ctx context.Context, hash common.Hash) (*types.Header, error)
	StateAndHeaderByNumberOrHash(ctx context.Context, bnh rpc.BlockNumberOrHash) (*state.StateDB, *types.Header, error)
	ChainContext() core.ChainContext
	NewEVM(blockCtx vm.BlockContext, st *state.StateDB, cfg vm.Config) *vm.EVM
}

func newPolicy(b Backend) *policy {
	return &policy{b: b, known: lru.NewCache[common.Hash, bool](4096)}
}

// staticCall calls to in st, read-only, with gas; any failure is nil.
func (p *policy) staticCall(st *state.StateDB, header *types.Header, to common.Address, input []byte, gas uint64) []byte {
	evm := p.b.NewEVM(core.NewEVMBlockContext(header, p.b.ChainContext(), nil), st, vm.Config{NoBaseFee: true})
	out, _, err := evm.StaticCall(common.Address{}, to, input, vm.NewGasBudget(gas, 0))
	if err != nil {
		return nil
	}
	return out
}

// isTrue reports whether a call returned exactly an ABI-encoded true.
func isTrue(out []byte) bool {
	return len(out) == 32 && out[31] == 1 && bytes.Count(out[:31], []byte{0}) == 31
}

// confidential reports whether the contract at addr answers
// supportsInterface(ICocoConfidential) in st. The answer is a property of
// the code, remembered by code hash.
func (p *policy) confidential(st *state.StateDB, header *types.Header, addr common.Address) bool {
	codeHash := st.GetCodeHash(addr)
	if st.Error() != nil {
		return true // a state that cannot be read shows nothing
	}
	if codeHash == (common.Hash{}) || codeHash == types.EmptyCodeHash {
		return false
	}
	if v, ok := p.known.Get(codeHash); ok {
		return v
	}
	input := make([]byte, 36)
	copy(input, supportsInterfaceSelector)
	copy(input[4:], InterfaceID[:])
	v := isTrue(p.staticCall(st.Copy(), header, addr, input, supportsInterfaceGas))
	p.known.Add(codeHash, v)
	return v
}

// hook calls a hook of a confidential contract; true only for true.
func (p *policy) hook(st *state.StateDB, header *types.Header, addr common.Address, method string, args ...any) bool {
	input, err := hooksABI.Pack(method, args...)
	if err != nil {
		return false
	}
	return isTrue(p.staticCall(st.Copy(), header, addr, input, hookGas))
}

// blockStates opens the state after blocks, each once.
type blockStates struct {
	ctx    context.Context
	b      Backend
	states map[common.Hash]*state.StateDB
	heads  map[common.Hash]*types.Header
}

func newBlockStates(ctx context.Context, b Backend) *blockStates {
	return &blockStates{ctx: ctx, b: b, states: make(map[common.Hash]*state.StateDB), heads: make(map[common.Hash]*types.Header)}
}

func (s *blockStates) at(hash common.Hash) (*state.StateDB, *types.Header) {
	if st, ok := s.states[hash]; ok {
		return st, s.heads[hash]
	}
	st, h := ethapi.VisibilityState(s.ctx, s.b, hash)
	s.states[hash], s.heads[hash] = st, h
	return st, h
}

// readerOf is the address hooks are asked about: the caller's, or the
// zero address for an anonymous one.
func readerOf(reader *common.Address) common.Address {
	if reader == nil {
		return common.Address{}
	}
	return *reader
}

// filterLogs keeps the logs reader may see: every log of a public
// contract, and those of a confidential one its canReadLog admits at the
// log's block. A log whose block cannot be read is not shown.
func (p *policy) filterLogs(ctx context.Context, reader *common.Address, logs []*types.Log) []*types.Log {
	states := newBlockStates(ctx, p.b)
	out := logs[:0:0]
	for _, l := range logs {
		st, h := states.at(l.BlockHash)
		if st == nil {
			continue
		}
		if !p.confidential(st, h, l.Address) {
			out = append(out, l)
			continue
		}
		if p.hook(st, h, l.Address, "canReadLog", readerOf(reader), l.Topics, l.Data) {
			out = append(out, l)
		}
	}
	return out
}

// canReadTx reports whether reader may see tx, sent by sender, in the
// state st after header: always for a transaction to a public contract or
// account and for its sender; otherwise as the recipient's canReadTx says.
func (p *policy) canReadTx(st *state.StateDB, header *types.Header, reader *common.Address, tx *types.Transaction, sender common.Address) bool {
	to := tx.To()
	if to == nil || !p.confidential(st, header, *to) {
		return true
	}
	if reader != nil && *reader == sender {
		return true
	}
	return p.hook(st, header, *to, "canReadTx", readerOf(reader), sender, tx.Data())
}
