package eth

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
)

// ErrDivergence reports that a ledger entry does not fit this node's chain:
// a block that does not extend the head, or a write set whose root does not
// match its header. It is a compromise signal; the node must stop.
var ErrDivergence = errors.New("chain divergence")

// HashBlob is a content-addressed blob: a trie node or contract code.
type HashBlob struct {
	Hash common.Hash
	Blob []byte
}

// FlatStorage is the flat-state change of one account's storage: slot
// hashes and their new values (empty for a deleted slot).
type FlatStorage struct {
	Account common.Hash // hash of the address
	Slots   []HashBlob
}

// WriteSet is everything a block changes in the state database: the new
// trie nodes (hash scheme, so content-addressed) and new contract codes,
// and the same change in flat form (accounts and slots by key hash, as
// go-ethereum's state snapshot keeps them). It is produced once by the
// leader; applying it needs neither the EVM nor any Merkle hashing.
type WriteSet struct {
	Root  common.Hash // state root after the block
	Nodes []HashBlob
	Codes []HashBlob
	// Accounts holds the new slim-RLP accounts by address hash, empty for
	// a deleted account; Storage the changed slots. flat tells that they
	// were carried at all (entries of the first format lack them).
	Accounts []HashBlob
	Storage  []FlatStorage
	flat     bool
}

// newWriteSet extracts the write set from go-ethereum's state update.
func newWriteSet(u *state.StateUpdate) *WriteSet {
	ws := &WriteSet{Root: u.Root, flat: true}
	if u.Empty() {
		return ws
	}
	accounts, _, storages, _ := u.EncodeMPTState()
	ws.Accounts = sortedBlobs(accounts)
	ws.Storage = make([]FlatStorage, 0, len(storages))
	for _, h := range slices.SortedFunc(maps.Keys(storages), hashCmp) {
		ws.Storage = append(ws.Storage, FlatStorage{Account: h, Slots: sortedBlobs(storages[h])})
	}
	for _, code := range u.Codes {
		ws.Codes = append(ws.Codes, HashBlob{Hash: code.Hash, Blob: code.Blob})
	}
	if u.Nodes != nil {
		n := 0
		for _, set := range u.Nodes.Sets {
			n += len(set.Nodes)
		}
		ws.Nodes = make([]HashBlob, 0, n)
		for _, set := range u.Nodes.Sets {
			for _, node := range set.Nodes {
				if node.IsDeleted() {
					continue // hash scheme: nodes are never deleted in place
				}
				ws.Nodes = append(ws.Nodes, HashBlob{Hash: node.Hash, Blob: node.Blob})
			}
		}
	}
	return ws
}

func hashCmp(a, b common.Hash) int { return bytes.Compare(a[:], b[:]) }

// sortedBlobs lists m by key, so that an entry's bytes depend only on its
// content.
func sortedBlobs(m map[common.Hash][]byte) []HashBlob {
	out := make([]HashBlob, 0, len(m))
	for _, h := range slices.SortedFunc(maps.Keys(m), hashCmp) {
		out = append(out, HashBlob{Hash: h, Blob: m[h]})
	}
	return out
}

// flatAccounts and flatStorage give the flat change in the form of
// go-ethereum's snapshot tree (a nil value deletes).
func (ws *WriteSet) flatAccounts() map[common.Hash][]byte {
	m := make(map[common.Hash][]byte, len(ws.Accounts))
	for _, a := range ws.Accounts {
		m[a.Hash] = nilIfEmpty(a.Blob)
	}
	return m
}

