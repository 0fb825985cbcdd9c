package eth

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/keyring"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/ethdb"
)

// plainSealer "seals" by copying: the keyring's sealing is tested in its
// own package.
type plainSealer struct{}

func (plainSealer) Seal(b []byte) ([]byte, error)   { return bytes.Clone(b), nil }
func (plainSealer) Unseal(b []byte) ([]byte, error) { return bytes.Clone(b), nil }

func newTestKeyring(t testing.TB, generate bool) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Open(filepath.Join(t.TempDir(), "ledger.keys"), plainSealer{})
	if err != nil {
		t.Fatal(err)
	}
	if generate {
		if _, _, err := k.Generate(); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// newEpochService starts a single-node service on an encrypted on-disk
// store with epochs of the given length.
func newEpochService(t *testing.T, keys *keyring.Keyring, epochBlocks uint64) (*Service, ethdb.Database) {
	t.Helper()
	kv, err := store.Open(t.TempDir(), store.Options{CacheMiB: store.MinCacheMiB, Keys: keys, Identity: "node/chaindata"})
	if err != nil {
		t.Fatal(err)
	}
	db := rawdb.NewDatabase(kv)
	t.Cleanup(func() { db.Close() })
	if _, err := InitChain(db, genesis.Dev()); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig
	cfg.TrieCache = 16
	cfg.EpochBlocks = epochBlocks
	cfg.Storage = Storage{Keys: keys, RecordDir: t.TempDir()}
	s, err := NewService(nil, db, kv, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s, db
}

func waitEpoch(t *testing.T, s *Service, epoch uint64) *epochState {
	t.Helper()
	var st *epochState
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		if st, err = readEpochState(s.chain.db); err != nil {
			t.Fatal(err)
		}
		if st != nil && st.Epoch >= epoch {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("epoch %d not reached (state %+v)", epoch, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEpochsRoll: the leader registers the first secret, then starts a new
// epoch every EpochBlocks blocks; the keyring follows, new secrets are
// fresh, and a snapshot carries them to a node that missed the entries.
func TestEpochsRoll(t *testing.T) {
	keys := newTestKeyring(t, true)
	first, _ := keys.Secret(1)
	s, _ := newEpochService(t, keys, 3)
	st := waitEpoch(t, s, 1)
	if st.Epoch != 1 || st.Start != 0 {
		t.Fatalf("first epoch state %+v", st)
	}
	a := newAccount(keyA)
	for i := 0; i < 5; i++ {
		tx, err := a.next(recvAddr, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendTx(tx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the transfer's block", func() bool {
			st, _ := s.chain.State()
			return st != nil && st.GetNonce(addrA) == a.nonce
		})
	}
	st = waitEpoch(t, s, 2)
	if cur, secret := keys.Current(); cur != st.Epoch || bytes.Equal(secret, first) {
		t.Fatalf("keyring current %d after epoch %d; a fresh secret: %t", cur, st.Epoch, !bytes.Equal(secret, first))
	}
	if st.Start < 3 {
		t.Fatalf("epoch 2 started at block %d, before the first epoch's 3 blocks passed", st.Start)
	}
	if old, err := keys.Secret(1); err != nil || !bytes.Equal(old, first) {
		t.Fatal("epoch 1's secret was lost")
	}
	// Without new blocks no new epoch starts.
	time.Sleep(2 * epochPoll)
	if again := waitEpoch(t, s, 0); again.Epoch != st.Epoch {
		t.Fatalf("epoch moved from %d to %d without blocks", st.Epoch, again.Epoch)
	}

	// A node that installs a snapshot receives every secret.
	buf := persistSnapshot(t, s)
	other := newTestKeyring(t, true) // its own provisional secret under epoch 1 would clash
	other2 := newTestKeyring(t, false)
	for _, k := range []*keyring.Keyring{other, other2} {
		kv, err := store.Open(t.TempDir(), store.Options{CacheMiB: store.MinCacheMiB})
		if err != nil {
			t.Fatal(err)
		}
		db := rawdb.NewDatabase(kv)
		defer db.Close()
		if _, err := InitChain(db, genesis.Dev()); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig
		cfg.Storage = Storage{Keys: k}
		s2, err := NewService(nil, db, kv, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s2.fsm.beforeRestore, s2.fsm.afterRestore = nil, nil // never started: no log index to move
		err = s2.fsm.Restore(bytes.NewReader(buf.Bytes()))
		if k == other {
			if err == nil {
				t.Fatal("a snapshot whose epoch 1 differs from the node's was installed")
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Epochs(); len(got) != int(st.Epoch) {
			t.Fatalf("restored node holds epochs %v, want 1..%d", got, st.Epoch)
		}
		cur, secret := k.Current()
		_, want := keys.Current()
		if cur != st.Epoch || !bytes.Equal(secret, want) {
			t.Fatal("restored node's current secret differs from the leader's")
		}
		if rs, err := readEpochState(db); err != nil || rs == nil || rs.Epoch != st.Epoch {
			t.Fatalf("restored epoch state %+v %v", rs, err)
		}
	}
}

// An epoch entry for an epoch already passed is skipped alike everywhere.
func TestStaleEpochEntrySkipped(t *testing.T) {
	keys := newTestKeyring(t, true)
	s, _ := newEpochService(t, keys, 1000)
	waitEpoch(t, s, 1)
	entry, err := encodeEpochEntry(&epochEntry{Epoch: 1, Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := s.ledger.Propose(entry).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if s.chain.AppliedIndex() < idx {
		t.Fatal("stale entry not applied as skipped")
	}
	if cur, secret := keys.Current(); cur != 1 || bytes.Equal(secret, bytes.Repeat([]byte{7}, 32)) {
		t.Fatal("a stale epoch entry replaced the secret")
	}
	for _, bad := range [][]byte{{entryEpochV1}, append(make([]byte, entryHeaderLen), 0xff)} {
		bad[0] = entryEpochV1
		if _, err := decodeEpochEntry(bad); err == nil {
			t.Fatalf("decoded a malformed epoch entry %x", bad)
		}
	}
}
