package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend"
	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/atomicfile"
	"github.com/cocogeth/cocogeth/keyring"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/node"
)

// Files of the node's instance directory for data at rest.
const (
	// ledgerKeysFile holds the ledger secrets, sealed by the node's TEE.
	ledgerKeysFile = "ledger.keys"
	// pendingGenesisFile holds a genesis `init` recorded on a node that
	// must fetch the network's ledger secrets before it can write the
	// chain: done at first start.
	pendingGenesisFile = "genesis.pending.json"
	// recordDir holds a plaintext copy of every epoch's recovery record.
	recordDir = "recovery"
	// teeSecretFile is the simulation TEE's sealing secret.
	teeSecretFile = "tee.secret"
)

// plaintextStorageEnv, set to 1, stores the node's data unencrypted: for
// measuring what encryption costs only. It is logged as INSECURE and
// refused on a governed network.
const plaintextStorageEnv = "COCOGETH_INSECURE_PLAINTEXT_STORAGE"

func plaintextStorage() bool { return os.Getenv(plaintextStorageEnv) == "1" }

// refusePlaintext fails on a governed network when storage is plaintext.
func refusePlaintext(spec *genesis.Spec) error {
	if plaintextStorage() && spec.Coco.Governed() {
		return fmt.Errorf("%s=1 is refused on a governed network: its data must be encrypted at rest", plaintextStorageEnv)
	}
	return nil
}

func warnPlaintext() {
	log.Warn("INSECURE: this node stores its data UNENCRYPTED ("+plaintextStorageEnv+"=1, for measurements only): anyone who reads the disk reads every contract, transaction and state value", "env", plaintextStorageEnv)
}

// keysFetchTimeout bounds how long a node's first start waits for the
// network's ledger secrets.
const keysFetchTimeout = 5 * time.Minute

func openLedgerKeys(stack *node.Node, enclave tee.TEE) (*keyring.Keyring, error) {
	return keyring.Open(stack.ResolvePath(ledgerKeysFile), enclave)
}

// nodeStorage is how the node's stores encrypt their files: under the
// ledger secrets, bound to the node's address (so a file copied from
// another node does not authenticate), stopping the node on a damaged
// file rather than serving around it.
//
// Nil keys store plaintext (plaintextStorage).
func nodeStorage(stack *node.Node, keys *keyring.Keyring) eth.Storage {
	if keys == nil {
		return eth.Storage{OnCorrupt: stopOnCorrupt}
	}
	return eth.Storage{Keys: keys, Identity: nodeIdentity(stack), OnCorrupt: stopOnCorrupt, RecordDir: stack.ResolvePath(recordDir)}
}

// nodeIdentity names the node's stores: the address of its node key.
func nodeIdentity(stack *node.Node) string {
	return crypto.PubkeyToAddress(stack.Config().NodeKey().PublicKey).Hex()
}

// stopOnCorrupt stops the process at once: a file failed authentication
// while the node ran, and geth's readers would turn the failed read into
// an absent block or receipt.
func stopOnCorrupt(err error) {
	log.Crit("Stopping: a file of this node's data failed authentication (damaged or altered); nothing it holds will be served. Restore the datadir from a backup or let the node catch up from a fresh datadir", "err", err)
}

// hasChain reports whether the chain database exists.
func hasChain(stack *node.Node) bool {
	_, err := os.Stat(filepath.Join(stack.ResolvePath(eth.ChainDBPath), "CURRENT"))
	return err == nil
}

// originatesKeys reports whether this node makes the network's first
// ledger secret: the single node of a network without validators, or the
// first validator of the genesis. The others fetch it from the validators.
func originatesKeys(stack *node.Node, spec *genesis.Spec) bool {
	vals := spec.Coco.InitialValidators()
	if len(vals) == 0 {
		return true
	}
	pk, err := vals[0].Key()
	return err == nil && bytes.Equal(crypto.FromECDSAPub(pk), crypto.FromECDSAPub(&stack.Config().NodeKey().PublicKey))
}

