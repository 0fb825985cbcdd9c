package main

import (
	"crypto/ecdsa"
	"math/big"
	"sync"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/event"
)

// keystoreRefresh is how often a subscribed keystore backend looks for
// key files added or removed, as geth's keystore does without a watcher.
const keystoreRefresh = 3 * time.Second

// ksBackend serves a keyStore to a node's account manager
// (accounts.Backend): one wallet per key file, as geth's keystore.
type ksBackend struct {
	ks *keyStore

	mu       sync.Mutex
	wallets  []*ksWallet // by path
	feed     event.Feed
	scope    event.SubscriptionScope
	updating bool
}

func newKSBackend(ks *keyStore) *ksBackend {
	b := &ksBackend{ks: ks}
	b.refresh()
	return b
}

// Wallets implements accounts.Backend.
func (b *ksBackend) Wallets() []accounts.Wallet {
	b.refresh()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]accounts.Wallet, len(b.wallets))
	for i, w := range b.wallets {
		out[i] = w
	}
	return out
}

// Subscribe implements accounts.Backend: wallet arrivals and departures
// are noticed every few seconds while someone listens.
func (b *ksBackend) Subscribe(sink chan<- accounts.WalletEvent) event.Subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := b.scope.Track(b.feed.Subscribe(sink))
	if !b.updating {
		b.updating = true
		go b.update()
	}
	return sub
}

func (b *ksBackend) update() {
	for {
		time.Sleep(keystoreRefresh)
		b.refresh()
		b.mu.Lock()
		if b.scope.Count() == 0 {
			b.updating = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
	}
}

// refresh rescans the directory and announces the differences.
func (b *ksBackend) refresh() {
	keys, err := b.ks.keys()
	if err != nil {
		return
	}
	b.mu.Lock()
	old := make(map[string]*ksWallet, len(b.wallets))
	for _, w := range b.wallets {
		old[w.key.Path] = w
	}
	var events []accounts.WalletEvent
	next := make([]*ksWallet, 0, len(keys))
	for _, k := range keys {
		if w, ok := old[k.Path]; ok && w.key.Address == k.Address {
			next = append(next, w)
			delete(old, k.Path)
			continue
		}
		w := &ksWallet{ks: b.ks, key: k}
		next = append(next, w)
		events = append(events, accounts.WalletEvent{Wallet: w, Kind: accounts.WalletArrived})
	}
	for _, w := range old {
		events = append(events, accounts.WalletEvent{Wallet: w, Kind: accounts.WalletDropped})
	}
	b.wallets = next
	b.mu.Unlock()
	for _, ev := range events {
		b.feed.Send(ev)
	}
}

// ksWallet is the wallet of one key file.
type ksWallet struct {
	ks  *keyStore
	key keyFile
}

func (w *ksWallet) URL() accounts.URL { return accounts.URL{Scheme: "keystore", Path: w.key.Path} }

func (w *ksWallet) Status() (string, error) {
	if _, ok := w.ks.unlockedKey(w.key.Address); ok {
		return "Unlocked", nil
	}
	return "Locked", nil
}

func (w *ksWallet) Open(passphrase string) error { return nil }
func (w *ksWallet) Close() error                 { return nil }

func (w *ksWallet) Accounts() []accounts.Account {
	return []accounts.Account{{Address: w.key.Address, URL: w.URL()}}
}

func (w *ksWallet) Contains(a accounts.Account) bool {
	return a.Address == w.key.Address && (a.URL == (accounts.URL{}) || a.URL == w.URL())
}

func (w *ksWallet) Derive(path accounts.DerivationPath, pin bool) (accounts.Account, error) {
	return accounts.Account{}, accounts.ErrNotSupported
}

func (w *ksWallet) SelfDerive(bases []accounts.DerivationPath, chain ethereum.ChainStateReader) {}

// signHash signs with the unlocked key, or with the key decrypted by
// passphrase when it is not nil.
func (w *ksWallet) signHash(a accounts.Account, passphrase *string, hash []byte) ([]byte, error) {
	if !w.Contains(a) {
		return nil, accounts.ErrUnknownAccount
	}
	key, err := w.signingKey(passphrase)
	if err != nil {
		return nil, err
	}
	return crypto.Sign(hash, key)
}

func (w *ksWallet) signingKey(passphrase *string) (*ecdsa.PrivateKey, error) {
	if passphrase != nil {
		return w.ks.decrypt(w.key, *passphrase)
	}
	k, ok := w.ks.unlockedKey(w.key.Address)
	if !ok {
		return nil, errLocked
	}
	return k, nil
}

func (w *ksWallet) SignData(a accounts.Account, mimeType string, data []byte) ([]byte, error) {
	return w.signHash(a, nil, crypto.Keccak256(data))
}

func (w *ksWallet) SignDataWithPassphrase(a accounts.Account, passphrase, mimeType string, data []byte) ([]byte, error) {
	return w.signHash(a, &passphrase, crypto.Keccak256(data))
}

func (w *ksWallet) SignText(a accounts.Account, text []byte) ([]byte, error) {
	return w.signHash(a, nil, accounts.TextHash(text))
}

func (w *ksWallet) SignTextWithPassphrase(a accounts.Account, passphrase string, text []byte) ([]byte, error) {
	return w.signHash(a, &passphrase, accounts.TextHash(text))
}

func (w *ksWallet) signTx(a accounts.Account, passphrase *string, tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	if !w.Contains(a) {
		return nil, accounts.ErrUnknownAccount
	}
	key, err := w.signingKey(passphrase)
	if err != nil {
		return nil, err
	}
	return types.SignTx(tx, types.LatestSignerForChainID(chainID), key)
}

func (w *ksWallet) SignTx(a accounts.Account, tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	return w.signTx(a, nil, tx, chainID)
}

func (w *ksWallet) SignTxWithPassphrase(a accounts.Account, passphrase string, tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	return w.signTx(a, &passphrase, tx, chainID)
}
