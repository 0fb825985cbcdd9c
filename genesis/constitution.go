package genesis

import (
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
)

// installConstitution puts the genesis constitution into the genesis
// allocation: the governance account with its code, nonce and the storage
// governance.Genesis.Install writes, so the genesis state root covers it.
func installConstitution(g *core.Genesis, cg *governance.Genesis) error {
	base, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		return err
	}
	rec := &recordingState{StateDB: base, storage: make(map[common.Hash]common.Hash)}
	if err := cg.Install(rec); err != nil {
		return err
	}
	acc := g.Alloc[governance.Address]
	acc.Code = base.GetCode(governance.Address)
	acc.Nonce = base.GetNonce(governance.Address)
	if acc.Balance == nil {
		acc.Balance = base.GetBalance(governance.Address).ToBig()
	}
	acc.Storage = make(map[common.Hash]common.Hash, len(rec.storage))
	for k, v := range rec.storage {
		if v != (common.Hash{}) {
			acc.Storage[k] = v
		}
	}
	if g.Alloc == nil {
		g.Alloc = make(types.GenesisAlloc)
	}
	g.Alloc[governance.Address] = acc
	return nil
}

// recordingState records the storage a constitution install writes.
type recordingState struct {
	*state.StateDB
	storage map[common.Hash]common.Hash
}

func (r *recordingState) SetState(addr common.Address, key, value common.Hash) common.Hash {
	if addr == governance.Address {
		r.storage[key] = value
	}
	return r.StateDB.SetState(addr, key, value)
}
