package eth

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb/database"
)

// errWalkAborted ends a walk whose caller said stop.
var errWalkAborted = errors.New("state walk aborted")

// stateWalker visits the stored trie nodes of states, storage tries
// included, each distinct node once: a node already seen is not visited
// again, nor is the subtree under it (content addressing: the same hash is
// the same subtree). Pruning marks with it; a pruning node's snapshot
// streams the head state with it.
type stateWalker struct {
	db   database.NodeDatabase
	seen map[common.Hash]struct{}
	// visit, if not nil, receives each node's hash and encoding.
	visit func(hash common.Hash, blob []byte) error
	// aborted, if not nil, is polled now and then; true ends the walk.
	aborted func() bool
}

func newStateWalker(db database.NodeDatabase) *stateWalker {
	return &stateWalker{db: db, seen: make(map[common.Hash]struct{})}
}

// state walks the state at root.
func (w *stateWalker) state(root common.Hash) error {
	if _, ok := w.seen[root]; ok || root == types.EmptyRootHash {
		return nil
	}
	return w.trie(trie.StateTrieID(root), func(it trie.NodeIterator) error {
		var acct types.StateAccount
		if err := rlp.DecodeBytes(it.LeafBlob(), &acct); err != nil {
			return fmt.Errorf("account leaf: %w", err)
		}
		if _, ok := w.seen[acct.Root]; ok || acct.Root == types.EmptyRootHash {
			return nil
		}
		return w.trie(trie.StorageTrieID(root, common.BytesToHash(it.LeafKey()), acct.Root), nil)
	})
}

// trie walks one trie, calling leaf (if not nil) for each leaf under the
// nodes it visits.
func (w *stateWalker) trie(id *trie.ID, leaf func(trie.NodeIterator) error) error {
	tr, err := trie.NewStateTrie(id, w.db)
	if err != nil {
		return err
	}
	it, err := tr.NodeIterator(nil)
	if err != nil {
		return err
	}
	descend := true
	for n := 0; it.Next(descend); n++ {
		if n%4096 == 0 && w.aborted != nil && w.aborted() {
			return errWalkAborted
		}
		descend = true
		if h := it.Hash(); h != (common.Hash{}) {
			if _, ok := w.seen[h]; ok {
				descend = false
				continue
			}
			w.seen[h] = struct{}{}
			if w.visit != nil {
				if err := w.visit(h, it.NodeBlob()); err != nil {
					return err
				}
			}
			continue
		}
		if leaf != nil && it.Leaf() {
			if err := leaf(it); err != nil {
				return err
			}
		}
	}
	return it.Error()
}
