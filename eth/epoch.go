package eth

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/internal/atomicfile"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rlp"
)

// Key epochs. Every store of a node encrypts its files under the ledger
// secret of the current epoch (package store, keyring). The leader starts a
// new epoch when the epoch length has passed (the constitution's, or
// Config.EpochBlocks without one) or the actors changed (members, their
// recovery keys, participants, nodes): it makes a fresh secret and
// proposes an epoch entry carrying it and its recovery record (the secret
// protected so that any M of the members' recovery keys recover it,
// package recovery). Raft carries the entry to every node over the
// attested channel; applying it adds the secret to the node's keyring,
// sealed, and new files use it. The first leader also registers the
// network's first secret (made by the first validator at init) this way,
// so that every epoch has a record.
//
// The chain database keeps the epoch state and every record (they travel
// in snapshots); each node also mirrors the records into plaintext files
// (RecordDir), which recovery reads when the ledger secrets are lost and
// the database cannot be opened. The secrets themselves travel in state
// snapshots after the chain (over the attested channel only) and never
// enter the chain database.

// EpochKeys is the node's keyring as the chain uses it (package keyring).
type EpochKeys interface {
	store.Keys
	Add(epoch uint64, secret []byte) error
	Export() ([]byte, error)
	Import(b []byte) error
}

// AppliedMark records, sealed with the ledger secrets, how far the node
// applied the ledger (keyring.Keyring): a chain database found below the
// mark at start was replaced by an older copy, and the node refuses it.
type AppliedMark interface {
	Mark() uint64
	SetMark(index uint64) error
}

// markEvery is how often the applied index is recorded (and at Stop): a
// rollback to within this much of a crashed run is not detected.
const markEvery = 5 * time.Second

// every runs f every d until the service stops (started with s.wg.Add).
func (s *Service) every(d time.Duration, f func()) {
	defer s.wg.Done()
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
			f()
		}
	}
}

// recordMark records the applied index once it is durable (a skipped
// entry's index is written without a sync of its own).
func (s *Service) recordMark() {
	idx := s.chain.AppliedIndex()
	if idx <= s.mark.Mark() {
		return // nothing new: no sync, no write
	}
	if err := s.db.SyncKeyValue(); err != nil {
		log.Error("Cannot sync the chain database", "err", err)
		return
	}
	if err := s.mark.SetMark(idx); err != nil {
		log.Error("Cannot record the applied ledger index", "err", err)
	}
}

// entryEpochV1 is a ledger entry that starts (or registers) a key epoch.
const entryEpochV1 byte = 2

// epochEntry is the body of an entryEpochV1.
type epochEntry struct {
	Epoch  uint64
	Secret []byte      // the ledger secret; the entry travels only between attested nodes
	Record []byte      // recovery.Record of the secret; empty when no member has a recovery key
	Block  uint64      // the head when the leader proposed it: the epoch's start
	Actors common.Hash // actorsHash when it was proposed
}

// epochState is the chain's record of the current epoch.
type epochState struct {
	Epoch  uint64
	Start  uint64
	Actors common.Hash
}

var (
	epochStateKey        = []byte("cocogeth-epoch")
	epochRecordKeyPrefix = []byte("cocogeth-epoch-record-")
)

func epochRecordKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clone(epochRecordKeyPrefix), epoch)
}

func encodeEpochEntry(e *epochEntry) ([]byte, error) {
	body, err := rlp.EncodeToBytes(e)
	if err != nil {
		return nil, err
	}
	out := make([]byte, entryHeaderLen, entryHeaderLen+len(body))
	out[0] = entryEpochV1
	return append(out, body...), nil
}

func decodeEpochEntry(entry []byte) (*epochEntry, error) {
	if len(entry) < entryHeaderLen || entry[0] != entryEpochV1 {
		return nil, errors.New("not an epoch entry")
	}
	e := new(epochEntry)
	if err := rlp.DecodeBytes(entry[entryHeaderLen:], e); err != nil {
		return nil, fmt.Errorf("epoch entry: %w", err)
	}
	if e.Epoch == 0 || len(e.Secret) != 32 {
		return nil, errors.New("epoch entry: invalid epoch or secret")
	}
	return e, nil
}

