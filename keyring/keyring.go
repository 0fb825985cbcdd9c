package keyring

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/cocogeth/cocogeth/internal/atomicfile"
	"github.com/ethereum/go-ethereum/rlp"
)

// SecretSize is the size of a ledger secret.
const SecretSize = 32

// maxEpochs bounds what Import and Open accept.
const maxEpochs = 1 << 16

// Sealer seals the keyring file: the part of tee.TEE the keyring uses.
type Sealer interface {
	Seal(plaintext []byte) ([]byte, error)
	Unseal(sealed []byte) ([]byte, error)
}

// Keyring holds a node's ledger secrets. It is safe for concurrent use and
// implements store.Keys.
type Keyring struct {
	path   string
	sealer Sealer

	mu      sync.RWMutex
	secrets map[uint64]secret
	current uint64
	mark    uint64
}

// secret is a ledger secret; formatting never prints it.
type secret []byte

func (secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, "<redacted>") }

type entry struct {
	Epoch  uint64
	Secret []byte
}

type fileV1 struct {
	Version uint
	Entries []entry
	Mark    uint64 `rlp:"optional"` // the highest ledger index the node applied (SetMark)
}

// Open loads the keyring sealed at path; a missing file gives an empty
// keyring that will be written there.
func Open(path string, sealer Sealer) (*Keyring, error) {
	k := &Keyring{path: path, sealer: sealer, secrets: make(map[uint64]secret)}
	sealed, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := sealer.Unseal(sealed)
	if err != nil {
		return nil, fmt.Errorf("ledger secrets %s cannot be unsealed by this node's TEE (another machine, another enclave build, or an altered file): %w", path, err)
	}
	if err := k.load(plain); err != nil {
		return nil, fmt.Errorf("ledger secrets %s: %w", path, err)
	}
	return k, nil
}

func (k *Keyring) load(b []byte) error {
	f, err := decodeFile(b)
	if err != nil {
		return err
	}
	k.mark = f.Mark
	return k.addAll(f.Entries)
}

// decodeFile decodes the keyring's encoding (the sealed file's content, or
// an Export).
func decodeFile(b []byte) (*fileV1, error) {
	f := new(fileV1)
	if err := rlp.DecodeBytes(b, f); err != nil {
		return nil, fmt.Errorf("malformed: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("unknown version %d", f.Version)
	}
	return f, nil
}

// addAll checks and adds entries (k.mu held or k not shared).
func (k *Keyring) addAll(es []entry) error {
	if len(es) > maxEpochs {
		return fmt.Errorf("%d epochs, at most %d", len(es), maxEpochs)
	}
	for _, e := range es {
		if e.Epoch == 0 || len(e.Secret) != SecretSize {
			return fmt.Errorf("epoch %d: invalid entry", e.Epoch)
		}
		if old, ok := k.secrets[e.Epoch]; ok && !bytes.Equal(old, e.Secret) {
			return fmt.Errorf("epoch %d: a different secret is already held", e.Epoch)
		}
	}
	for _, e := range es {
		k.secrets[e.Epoch] = bytes.Clone(e.Secret)
		k.current = max(k.current, e.Epoch)
	}
	return nil
}

func (k *Keyring) entries() []entry {
	out := make([]entry, 0, len(k.secrets))
	for _, e := range k.epochs() {
		out = append(out, entry{Epoch: e, Secret: k.secrets[e]})
	}
	return out
}

func (k *Keyring) epochs() []uint64 {
	es := make([]uint64, 0, len(k.secrets))
	for e := range k.secrets {
		es = append(es, e)
	}
	slices.Sort(es)
	return es
}

// save seals the keyring into its file (k.mu held).
func (k *Keyring) save() error {
	plain, err := rlp.EncodeToBytes(fileV1{Version: 1, Entries: k.entries(), Mark: k.mark})
	if err != nil {
		return err
	}
	sealed, err := k.sealer.Seal(plain)
	if err != nil {
		return fmt.Errorf("seal ledger secrets: %w", err)
	}
	if err := atomicfile.Write(k.path, sealed, 0o600); err != nil {
		return fmt.Errorf("write ledger secrets: %w", err)
	}
	return nil
}

// Path is the sealed file.
func (k *Keyring) Path() string { return k.path }

// Empty reports whether the keyring holds no secret.
func (k *Keyring) Empty() bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.secrets) == 0
}

// Epochs lists the epochs held, in order.
func (k *Keyring) Epochs() []uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.epochs()
}

// Generate makes the secret of the next epoch (current+1) from the
// platform's randomness (inside an enclave, the enclave's), seals it, and
// makes it current. It returns the new epoch and its secret.
func (k *Keyring) Generate() (uint64, []byte, error) {
	s := make(secret, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return 0, nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	epoch := k.current + 1
	k.secrets[epoch] = s
	prev := k.current
	k.current = epoch
	if err := k.save(); err != nil {
		delete(k.secrets, epoch)
		k.current = prev
		return 0, nil, err
	}
	return epoch, bytes.Clone(s), nil
}

// Add adds the secret of an epoch (received from another node or
// recovered) and seals the keyring before it returns. Adding a secret
// already held does nothing.
func (k *Keyring) Add(epoch uint64, secret []byte) error {
	return k.addEntries([]entry{{Epoch: epoch, Secret: secret}})
}

func (k *Keyring) addEntries(es []entry) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	fresh := false
	for _, e := range es {
		if _, ok := k.secrets[e.Epoch]; !ok {
			fresh = true
		}
	}
	backup, cur := make(map[uint64]secret, len(k.secrets)), k.current
	for e, s := range k.secrets {
		backup[e] = s
	}
	if err := k.addAll(es); err != nil {
		return err
	}
	if !fresh {
		return nil
	}
	if err := k.save(); err != nil {
		k.secrets, k.current = backup, cur
		return err
	}
	return nil
}

// Export encodes every secret for another node. Send it only over the
// attested node-to-node channel.
func (k *Keyring) Export() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return rlp.EncodeToBytes(fileV1{Version: 1, Entries: k.entries()})
}

// Import adds the secrets of an Export, sealed before it returns.
func (k *Keyring) Import(b []byte) error {
	f, err := decodeFile(b)
	if err != nil {
		return fmt.Errorf("ledger secrets: %w", err)
	}
	if len(f.Entries) == 0 {
		return errors.New("ledger secrets: none received")
	}
	return k.addEntries(f.Entries)
}

// Current returns the epoch new files are written under and its secret
// (nil when the keyring is empty).
func (k *Keyring) Current() (uint64, []byte) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current, k.secrets[k.current]
}

// Secret returns the secret of an epoch.
func (k *Keyring) Secret(epoch uint64) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if s, ok := k.secrets[epoch]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("epoch %d is not in this node's ledger secrets (%s)", epoch, k.path)
}

// String describes the keyring without its secrets.
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring(%s, epochs %v)", k.path, k.Epochs())
}

// Mark returns the highest ledger index the node recorded as applied
// (SetMark); 0 if none.
func (k *Keyring) Mark() uint64 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.mark
}

// SetMark records, sealed, that the node applied the ledger up to index.
// The mark only rises: a chain database found below it at start was
// rolled back (an older copy of its files) without this file. It does not
// protect against the whole datadir, this file included, replaced by an
// older copy: that needs a monotonic counter the TEE does not offer here.
func (k *Keyring) SetMark(index uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if index <= k.mark || len(k.secrets) == 0 {
		return nil
	}
	prev := k.mark
	k.mark = index
	if err := k.save(); err != nil {
		k.mark = prev
		return err
	}
	return nil
}
