package eth

import (
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/ethereum/go-ethereum/triedb/hashdb"
)

// setterCode deploys a contract whose every call stores its first 32
// bytes of calldata in slot 0.
var setterCode = common.FromHex("6007600c60003960076000f3" + "60003560005500")

// newPruningService opens a service on an in-memory database in the given
// gc mode, its rounds unpaced.
func newPruningService(t *testing.T, mode string, keep uint64) *Service {
	t.Helper()
	db := rawdb.NewMemoryDatabase()
	return serviceOnStore(t, db, db, mode, keep)
}

func serviceOnStore(t *testing.T, db ethdb.Database, kv ethdb.KeyValueStore, mode string, keep uint64) *Service {
	t.Helper()
	if _, err := InitChain(db, genesis.Dev()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig
	cfg.GCMode, cfg.KeepStates = mode, keep
	s, err := NewService(nil, db, kv, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.chain.pruner != nil {
		s.chain.pruner.pace = false
	}
	return s
}

func signA(t *testing.T, nonce uint64, to *common.Address, data []byte, gas uint64) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(keyA, testSig, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: gwei, GasFeeCap: feeCap,
		Gas: gas, To: to, Data: data, Value: new(big.Int),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// diskOnly is a trie database over the chain's store without any cache,
// so that what it reads is what pruning left on disk.
func diskOnly(c *Chain) *triedb.Database {
	return triedb.NewDatabase(c.db, &triedb.Config{HashDB: hashdb.Defaults})
}

// readState reads every node of the state at root, storage tries
// included, from tdb.
func readState(tdb *triedb.Database, root common.Hash) error {
	tr, err := trie.NewStateTrie(trie.StateTrieID(root), tdb)
	if err != nil {
		return err
	}
	it, err := tr.NodeIterator(nil)
	if err != nil {
		return err
	}
	for it.Next(true) {
		if !it.Leaf() {
			continue
		}
		var acct types.StateAccount
		if err := rlp.DecodeBytes(it.LeafBlob(), &acct); err != nil {
			return err
		}
		if acct.Root == types.EmptyRootHash {
			continue
		}
		st, err := trie.NewStateTrie(trie.StorageTrieID(root, common.BytesToHash(it.LeafKey()), acct.Root), tdb)
		if err != nil {
			return err
		}
		sit, err := st.NodeIterator(nil)
		if err != nil {
			return err
		}
		for sit.Next(true) {
		}
		if err := sit.Error(); err != nil {
			return err
		}
	}
	return it.Error()
}

func trieNodesOnDisk(c *Chain) int {
	it := c.db.NewIterator(nil, nil)
	defer it.Release()
	n := 0
	for it.Next() {
		if len(it.Key()) == common.HashLength {
			n++
		}
	}
	return n
}

// A pruning round deletes the states of old blocks and nothing of the
// kept ones, and the chain goes on; reading a pruned state is go-ethereum's
// missing trie node error, never a wrong answer.
func TestPruningKeepsRecentStates(t *testing.T) {
	const keep = 4
	s := newPruningService(t, GCModeFull, keep)
	c := s.chain
	var nonce uint64
	setter := crypto.CreateAddress(addrA, 0)
	buildAndCommit(t, s, []*types.Transaction{signA(t, nonce, nil, setterCode, 200000)})
	nonce++
	for n := 2; n <= 20; n++ {
		value := common.BigToHash(big.NewInt(int64(n)))
		b, _ := buildAndCommit(t, s, []*types.Transaction{
			signA(t, nonce, &setter, value[:], 100000),
			transfer(t, keyA, nonce+1, common.BigToAddress(big.NewInt(int64(5000+n))), 1),
		})
		if len(b.block.Transactions()) != 2 {
			t.Fatalf("block %d: %v", n, b.rejected)
		}
		nonce += 2
	}
	before := trieNodesOnDisk(c)
	// While the round runs, before anything is deleted, the old states
	// already answer as pruned: no read meets one half gone.
	c.pruner.afterMark = func() {
		if _, _, err := s.RPCBackend().StateAndHeaderByNumberOrHash(t.Context(), rpc.BlockNumberOrHashWithNumber(1)); err == nil {
			t.Error("block 1's state readable while the round deletes it")
		}
	}
	st, err := c.pruner.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	after := trieNodesOnDisk(c)
	if st.Deleted == 0 || after != before-st.Deleted || st.Roots != keep {
		t.Fatalf("round %+v; trie nodes on disk %d -> %d", st, before, after)
	}
	disk := diskOnly(c)
	head := c.CurrentHeader().Number.Uint64()
	for n := uint64(1); n <= head; n++ {
		h := c.GetHeaderByNumber(n)
		err := readState(disk, h.Root)
		if kept := n > head-keep; kept && err != nil {
			t.Fatalf("kept state of block %d damaged: %v", n, err)
		} else if !kept && (err == nil || !strings.Contains(err.Error(), "missing trie node")) {
			t.Fatalf("state of block %d: %v, want missing trie node", n, err)
		}
	}
	// The slot reads the same on disk as before at the kept blocks.
	for n := head - keep + 1; n <= head; n++ {
		sdb, err := state.New(c.GetHeaderByNumber(n).Root, state.NewMPTDatabase(disk, nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := sdb.GetState(setter, common.Hash{}); got != common.BigToHash(big.NewInt(int64(n))) {
			t.Fatalf("slot at block %d = %x", n, got)
		}
	}
	// The RPC answers a pruned block with the error and the block.
	_, _, err = s.RPCBackend().StateAndHeaderByNumberOrHash(t.Context(), rpc.BlockNumberOrHashWithNumber(1))
	if err == nil || !strings.Contains(err.Error(), "missing trie node") || !strings.Contains(err.Error(), "block 1 ") {
		t.Fatalf("state of pruned block 1: %v", err)
	}
	// The chain goes on.
	buildAndCommit(t, s, []*types.Transaction{transfer(t, keyA, nonce, recvAddr, 1)})
	if err := readState(diskOnly(c), c.CurrentHeader().Root); err != nil {
		t.Fatal(err)
	}
}

// A node that becomes garbage and is written again by a block committed
// while a round runs (content addressing: the same slot value gives the
// same storage trie) survives the sweep.
func TestPruningKeepsNodesRewrittenDuringARound(t *testing.T) {
	const keep = 2
	s := newPruningService(t, GCModeFull, keep)
	c := s.chain
	setter := crypto.CreateAddress(addrA, 0)
	one, two := common.BigToHash(common.Big1), common.BigToHash(common.Big2)
	buildAndCommit(t, s, []*types.Transaction{signA(t, 0, nil, setterCode, 200000)})
	buildAndCommit(t, s, []*types.Transaction{signA(t, 1, &setter, one[:], 100000)})
	buildAndCommit(t, s, []*types.Transaction{signA(t, 2, &setter, two[:], 100000)})
	nonce := uint64(3)
	for i := 0; i < 3; i++ {
		buildAndCommit(t, s, []*types.Transaction{transfer(t, keyA, nonce, recvAddr, 1)})
		nonce++
	}
	c.pruner.afterMark = func() {
		// Slot 0 back to 1: the storage trie of block 2, garbage at the
		// mark, is written again.
		buildAndCommit(t, s, []*types.Transaction{signA(t, nonce, &setter, one[:], 100000)})
	}
	if _, err := c.pruner.run(nil); err != nil {
		t.Fatal(err)
	}
	if err := readState(diskOnly(c), c.CurrentHeader().Root); err != nil {
		t.Fatalf("head state damaged by the sweep: %v", err)
	}
}

// Archive mode keeps every state.
func TestArchiveModeDoesNotPrune(t *testing.T) {
	if s := newPruningService(t, GCModeArchive, 0); s.chain.pruner != nil {
		t.Fatal("archive node has a pruner")
	}
	cfg := DefaultConfig
	cfg.GCMode = "fast"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "gcmode") {
		t.Fatalf("unknown gcmode: %v", err)
	}
}

// openStoreService opens a service on an on-disk store (snapshots need
// one), in the given gc mode.
func openStoreService(t *testing.T, mode string, keep uint64) *Service {
	t.Helper()
	kv, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.Close() })
	s := serviceOnStore(t, rawdb.NewDatabase(kv), kv, mode, keep)
	t.Cleanup(func() {
		// A snapshot install restarts the log index even on a service
		// never started: stop it before its database closes.
		s.fmaps.Load().stop()
		s.chain.Close()
	})
	return s
}

// A pruning node's snapshot carries the head state only, so a node that
// installs it gets the current state and every block, not the history of
// states; an archive node's carries every state.
func TestSnapshotCarriesCurrentState(t *testing.T) {
	for _, mode := range []string{GCModeFull, GCModeArchive} {
		t.Run(mode, func(t *testing.T) {
			src := openStoreService(t, mode, 4)
			var nonce uint64
			for n := 1; n <= 12; n++ {
				buildAndCommit(t, src, flatBlockTxs(t, uint64(n), &nonce))
			}
			buf := persistSnapshot(t, src)
			dst := openStoreService(t, mode, 4)
			if err := dst.fsm.Restore(buf); err != nil {
				t.Fatal(err)
			}
			head := src.chain.CurrentHeader()
			if got := dst.chain.CurrentHeader(); got.Hash() != head.Hash() {
				t.Fatalf("installed head %d, want %d", got.Number, head.Number)
			}
			if err := readState(diskOnly(dst.chain), head.Root); err != nil {
				t.Fatalf("installed head state: %v", err)
			}
			w := newStateWalker(diskOnly(src.chain))
			if err := w.state(head.Root); err != nil {
				t.Fatal(err)
			}
			srcNodes, dstNodes := trieNodesOnDisk(src.chain), trieNodesOnDisk(dst.chain)
			older := readState(diskOnly(dst.chain), src.chain.GetHeaderByNumber(head.Number.Uint64()-2).Root)
			switch mode {
			case GCModeFull:
				if dstNodes != len(w.seen) || dstNodes >= srcNodes {
					t.Fatalf("installed %d trie nodes; the head state has %d, the source holds %d", dstNodes, len(w.seen), srcNodes)
				}
				if older == nil {
					t.Fatal("an older state travelled in a pruning node's snapshot")
				}
				// The installing node prunes from what it holds: the head
				// state alone.
				if st, err := dst.chain.pruner.run(nil); err != nil || st.Roots != 1 {
					t.Fatalf("pruning after the install: %+v, %v", st, err)
				}
			case GCModeArchive:
				if dstNodes != srcNodes || older != nil {
					t.Fatalf("archive snapshot: %d of %d trie nodes, older state: %v", dstNodes, srcNodes, older)
				}
			}
		})
	}
}