// readEpochState returns the chain's epoch state, nil if none was applied.
func readEpochState(db ethdb.KeyValueReader) (*epochState, error) {
	b, err := db.Get(epochStateKey)
	if err != nil {
		if ok, herr := db.Has(epochStateKey); herr == nil && !ok {
			return nil, nil
		}
		return nil, err
	}
	st := new(epochState)
	if err := rlp.DecodeBytes(b, st); err != nil {
		return nil, fmt.Errorf("epoch state: %w", err)
	}
	return st, nil
}

// ReadEpochRecords returns the recovery records the chain holds, by epoch.
func ReadEpochRecords(db ethdb.Iteratee) (map[uint64][]byte, error) {
	it := db.NewIterator(epochRecordKeyPrefix, nil)
	defer it.Release()
	out := map[uint64][]byte{}
	for it.Next() {
		k := it.Key()
		if len(k) != len(epochRecordKeyPrefix)+8 {
			continue
		}
		out[binary.BigEndian.Uint64(k[len(epochRecordKeyPrefix):])] = slices.Clone(it.Value())
	}
	return out, it.Error()
}

// applyEpoch applies an epoch entry at index: the secret joins the keyring
// (sealed before the entry counts as applied), and the epoch state, the
// record and the applied index are written in one batch. An entry for an
// epoch the chain already passed is skipped (a proposal of a leader that
// lost the race): every node skips it alike.
func (f *fsm) applyEpoch(index uint64, entry []byte) error {
	e, err := decodeEpochEntry(entry)
	if err != nil {
		return err
	}
	st, err := readEpochState(f.chain.db)
	if err != nil {
		return err
	}
	if st != nil && e.Epoch <= st.Epoch {
		log.Debug("Skipped a stale epoch entry", "epoch", e.Epoch, "current", st.Epoch, "index", index)
		return f.chain.skipEntry(index)
	}
	if f.keys != nil {
		if err := f.keys.Add(e.Epoch, e.Secret); err != nil {
			return fmt.Errorf("epoch %d: %w", e.Epoch, err)
		}
	}
	next, err := rlp.EncodeToBytes(&epochState{Epoch: e.Epoch, Start: e.Block, Actors: e.Actors})
	if err != nil {
		return err
	}
	c := f.chain
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	batch := c.db.NewBatch()
	batch.Put(epochStateKey, next)
	if len(e.Record) > 0 {
		batch.Put(epochRecordKey(e.Epoch), e.Record)
	}
	batch.Put(appliedIndexKey, binary.BigEndian.AppendUint64(nil, index))
	if err := batch.Write(); err != nil {
		return err
	}
	if err := c.db.SyncKeyValue(); err != nil {
		return err
	}
	c.applied.Store(index)
	if len(e.Record) > 0 {
		f.mirrorRecord(e.Epoch, e.Record)
	}
	log.Info("Key epoch started", "epoch", e.Epoch, "block", e.Block, "recoverable", len(e.Record) > 0, "index", index)
	return nil
}

// mirrorRecord writes an epoch's recovery record into the record directory,
// in plaintext: it is public, and recovery needs it when the database
// cannot be opened.
func (f *fsm) mirrorRecord(epoch uint64, rec []byte) {
	if f.recordDir == "" {
		return
	}
	if err := writeRecordFile(f.recordDir, epoch, rec); err != nil {
		log.Error("Cannot write the recovery record of an epoch", "epoch", epoch, "err", err)
	}
}

// RecordFile is the name of the mirrored recovery record of an epoch.
func RecordFile(dir string, epoch uint64) string {
	return filepath.Join(dir, fmt.Sprintf("epoch-%06d.rec", epoch))
}

func writeRecordFile(dir string, epoch uint64, rec []byte) error {
	return atomicfile.Write(RecordFile(dir, epoch), rec, 0o600)
}

// mirrorAllRecords mirrors every record the chain holds (after a snapshot
// install).
func (f *fsm) mirrorAllRecords() {
	if f.recordDir == "" {
		return
	}
	recs, err := ReadEpochRecords(f.chain.db)
	if err != nil {
		log.Error("Cannot read the recovery records", "err", err)
		return
	}
	for e, rec := range recs {
		f.mirrorRecord(e, rec)
	}
}