// initDatabase writes the genesis into the node's chain database unless it
// already holds the same chain. A node that makes the network's first
// ledger secret makes it here; a node that must fetch it records the
// genesis, and writes the chain at its first start (prepareChain).
func initDatabase(stack *node.Node, spec *genesis.Spec, enclave tee.TEE) error {
	if plaintextStorage() {
		if err := refusePlaintext(spec); err != nil {
			return err
		}
		warnPlaintext()
		return writeGenesis(stack, spec, nil)
	}
	keys, err := openLedgerKeys(stack, enclave)
	if err != nil {
		return err
	}
	if keys.Empty() && !hasChain(stack) {
		if !originatesKeys(stack, spec) {
			return recordPendingGenesis(stack, spec)
		}
		epoch, _, err := keys.Generate()
		if err != nil {
			return err
		}
		log.Info("Made the network's first ledger secret, sealed by the TEE", "epoch", epoch, "file", keys.Path())
	}
	return writeGenesis(stack, spec, keys)
}

func writeGenesis(stack *node.Node, spec *genesis.Spec, keys *keyring.Keyring) error {
	if keys != nil && keys.Empty() {
		return lostKeysError(keys)
	}
	db, _, err := eth.OpenDatabase(stack.ResolvePath(eth.ChainDBPath), nodeStorage(stack, keys).Options(eth.ChainDBPath))
	if err != nil {
		return err
	}
	defer db.Close()
	block, err := eth.InitChain(db, spec)
	if err != nil {
		return err
	}
	log.Info("Genesis ready", "hash", block.Hash(), "chainid", spec.ChainConfig().ChainID)
	return nil
}

func lostKeysError(keys *keyring.Keyring) error {
	return fmt.Errorf("the datadir holds an encrypted chain but no ledger secrets (%s is missing): they were lost with the TEE or the file; members can recover them (docs/operators.md)", keys.Path())
}

// recordPendingGenesis keeps the genesis for the first start; a different
// genesis already recorded is refused, as a different chain is.
func recordPendingGenesis(stack *node.Node, spec *genesis.Spec) error {
	raw, err := spec.MarshalJSON()
	if err != nil {
		return err
	}
	path := stack.ResolvePath(pendingGenesisFile)
	if old, err := readPendingGenesis(stack); err != nil {
		return err
	} else if old != nil {
		oldRaw, _ := old.MarshalJSON()
		if !bytes.Equal(oldRaw, raw) {
			return fmt.Errorf("datadir already initialised with another genesis (%s, genesis %s; file gives %s); use a fresh datadir",
				path, old.Eth.ToBlock().Hash().Hex(), spec.Eth.ToBlock().Hash().Hex())
		}
		return nil
	}
	if err := atomicfile.Write(path, raw, 0o600); err != nil {
		return err
	}
	log.Info("Genesis recorded: the chain is written at first start, once the network's ledger secrets are fetched from a validating node",
		"hash", spec.Eth.ToBlock().Hash(), "file", path)
	return nil
}

