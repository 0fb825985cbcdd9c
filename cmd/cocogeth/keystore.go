package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/scrypt"
)

// This file reads and writes geth's keystore: a directory of key files in
// the Web3 Secret Storage format (version 3: scrypt or pbkdf2, AES-128-CTR,
// Keccak-256 MAC) named UTC--<time>--<address>, so key files move freely
// between geth, clef, other wallets and cocogeth. (go-ethereum's own
// accounts/keystore package would need modules this one does not require.)

// Scrypt parameters of new key files, those of geth: standard (256 MiB,
// about a second) and light (--lightkdf: 4 MiB).
const (
	standardScryptN = 1 << 18
	standardScryptP = 1
	lightScryptN    = 1 << 12
	lightScryptP    = 6
	scryptR         = 8
	scryptDKLen     = 32
)

// Errors with geth's wording.
var (
	errNoKey         = errors.New("no key for given address or file")
	errDecrypt       = errors.New("could not decrypt key with given password")
	errAccountExists = errors.New("account already exists")
	errLocked        = accounts.NewAuthNeededError("password or unlock")
)

// keyFile is one key file of a keystore.
type keyFile struct {
	Address common.Address
	Path    string
}

// keyStore is a keystore directory and the keys unlocked in this process.
type keyStore struct {
	dir              string
	scryptN, scryptP int

	mu       sync.Mutex
	unlocked map[common.Address]*ecdsa.PrivateKey
}

func newKeyStore(dir string, light bool) *keyStore {
	ks := &keyStore{dir: dir, scryptN: standardScryptN, scryptP: standardScryptP, unlocked: map[common.Address]*ecdsa.PrivateKey{}}
	if light {
		ks.scryptN, ks.scryptP = lightScryptN, lightScryptP
	}
	return ks
}

// keys lists the key files of the directory, by file name (which starts
// with the creation time). Files that are not key files are skipped, as
// geth skips them; a missing directory holds no keys.
func (ks *keyStore) keys() ([]keyFile, error) {
	entries, err := os.ReadDir(ks.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []keyFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") || strings.HasSuffix(name, "~") {
			continue
		}
		path := filepath.Join(ks.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var head struct {
			Address string `json:"address"`
		}
		if json.Unmarshal(data, &head) != nil || !common.IsHexAddress(head.Address) {
			continue
		}
		out = append(out, keyFile{Address: common.HexToAddress(head.Address), Path: path})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// find returns the key file of addr.
func (ks *keyStore) find(addr common.Address) (keyFile, error) {
	keys, err := ks.keys()
	if err != nil {
		return keyFile{}, err
	}
	var found []keyFile
	for _, k := range keys {
		if k.Address == addr {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 0:
		return keyFile{}, errNoKey
	case 1:
		return found[0], nil
	}
	paths := make([]string, len(found))
	for i, k := range found {
		paths[i] = k.Path
	}
	return keyFile{}, fmt.Errorf("multiple keys match address %s (%s)", addr.Hex(), strings.Join(paths, ", "))
}

// decrypt reads and decrypts the key of k.
func (ks *keyStore) decrypt(k keyFile, password string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(k.Path)
	if err != nil {
		return nil, err
	}
	key, err := decryptKeyJSON(data, password)
	if err != nil {
		return nil, err
	}
	if have := crypto.PubkeyToAddress(key.PublicKey); have != k.Address {
		return nil, fmt.Errorf("key content mismatch: have account %x, want %x", have, k.Address)
	}
	return key, nil
}

// store encrypts key into a new key file.
func (ks *keyStore) store(key *ecdsa.PrivateKey, password string) (keyFile, error) {
	addr := crypto.PubkeyToAddress(key.PublicKey)
	data, err := encryptKeyJSON(key, password, ks.scryptN, ks.scryptP)
	if err != nil {
		return keyFile{}, err
	}
	if err := os.MkdirAll(ks.dir, 0o700); err != nil {
		return keyFile{}, err
	}
	path := filepath.Join(ks.dir, keyFileName(addr, time.Now()))
	tmp, err := os.CreateTemp(ks.dir, "."+filepath.Base(path)+".tmp")
	if err != nil {
		return keyFile{}, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return keyFile{}, err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return keyFile{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return keyFile{}, err
	}
	return keyFile{Address: addr, Path: path}, nil
}

// newAccount creates a random key.
func (ks *keyStore) newAccount(password string) (keyFile, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return keyFile{}, err
	}
	return ks.store(key, password)
}

// importKey stores key unless the keystore already holds its account.
func (ks *keyStore) importKey(key *ecdsa.PrivateKey, password string) (keyFile, error) {
	if _, err := ks.find(crypto.PubkeyToAddress(key.PublicKey)); err == nil {
		return keyFile{}, errAccountExists
	}
	return ks.store(key, password)
}

// unlock decrypts the key of addr and keeps it for signing until the
// process ends.
func (ks *keyStore) unlock(addr common.Address, password string) error {
	k, err := ks.find(addr)
	if err != nil {
		return err
	}
	key, err := ks.decrypt(k, password)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.unlocked[addr] = key
	ks.mu.Unlock()
	return nil
}

// unlockedKey returns the key of addr if it is unlocked.
func (ks *keyStore) unlockedKey(addr common.Address) (*ecdsa.PrivateKey, bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	k, ok := ks.unlocked[addr]
	return k, ok
}

// keyFileName is geth's name for a key file: UTC--<ISO 8601 time with
// dashes>--<address in hex>.
func keyFileName(addr common.Address, t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("UTC--%04d-%02d-%02dT%02d-%02d-%02d.%09dZ--%s", t.Year(), t.Month(), t.Day(),
		t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), hex.EncodeToString(addr[:]))
}

// Web3 Secret Storage, version 3.

type keyJSON struct {
	Address string     `json:"address"`
	Crypto  cryptoJSON `json:"crypto"`
	ID      string     `json:"id"`
	Version int        `json:"version"`
}

type cryptoJSON struct {
	Cipher       string         `json:"cipher"`
	CipherText   string         `json:"ciphertext"`
	CipherParams cipherParams   `json:"cipherparams"`
	KDF          string         `json:"kdf"`
	KDFParams    map[string]any `json:"kdfparams"`
	MAC          string         `json:"mac"`
}

type cipherParams struct {
	IV string `json:"iv"`
}

// encryptKeyJSON encrypts key with password as geth does: scrypt with
// N, r = 8, p and a 32-byte salt, AES-128-CTR, MAC keccak256(dk[16:32] ‖
// ciphertext).
func encryptKeyJSON(key *ecdsa.PrivateKey, password string, n, p int) ([]byte, error) {
	salt := make([]byte, 32)
	iv := make([]byte, aes.BlockSize)
	id := make([]byte, 16)
	for _, b := range [][]byte{salt, iv, id} {
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
	}
	dk, err := scrypt.Key([]byte(password), salt, n, scryptR, p, scryptDKLen)
	if err != nil {
		return nil, err
	}
	ct, err := aesCTR(dk[:16], iv, math.PaddedBigBytes(key.D, 32))
	if err != nil {
		return nil, err
	}
	// A random (version 4) UUID.
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	addr := crypto.PubkeyToAddress(key.PublicKey)
	return json.Marshal(keyJSON{
		Address: hex.EncodeToString(addr[:]),
		Crypto: cryptoJSON{
			Cipher:       "aes-128-ctr",
			CipherText:   hex.EncodeToString(ct),
			CipherParams: cipherParams{IV: hex.EncodeToString(iv)},
			KDF:          "scrypt",
			KDFParams:    map[string]any{"n": n, "r": scryptR, "p": p, "dklen": scryptDKLen, "salt": hex.EncodeToString(salt)},
			MAC:          hex.EncodeToString(crypto.Keccak256(dk[16:32], ct)),
		},
		ID:      fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]),
		Version: 3,
	})
}