func (ws *WriteSet) flatStorage() map[common.Hash]map[common.Hash][]byte {
	m := make(map[common.Hash]map[common.Hash][]byte, len(ws.Storage))
	for _, s := range ws.Storage {
		slots := make(map[common.Hash][]byte, len(s.Slots))
		for _, x := range s.Slots {
			slots[x.Hash] = nilIfEmpty(x.Blob)
		}
		m[s.Account] = slots
	}
	return m
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// size is about the bytes write puts into a batch.
func (ws *WriteSet) size() int {
	n := 0
	for _, x := range ws.Nodes {
		n += len(x.Blob) + 40
	}
	for _, x := range ws.Codes {
		n += len(x.Blob) + 40
	}
	return n
}

// write puts the write set into a batch.
func (ws *WriteSet) write(w ethdb.KeyValueWriter) {
	for _, n := range ws.Nodes {
		rawdb.WriteLegacyTrieNode(w, n.Hash, n.Blob)
	}
	for _, c := range ws.Codes {
		rawdb.WriteCode(w, c.Hash, c.Blob)
	}
}

// verify performs the cheap checks a follower can afford: the new root node
// is present and hashes to the header's state root. When the state did not
// change the root node is the parent's and is not carried.
func (ws *WriteSet) verify(stateRoot, parentRoot common.Hash) error {
	if ws.Root != stateRoot {
		return fmt.Errorf("%w: write set root %s, header root %s", ErrDivergence, ws.Root.Hex(), stateRoot.Hex())
	}
	if stateRoot == parentRoot {
		return nil
	}
	for _, n := range ws.Nodes {
		if n.Hash == stateRoot {
			if got := crypto.Keccak256Hash(n.Blob); got != stateRoot {
				return fmt.Errorf("%w: root node hashes to %s, header root %s", ErrDivergence, got.Hex(), stateRoot.Hex())
			}
			return nil
		}
	}
	return fmt.Errorf("%w: write set lacks root node %s", ErrDivergence, stateRoot.Hex())
}

// captureDB is a state.Database whose Commit keeps the write set in memory
// (in the overlay, where later reads find it) instead of writing it, so the
// chain can write it in the block's own batch. The flat change becomes a
// layer of the chain's flat state at once, so a block built on top of this
// one reads it there.
type captureDB struct {
	state.Database
	overlay *overlayDB
	flat    *flatState
	writes  *WriteSet
}

func (c *captureDB) Commit(u *state.StateUpdate) error {
	c.writes = newWriteSet(u)
	c.overlay.add(c.writes)
	if !u.Empty() {
		c.flat.add(u.Root, u.OriginRoot, c.writes)
	}
	return nil
}

// overlayDB serves the write sets of blocks that are executed but not yet
// on disk, so the next block can be built on top of them. Entries are
// content-addressed (trie nodes and codes by hash), so an entry is never
// stale; it is dropped once its block is on disk.
//
// The trie nodes of committed blocks stay in a bounded cache (recent): the
// next blocks change the same upper levels of the trie and read them
// first, and go-ethereum's clean-node cache only learns a node by reading
// it from the store.
type overlayDB struct {
	ethdb.Database
	mu     sync.RWMutex
	m      map[string][]byte
	recent *fastcache.Cache
}

// recentNodesBytes bounds the cache of recently committed trie nodes.
const recentNodesBytes = 64 << 20

func newOverlayDB(db ethdb.Database) *overlayDB {
	return &overlayDB{Database: db, m: make(map[string][]byte), recent: fastcache.New(recentNodesBytes)}
}

// committed drops a write set whose block is on disk, keeping its trie
// nodes in the recent cache.
func (o *overlayDB) committed(ws *WriteSet) {
	for _, n := range ws.Nodes {
		o.recent.Set(n.Hash[:], n.Blob)
	}
	o.remove(ws)
}

func nodeKey(h common.Hash) string { return string(h[:]) }
func codeKey(h common.Hash) string {
	return string(append(append([]byte{}, rawdb.CodePrefix...), h[:]...))
}

func (o *overlayDB) add(ws *WriteSet) {
	o.mu.Lock()
	for _, n := range ws.Nodes {
		o.m[nodeKey(n.Hash)] = n.Blob
	}
	for _, c := range ws.Codes {
		o.m[codeKey(c.Hash)] = c.Blob
	}
	o.mu.Unlock()
}

func (o *overlayDB) remove(ws *WriteSet) {
	o.mu.Lock()
	for _, n := range ws.Nodes {
		delete(o.m, nodeKey(n.Hash))
	}
	for _, c := range ws.Codes {
		delete(o.m, codeKey(c.Hash))
	}
	o.mu.Unlock()
}

func (o *overlayDB) clear() {
	o.mu.Lock()
	o.m = make(map[string][]byte)
	o.recent.Reset()
	o.mu.Unlock()
}

func (o *overlayDB) Get(key []byte) ([]byte, error) {
	o.mu.RLock()
	v, ok := o.m[string(key)]
	o.mu.RUnlock()
	if ok {
		return v, nil
	}
	if len(key) == common.HashLength {
		if v, ok := o.recent.HasGet(nil, key); ok {
			return v, nil
		}
	}
	return o.Database.Get(key)
}

func (o *overlayDB) Has(key []byte) (bool, error) {
	o.mu.RLock()
	_, ok := o.m[string(key)]
	o.mu.RUnlock()
	if ok {
		return true, nil
	}
	return o.Database.Has(key)
}
