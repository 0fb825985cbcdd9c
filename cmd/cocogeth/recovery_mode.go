package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/keyring"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

// Disaster recovery: every node lost its sealed ledger secrets (new
// hardware, a lost ledger.keys). The operator starts the node with
// --recovery on its old, encrypted data. It reads which epochs its files
// are encrypted under (their headers) and those epochs' recovery records
// (the plaintext copies under <instance>/recovery), and serves only the
// recovery_ API until, for every needed epoch, enough members submitted a
// valid decrypted share (cocogeth recovery share); then it unwraps the
// secrets, seals them, and starts as usual.

var recoveryModeFlag = &cli.BoolFlag{
	Name:  "recovery",
	Usage: "Start on encrypted data whose ledger secrets were lost: serve only recovery_ on the HTTP port until members' shares recover them (cocogeth recovery share)",
}

// epochFiles scans dir for encrypted store files and returns, by epoch,
// the files encrypted under it.
func epochFiles(dir string) (map[uint64][]string, error) {
	out := map[uint64][]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		e, enc, err := store.FileEpoch(path)
		if err != nil {
			return err
		}
		if enc {
			rel, _ := filepath.Rel(dir, path)
			out[e] = append(out[e], rel)
		}
		return nil
	})
	return out, err
}

// recoverySession collects members' shares for the needed epochs.
type recoverySession struct {
	mu        sync.Mutex
	records   map[uint64]*recovery.Record
	missing   []uint64 // needed epochs without a record
	shares    map[uint64][]*recovery.DecryptedShare
	recovered map[uint64][]byte
	done      chan struct{}
}

// RecoveryEpoch is one epoch in recovery_status.
type RecoveryEpoch struct {
	Epoch     uint64 `json:"epoch"`
	Threshold int    `json:"threshold"`
	Members   int    `json:"members"`
	Valid     int    `json:"valid"`
	Recovered bool   `json:"recovered"`
	HasRecord bool   `json:"hasRecord"`
	Files     int    `json:"files"`
}

// RecoveryStatus is the answer of recovery_status.
type RecoveryStatus struct {
	Epochs []RecoveryEpoch `json:"epochs"`
	Done   bool            `json:"done"`
	// Message says what is still needed.
	Message string `json:"message"`
}

// RecoveryRecord is one record of recovery_records.
type RecoveryRecord struct {
	Epoch  uint64        `json:"epoch"`
	Record hexutil.Bytes `json:"record"`
}

func newRecoverySession(recordsDir string, needed map[uint64][]string) (*recoverySession, error) {
	s := &recoverySession{records: map[uint64]*recovery.Record{}, shares: map[uint64][]*recovery.DecryptedShare{},
		recovered: map[uint64][]byte{}, done: make(chan struct{})}
	for e := range needed {
		b, err := os.ReadFile(eth.RecordFile(recordsDir, e))
		if errors.Is(err, os.ErrNotExist) {
			s.missing = append(s.missing, e)
			continue
		}
		if err != nil {
			return nil, err
		}
		r := new(recovery.Record)
		if err := r.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("recovery record of epoch %d: %w", e, err)
		}
		if r.Epoch != e {
			return nil, fmt.Errorf("recovery record %s is for epoch %d", eth.RecordFile(recordsDir, e), r.Epoch)
		}
		if err := r.Verify(); err != nil {
			return nil, fmt.Errorf("recovery record of epoch %d: %w", e, err)
		}
		s.records[e] = r
	}
	slices.Sort(s.missing)
	return s, nil
}

func (s *recoverySession) status(needed map[uint64][]string) RecoveryStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st RecoveryStatus
	epochs := make([]uint64, 0, len(needed))
	for e := range needed {
		epochs = append(epochs, e)
	}
	slices.Sort(epochs)
	var short []string
	for _, e := range epochs {
		re := RecoveryEpoch{Epoch: e, Files: len(needed[e])}
		if r, ok := s.records[e]; ok {
			re.HasRecord, re.Threshold, re.Members = true, r.Threshold, len(r.Keys)
			re.Valid = len(s.shares[e])
			_, re.Recovered = s.recovered[e]
			if !re.Recovered {
				short = append(short, fmt.Sprintf("epoch %d: %d valid share(s) of %d needed, %d more member(s) must submit", e, re.Valid, re.Threshold, re.Threshold-re.Valid))
			}
		}
		st.Epochs = append(st.Epochs, re)
	}
	switch {
	case len(s.missing) > 0:
		st.Message = fmt.Sprintf("epochs %v have no recovery record in this datadir: their secrets cannot be recovered here (copy the records from another node's recovery directory)", s.missing)
	case len(short) > 0:
		st.Message = fmt.Sprint(short)
	default:
		st.Done = true
		st.Message = "every needed ledger secret is recovered"
	}
	return st
}