// decryptKeyJSON decrypts a version 3 key file (scrypt or pbkdf2 with
// hmac-sha256); like geth it reads a file without version as version 3.
func decryptKeyJSON(data []byte, password string) (*ecdsa.PrivateKey, error) {
	var k keyJSON
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("invalid key file: %v", err)
	}
	if k.Version != 3 && k.Version != 0 {
		return nil, fmt.Errorf("unsupported key file version %d (want 3)", k.Version)
	}
	c := k.Crypto
	if c.Cipher != "aes-128-ctr" {
		return nil, fmt.Errorf("cipher not supported: %v", c.Cipher)
	}
	mac, err1 := hex.DecodeString(c.MAC)
	iv, err2 := hex.DecodeString(c.CipherParams.IV)
	ct, err3 := hex.DecodeString(c.CipherText)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("invalid key file: %v", err)
	}
	dk, err := deriveKey(c, password)
	if err != nil {
		return nil, err
	}
	if len(dk) < 32 || !hmac.Equal(crypto.Keccak256(dk[16:32], ct), mac) {
		return nil, errDecrypt
	}
	plain, err := aesCTR(dk[:16], iv, ct)
	if err != nil {
		return nil, err
	}
	return crypto.ToECDSA(plain)
}

func deriveKey(c cryptoJSON, password string) ([]byte, error) {
	num := func(name string) (int, error) {
		v, ok := c.KDFParams[name].(float64)
		if !ok || v < 1 || v > 1<<31 {
			return 0, fmt.Errorf("invalid key file: kdfparams.%s", name)
		}
		return int(v), nil
	}
	saltHex, _ := c.KDFParams["salt"].(string)
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return nil, fmt.Errorf("invalid key file: kdfparams.salt: %v", err)
	}
	dklen, err := num("dklen")
	if err != nil {
		return nil, err
	}
	switch c.KDF {
	case "scrypt":
		n, err1 := num("n")
		r, err2 := num("r")
		p, err3 := num("p")
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, err
		}
		return scrypt.Key([]byte(password), salt, n, r, p, dklen)
	case "pbkdf2":
		if prf, _ := c.KDFParams["prf"].(string); prf != "hmac-sha256" {
			return nil, fmt.Errorf("unsupported PBKDF2 PRF: %s", prf)
		}
		iter, err := num("c")
		if err != nil {
			return nil, err
		}
		return pbkdf2.Key(sha256.New, password, salt, iter, dklen)
	}
	return nil, fmt.Errorf("unsupported KDF: %s", c.KDF)
}

func aesCTR(key, iv, in []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("invalid key file: iv of %d bytes", len(iv))
	}
	out := make([]byte, len(in))
	cipher.NewCTR(block, iv).XORKeyStream(out, in)
	return out, nil
}