func readPendingGenesis(stack *node.Node) (*genesis.Spec, error) {
	path := stack.ResolvePath(pendingGenesisFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	spec, err := genesis.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
}

// prepareChain makes sure the node holds its ledger secrets and its chain
// before the chain opens: a node whose `init` recorded a pending genesis
// fetches the secrets from the genesis validators over the authenticated
// node-to-node channel (or, with an insecure plaintext channel, makes its
// own), then writes the genesis.
//
// joinID is the node's --raft.id: a node not in the genesis (joining after
// a vote) authenticates with it.
func prepareChain(ctx context.Context, stack *node.Node, keys *keyring.Keyring, enclave tee.TEE, plaintext bool, joinID string) error {
	spec, err := readPendingGenesis(stack)
	if err != nil {
		return err
	}
	if spec == nil {
		if keys.Empty() {
			if hasChain(stack) {
				return lostKeysError(keys)
			}
			return eth.ErrNotInitialised
		}
		return nil
	}
	if keys.Empty() {
		if plaintext {
			epoch, _, err := keys.Generate()
			if err != nil {
				return err
			}
			log.Warn("INSECURE plaintext node-to-node channel: this node encrypts its data under a ledger secret of its own, which the network's members cannot recover", "epoch", epoch)
		} else if err := fetchLedgerKeys(ctx, stack, spec, enclave, keys, joinID); err != nil {
			return err
		}
	}
	if err := writeGenesis(stack, spec, keys); err != nil {
		return err
	}
	return os.Remove(stack.ResolvePath(pendingGenesisFile))
}

// fetchLedgerKeys asks the genesis validators, in turn, for the network's
// ledger secrets until one answers. Each is authenticated as the genesis
// lists it (node key, attestation to the genesis manifests), and this node
// must be admitted by it: a node added by a vote fetches once the vote
// passed.
func fetchLedgerKeys(ctx context.Context, stack *node.Node, spec *genesis.Spec, enclave tee.TEE, keys *keyring.Keyring, joinID string) error {
	self := stack.Config().NodeKey()
	mine := crypto.FromECDSAPub(&self.PublicKey)
	admitted := map[string][]byte{}
	var from []genesis.Validator
	selfID := ""
	for _, v := range spec.Coco.InitialValidators() {
		pk, err := v.Key()
		if err != nil {
			return err
		}
		admitted[v.ID] = crypto.FromECDSAPub(pk)
		if bytes.Equal(admitted[v.ID], mine) {
			selfID = v.ID
			continue
		}
		from = append(from, v)
	}
	if len(from) == 0 {
		return errors.New("no validating node to fetch the network's ledger secrets from")
	}
	if selfID == "" {
		if joinID == "" {
			return fmt.Errorf("this node's key %x is not among the genesis validators; a node joining later needs --raft.id and --raft.addr", mine)
		}
		selfID = joinID
	}
	genesisHash := spec.Eth.ToBlock().Hash()
	guard, err := nodetls.NewGuard(nodetls.Identity{ID: selfID, Key: self, Network: genesisHash, TEE: enclave}, nodetls.NewRegistry(admitted))
	if err != nil {
		return err
	}
	guard.SetAttestation(genesisAttestation(spec, enclave.Kind()))
	ctx, cancel := context.WithTimeout(ctx, keysFetchTimeout)
	defer cancel()
	log.Info("Fetching the network's ledger secrets from the validating nodes", "nodes", len(from))
	lastLog := time.Now()
	for {
		for _, v := range from {
			b, p, err := cocobackend.FetchKeys(guard, v.RaftAddr)
			if err == nil {
				if err = keys.Import(b); err == nil {
					log.Info("Received the network's ledger secrets", "from", p.ID, "epochs", keys.Epochs())
					return nil
				}
				return fmt.Errorf("ledger secrets from %s: %w", v.ID, err)
			}
			if time.Since(lastLog) > 10*time.Second {
				log.Info("Waiting for a validating node to send the ledger secrets", "node", v.ID, "addr", v.RaftAddr, "err", err)
				lastLog = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no validating node sent the network's ledger secrets within %v (is one running, and does it admit this node?)", keysFetchTimeout)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// genesisAttestation is what this node requires of the validating node it
// fetches the secrets from: an attested TEE of a kind the genesis admits
// (its constitution's TEE manifest, or, without one, this node's kind),
// running any code: the network may have voted new code since the genesis,
// which this node cannot know yet; the server is still the node holding a
// genesis validator's key, and it checks this node against the current
// constitution before it answers.
func genesisAttestation(spec *genesis.Spec, kind string) cocobackend.Attestation {
	kinds := []string{kind}
	if g := spec.Coco.GenesisConstitution(); g != nil {
		kinds = g.TEEManifest
	}
	return cocobackend.Attestation{Required: true, Kinds: kinds, AnyCode: true}
}