// submit checks a share and, once an epoch has enough, recovers its
// secret.
func (s *recoverySession) submit(sh *recovery.DecryptedShare) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[sh.Epoch]
	if !ok {
		return fmt.Errorf("this node needs no share of epoch %d", sh.Epoch)
	}
	if _, ok := s.recovered[sh.Epoch]; ok {
		return nil
	}
	if err := r.VerifyShare(sh); err != nil {
		return fmt.Errorf("share refused: %w", err)
	}
	for _, old := range s.shares[sh.Epoch] {
		if old.Index == sh.Index {
			return nil
		}
	}
	s.shares[sh.Epoch] = append(s.shares[sh.Epoch], sh)
	if len(s.shares[sh.Epoch]) < r.Threshold {
		return nil
	}
	secret, err := r.Recover(s.shares[sh.Epoch])
	if err != nil {
		return err
	}
	s.recovered[sh.Epoch] = secret
	log.Info("Recovered the ledger secret of an epoch from members' shares", "epoch", sh.Epoch, "shares", len(s.shares[sh.Epoch]))
	if len(s.recovered) == len(s.records) && len(s.missing) == 0 {
		close(s.done)
	}
	return nil
}

// recoveryAPI is the recovery_ namespace of a node in recovery mode.
type recoveryAPI struct {
	s      *recoverySession
	needed map[uint64][]string
}

// Status says which epochs need shares and how many more.
func (a *recoveryAPI) Status() RecoveryStatus { return a.s.status(a.needed) }

// Records returns the recovery records of the needed epochs (public).
func (a *recoveryAPI) Records() []RecoveryRecord {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	var out []RecoveryRecord
	for e, r := range a.s.records {
		b, err := r.MarshalBinary()
		if err == nil {
			out = append(out, RecoveryRecord{Epoch: e, Record: b})
		}
	}
	slices.SortFunc(out, func(a, b RecoveryRecord) int { return cmp.Compare(a.Epoch, b.Epoch) })
	return out
}

// SubmitShare takes one member's decrypted share (binary encoding) and
// returns the status after it.
func (a *recoveryAPI) SubmitShare(share hexutil.Bytes) (RecoveryStatus, error) {
	sh := new(recovery.DecryptedShare)
	if err := sh.UnmarshalBinary(share); err != nil {
		return RecoveryStatus{}, fmt.Errorf("malformed share: %w", err)
	}
	if err := a.s.submit(sh); err != nil {
		return RecoveryStatus{}, err
	}
	return a.s.status(a.needed), nil
}

