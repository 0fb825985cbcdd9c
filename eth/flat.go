package eth

import (
	"bytes"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state/snapshot"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/triedb"
)

// flatLayers is how many recent blocks keep their flat change as an
// in-memory layer above the flat state on disk. Reads of older states go
// through the trie, as they always can.
const flatLayers = 16

// flatCacheMB is the read cache of the flat state on disk.
const flatCacheMB = 64

// flatState is the chain's flat state: go-ethereum's snapshot tree over the
// chain database, which keeps every account and storage slot under its key
// hash, so that reading one is a lookup instead of a walk down the Merkle
// trie. The head (and any block being built on it) reads through it: the
// pool's nonces and balances, the builder, eth_call, eth_getBalance, the
// confidentiality gate.
//
// It is a cache of the trie, never the state of record: every block's root
// is the trie's, and a read the flat state cannot answer (a state older
// than its layers, a range not yet generated, a layer just flattened)
// falls through to the trie. Whenever it loses track of the chain — a
// crash before its journal was written, a database replaced by a Raft
// snapshot, ledger entries of the first format that lack the flat change —
// it is regenerated from the trie in the background.
type flatState struct {
	tree *snapshot.Tree
	mu   sync.Mutex // serialises the commit-side changes below
	off  bool       // disabled until an entry with a flat change arrives
}

// openFlatState loads the flat state of db, or starts regenerating it from
// the trie at head when it is missing or does not match.
func openFlatState(db ethdb.KeyValueStore, tdb *triedb.Database, head common.Hash) (*flatState, error) {
	tree, err := snapshot.New(snapshot.Config{CacheSize: flatCacheMB, AsyncBuild: true}, db, tdb, head)
	if err != nil {
		return nil, err
	}
	return &flatState{tree: tree}, nil
}

// add makes the flat change of a block executed here a layer on top of its
// parent's, so the next block built before this one commits reads it. A
// parent without a layer is left for commit to repair.
func (f *flatState) add(root, parent common.Hash, ws *WriteSet) {
	if f.tree.Snapshot(root) != nil || f.tree.Snapshot(parent) == nil {
		return
	}
	if err := f.tree.Update(root, parent, ws.flatAccounts(), ws.flatStorage()); err != nil {
		log.Debug("Flat state layer not added", "root", root, "err", err)
	}
}

// commit follows a committed block: it adds its layer if the block was
// built elsewhere and flattens layers below the most recent flatLayers to
// disk. It runs under the chain's write lock, after the block is on disk.
func (f *flatState) commit(root, parent common.Hash, ws *WriteSet) {
	if root == parent {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tree.Snapshot(root) == nil {
		if !ws.flat {
			if !f.off {
				log.Info("Flat state suspended: ledger entries without flat changes; reads use the trie")
				f.tree.Disable()
				f.off = true
			}
			return
		}
		if f.tree.Snapshot(parent) == nil {
			log.Info("Regenerating the flat state from the trie", "root", parent)
			f.tree.Rebuild(parent, true)
			f.off = false
		}
		if err := f.tree.Update(root, parent, ws.flatAccounts(), ws.flatStorage()); err != nil {
			log.Warn("Flat state lost track; regenerating it from the trie", "root", root, "err", err)
			f.tree.Rebuild(root, true)
			return
		}
	}
	if err := f.tree.Cap(root, flatLayers); err != nil {
		log.Warn("Flat state could not flatten its oldest layers", "root", root, "err", err)
	}
}

// disable stops generation and drops every layer; reads use the trie until
// rebuild. Called before the database under it is replaced.
func (f *flatState) disable() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tree.Disable()
	f.off = true
}

// rebuild regenerates the flat state from the trie at root.
func (f *flatState) rebuild(root common.Hash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tree.Rebuild(root, true)
	f.off = false
}

// close writes the in-memory layers to the database's journal, so the next
// start resumes without regenerating, and stops any generation.
func (f *flatState) close(head common.Hash) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.off {
		if _, err := f.tree.Journal(head); err != nil {
			log.Debug("Flat state not journalled; it is regenerated at the next start", "err", err)
		}
	}
	f.tree.Release()
}

// isFlatStateKey tells the keys of the flat state and its bookkeeping; they
// do not travel in Raft snapshots (the installing node regenerates them
// from the trie). Trie nodes have 32-byte keys, flat entries 33 and 65.
func isFlatStateKey(k []byte) bool {
	switch {
	case len(k) == 1+common.HashLength && bytes.HasPrefix(k, rawdb.SnapshotAccountPrefix):
		return true
	case len(k) == 1+2*common.HashLength && bytes.HasPrefix(k, rawdb.SnapshotStoragePrefix):
		return true
	}
	for _, m := range flatMetaKeys {
		if bytes.Equal(k, m) {
			return true
		}
	}
	return false
}

var flatMetaKeys = [][]byte{
	rawdb.SnapshotRootKey, []byte("SnapshotJournal"), []byte("SnapshotGenerator"),
	[]byte("SnapshotRecovery"), []byte("SnapshotDisabled"), []byte("SnapshotSyncStatus"),
}