// actorsHash fingerprints who may recover and who runs the network: the
// members with their recovery keys and threshold, the participants and the
// nodes. Nil
// (a network without constitution) hashes to the zero hash.
func actorsHash(cons *governance.Constitution) common.Hash {
	if cons == nil {
		return common.Hash{}
	}
	var parts [][]byte
	for _, m := range cons.Members {
		parts = append(parts, []byte("member\x00"+m.ID))
	}
	ids, keys := cons.RecoveryKeys()
	for i := range ids {
		parts = append(parts, append([]byte("recovery\x00"+ids[i]+"\x00"), keys[i]...))
	}
	if m := cons.Settings.RecoveryThreshold; m != 0 {
		parts = append(parts, []byte(fmt.Sprintf("threshold\x00%d", m)))
	}
	for _, p := range cons.Participants {
		parts = append(parts, []byte("participant\x00"+p.ID))
	}
	for _, n := range cons.Nodes {
		parts = append(parts, append([]byte("node\x00"+n.ID+"\x00"), n.PublicKey...))
	}
	slices.SortFunc(parts, bytes.Compare)
	b, _ := rlp.EncodeToBytes(parts)
	return crypto.Keccak256Hash(b)
}

// protect makes the recovery record of an epoch's secret for the
// constitution's members' recovery keys; nil when none has one.
func protect(cons *governance.Constitution, epoch uint64, secret []byte) ([]byte, error) {
	if cons == nil {
		return nil, nil
	}
	_, raw := cons.RecoveryKeys()
	if len(raw) == 0 {
		return nil, nil
	}
	keys := make([]recovery.PublicKey, len(raw))
	for i, k := range raw {
		keys[i] = recovery.PublicKey(k)
	}
	rec, err := recovery.Protect(secret, epoch, keys, cons.RecoveryThreshold(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return rec.MarshalBinary()
}

// epochPoll is how often the leader checks whether an epoch is due.
const epochPoll = time.Second

// rollEpochs runs every epochPoll on every node; when it leads, it
// proposes the epoch entry that is due.
//
// Only a new head can make an epoch due (the length counts blocks, and the
// actors change by a block), so a head checked without an error is not
// checked again.
func (s *Service) rollEpochs() {
	if !s.ledger.IsLeader() {
		s.epochChecked = common.Hash{}
		return
	}
	head := s.chain.CurrentHeader().Hash()
	if head == s.epochChecked {
		return
	}
	if err := s.rollEpoch(); err != nil {
		log.Warn("Key epoch rollover failed; retrying", "err", err)
		return
	}
	s.epochChecked = head
}

// rollEpoch proposes an epoch entry if one is due and waits for it.
func (s *Service) rollEpoch() error {
	st, err := readEpochState(s.chain.db)
	if err != nil {
		return err
	}
	var cons *governance.Constitution
	length := s.cfg.EpochBlocks
	if length == 0 {
		length = governance.DefaultEpochLength
	}
	if s.chain.Spec().Coco.Governed() {
		state, err := s.chain.State()
		if err != nil {
			return err
		}
		if cons, err = governance.Load(state); err != nil {
			return err
		}
		length = cons.Settings.EpochLength
	}
	actors := actorsHash(cons)
	head := s.chain.CurrentHeader().Number.Uint64()
	e := &epochEntry{Block: head, Actors: actors}
	switch cur, secret := s.keys.Current(); {
	case st == nil:
		// Register the network's first secret, with its record.
		e.Epoch, e.Secret = cur, secret
	case head >= st.Start+length || actors != st.Actors:
		e.Epoch, e.Secret = max(st.Epoch, cur)+1, make([]byte, 32)
		if _, err := rand.Read(e.Secret); err != nil {
			return err
		}
	default:
		return nil
	}
	if e.Record, err = protect(cons, e.Epoch, e.Secret); err != nil {
		return err
	}
	entry, err := encodeEpochEntry(e)
	if err != nil {
		return err
	}
	_, err = s.ledger.Propose(entry).Wait()
	return err
}