// runRecovery waits for the members' shares and adds the recovered
// secrets to keys. It serves recovery_ over HTTP on the node's HTTP
// address until done, the context ends or a signal arrives.
//
// With tlsConf (--rpc.tls) it serves HTTPS with the node's attested
// certificate, so members check the node (cocogeth verify) before they
// send shares.
func runRecovery(ctx context.Context, stack *node.Node, cfg *node.Config, tlsConf *tls.Config, keys *keyring.Keyring) error {
	instance := stack.ResolvePath("")
	needed, err := epochFiles(instance)
	if err != nil {
		return err
	}
	if len(needed) == 0 {
		return errors.New("--recovery: this datadir holds no encrypted data to recover")
	}
	for e := range needed {
		if _, err := keys.Secret(e); err == nil {
			delete(needed, e)
		}
	}
	if len(needed) == 0 {
		log.Info("Recovery: every secret the data needs is already held")
		return nil
	}
	s, err := newRecoverySession(stack.ResolvePath(recordDir), needed)
	if err != nil {
		return err
	}
	api := &recoveryAPI{s: s, needed: needed}
	srv := rpc.NewServer()
	defer srv.Stop()
	if err := srv.RegisterName("recovery", api); err != nil {
		return err
	}
	host := cfg.HTTPHost
	if host == "" {
		host = "127.0.0.1"
	}
	if tlsConf == nil && !isLoopbackHost(host) {
		return fmt.Errorf("recovery serves members' shares, which must not cross a network in clear: on %s it needs --rpc.tls (or listen on 127.0.0.1)", host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.HTTPPort)))
	if err != nil {
		return fmt.Errorf("recovery server: %w", err)
	}
	srv.SetBatchLimits(cfg.BatchRequestLimit, cfg.BatchResponseMaxSize)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 1 << 16}
	scheme := "http"
	if tlsConf != nil {
		ln, scheme = tls.NewListener(ln, tlsConf), "https"
	}
	go hs.Serve(ln)
	defer hs.Close()
	st := s.status(needed)
	log.Warn("RECOVERY MODE: the ledger secrets are lost; waiting for members' recovery shares (cocogeth recovery share --rpc "+scheme+"://"+ln.Addr().String()+" --key FILE)",
		"epochs", len(needed), "status", st.Message)
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			s.mu.Lock()
			defer s.mu.Unlock()
			if err := inLedger(stack, keys, s.records, s.recovered); err != nil {
				return err
			}
			for e, secret := range s.recovered {
				if err := keys.Add(e, secret); err != nil {
					return fmt.Errorf("epoch %d: %w", e, err)
				}
			}
			log.Info("Recovery complete: the ledger secrets are sealed again; starting the node", "epochs", keys.Epochs())
			return nil
		case <-ctx.Done():
			return fmt.Errorf("recovery interrupted: %s", s.status(needed).Message)
		case <-tick.C:
			log.Info("Recovery: waiting for members' shares", "status", s.status(needed).Message)
		}
	}
}

// openOrResetKeys opens the keyring for recovery: a keyring this TEE
// cannot unseal (new hardware) is set aside, not used.
func openOrResetKeys(stack *node.Node, sealer keyring.Sealer) (*keyring.Keyring, error) {
	path := stack.ResolvePath(ledgerKeysFile)
	k, err := keyring.Open(path, sealer)
	if err == nil {
		return k, nil
	}
	aside := path + ".unsealable-" + time.Now().UTC().Format("20060102T150405")
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, fmt.Errorf("%v; and it cannot be set aside: %w", err, rerr)
	}
	log.Warn("Recovery: the sealed ledger secrets cannot be unsealed by this TEE; set aside", "file", aside, "err", err)
	return keyring.Open(path, sealer)
}

// inLedger checks the recovered secrets against the ledger before they are
// sealed: the chain database, opened read-only with them, must hold for
// every recovered epoch the very record the shares were made for. The
// headers and record files recovery starts from are not authenticated; a
// record planted on the disk with its own keys (and a file naming its
// epoch) would otherwise make the node encrypt under a secret its author
// chose.
func inLedger(stack *node.Node, held *keyring.Keyring, records map[uint64]*recovery.Record, recovered map[uint64][]byte) error {
	keys := recoveredKeys{held: held, extra: recovered}
	db, err := store.Open(stack.ResolvePath(eth.ChainDBPath), store.Options{ReadOnly: true, Keys: keys, Identity: nodeIdentity(stack) + "/" + eth.ChainDBPath})
	if err != nil {
		return fmt.Errorf("recovery: the chain database does not open with the recovered secrets: %w", err)
	}
	defer db.Close()
	inChain, err := eth.ReadEpochRecords(db)
	if err != nil {
		return err
	}
	for e := range recovered {
		want, err := records[e].MarshalBinary()
		if err != nil {
			return err
		}
		if !bytes.Equal(inChain[e], want) {
			return fmt.Errorf("recovery: the record of epoch %d is not the one in the ledger: refusing its secret (a record planted in the datadir?)", e)
		}
	}
	return nil
}

// recoveredKeys reads with the held secrets and the recovered ones.
type recoveredKeys struct {
	held  *keyring.Keyring
	extra map[uint64][]byte
}

func (k recoveredKeys) Current() (uint64, []byte) { return k.held.Current() }
func (k recoveredKeys) Secret(e uint64) ([]byte, error) {
	if s, ok := k.extra[e]; ok {
		return s, nil
	}
	return k.held.Secret(e)
}

// isLoopbackHost tells a host name or address that stays on this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
