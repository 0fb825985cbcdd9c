package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/cocobackend/store"
	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"
)

var (
	recordsFlag = &cli.StringFlag{
		Name:  "records",
		Usage: "Directory of recovery records (a node's <datadir>/cocogeth/recovery): decrypt offline instead of asking a node",
	}
	sharesOutFlag = &cli.StringFlag{
		Name:  "out",
		Usage: "With --records: file to write this member's decrypted shares to (mode 0600), for an audit",
	}
	sharesFlag = &cli.StringSliceFlag{
		Name:     "shares",
		Usage:    "Files of members' decrypted shares (cocogeth recovery share --records … --out FILE); repeat or separate with commas",
		Required: true,
	}
	shareTEEFlag = &cli.StringSliceFlag{
		Name:  "tee",
		Usage: "With an https --rpc: TEE kinds the node may attest to (the constitution's TEE manifest, e.g. sgx); required",
	}
	shareCodeFlag = &cli.StringSliceFlag{
		Name:  "code",
		Usage: "With an https --rpc: code identities (0x + 32 bytes) the node may attest to (the constitution's code manifest); required",
	}
	auditDataDirFlag = &cli.StringFlag{
		Name:     "datadir",
		Usage:    "Copy of a node's data directory to audit (read only)",
		Required: true,
	}
	auditOutFlag = &cli.StringFlag{
		Name:     "out",
		Usage:    "Directory to write the decrypted chain database to (must not exist)",
		Required: true,
	}
)

var recoveryShareCommand = &cli.Command{
	Name:      "share",
	Usage:     "Decrypt this member's shares of the ledger secrets for a node in recovery mode (--rpc) or for an audit (--records, --out)",
	ArgsUsage: " ",
	Flags:     []cli.Flag{recoveryKeyFlag, rpcFlag, shareTEEFlag, shareCodeFlag, recordsFlag, sharesOutFlag},
	Description: `With --rpc, asks the node (started with --recovery) for the recovery records
of the epochs its data needs, decrypts this member's share of each with the
private key --key, with a proof that it is the correct decryption, and
submits them; the node recovers a secret once enough members did. Send
shares only to a node you trust to be the network's: M shares unlock the
secret. Over https (a node started with --rpc.tls) the node proves its TEE
and code in its certificate, and nothing is sent unless they are among
--tee and --code (the constitution's manifests, which a locked node cannot
serve); plain http is accepted to a node on this machine only.

With --records DIR --out FILE, decrypts offline from a copy of a node's
record directory and writes the shares to FILE, for an auditor (cocogeth
recovery audit).`,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", ctx.Args().First())
		}
		key, err := recovery.ReadKeyFile(ctx.String(recoveryKeyFlag.Name))
		if err != nil {
			return err
		}
		if dir := ctx.String(recordsFlag.Name); dir != "" {
			return writeShares(ctx, key, dir, ctx.String(sharesOutFlag.Name))
		}
		return submitShares(ctx, key)
	},
}

// decryptShares decrypts key's share of every record it is a member of.
func decryptShares(key *recovery.PrivateKey, recs map[uint64]*recovery.Record) ([]*recovery.DecryptedShare, []uint64, error) {
	var out []*recovery.DecryptedShare
	var notMine []uint64
	epochs := make([]uint64, 0, len(recs))
	for e := range recs {
		epochs = append(epochs, e)
	}
	slices.Sort(epochs)
	for _, e := range epochs {
		sh, err := recs[e].DecryptShare(key)
		if errors.Is(err, recovery.ErrNotAMember) {
			notMine = append(notMine, e)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("epoch %d: %w", e, err)
		}
		out = append(out, sh)
	}
	return out, notMine, nil
}

func submitShares(ctx *cli.Context, key *recovery.PrivateKey) error {
	endpoint := ctx.String(rpcFlag.Name)
	if err := shareEndpointAllowed(endpoint); err != nil {
		return err
	}
	var served *x509.Certificate
	c, err := dialAttested(ctx.Context, endpoint, "", &served)
	if err != nil {
		return fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
	}
	defer c.Close()
	var raw []RecoveryRecord
	if err := c.CallContext(ctx.Context, &raw, "recovery_records"); err != nil {
		return fmt.Errorf("recovery_records: %w (is the node started with --recovery?)", err)
	}
	if err := checkShareTarget(ctx, served); err != nil {
		return err
	}
	recs := map[uint64]*recovery.Record{}
	for _, r := range raw {
		rec := new(recovery.Record)
		if err := rec.UnmarshalBinary(r.Record); err != nil || rec.Epoch != r.Epoch {
			return fmt.Errorf("the node sent a malformed record for epoch %d: %v", r.Epoch, err)
		}
		recs[r.Epoch] = rec
	}
	shares, notMine, err := decryptShares(key, recs)
	if err != nil {
		return err
	}
	if len(notMine) > 0 {
		fmt.Fprintf(ctx.App.Writer, "not a member of the records of epochs %v (key %s)\n", notMine, hexutil.Encode(key.Public()))
	}
	var st RecoveryStatus
	for _, sh := range shares {
		b, err := sh.MarshalBinary()
		if err != nil {
			return err
		}
		if err := c.CallContext(ctx.Context, &st, "recovery_submitShare", hexutil.Bytes(b)); err != nil {
			return fmt.Errorf("epoch %d: %w", sh.Epoch, err)
		}
		fmt.Fprintf(ctx.App.Writer, "submitted the share of epoch %d\n", sh.Epoch)
	}
	if len(shares) == 0 {
		if err := c.CallContext(ctx.Context, &st, "recovery_status"); err != nil {
			return err
		}
	}
	fmt.Fprintln(ctx.App.Writer, st.Message)
	return nil
}

// checkShareTarget refuses to send shares to a node whose attestation is
// not among the kinds and code identities the member names. Over https the
// node proved them in its certificate (checked by dialAttested); over plain
// http (to this machine only) nothing is proved, and pinning is refused
// rather than silently skipped.
func checkShareTarget(ctx *cli.Context, served *x509.Certificate) error {
	kinds, codes := ctx.StringSlice(shareTEEFlag.Name), ctx.StringSlice(shareCodeFlag.Name)
	if served == nil {
		if len(kinds) > 0 || len(codes) > 0 {
			return errors.New("--tee and --code need the node's https endpoint (started with --rpc.tls): over plain http it proves nothing")
		}
		return nil
	}
	claims, err := nodetls.VerifyAttestedCertificate(served)
	if err != nil {
		return err
	}
	fmt.Fprintf(ctx.App.Writer, "node attested: %s\n", claims)
	if len(kinds) == 0 || len(codes) == 0 {
		return fmt.Errorf("nothing sent: name the TEE kinds and code identities the node may run (--tee %s --code 0x%x if the constitution's manifests list them)", claims.Kind, claims.UniqueID)
	}
	if !slices.Contains(kinds, claims.Kind) {
		return fmt.Errorf("nothing sent: the node attested TEE %q, not one of --tee %v", claims.Kind, kinds)
	}
	for _, c := range codes {
		b, err := hexutil.Decode(c)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("invalid --code %q: want 0x and 32 bytes of hex", c)
		}
		if bytes.Equal(b, claims.UniqueID[:]) {
			return nil
		}
	}
	return fmt.Errorf("nothing sent: the node attested code 0x%x, not one of --code %v", claims.UniqueID, codes)
}

// readRecords reads every record file of a record directory.
func readRecords(dir string) (map[uint64]*recovery.Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "epoch-*.rec"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no recovery records in %s", dir)
	}
	recs := map[uint64]*recovery.Record{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r := new(recovery.Record)
		if err := r.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := r.Verify(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		recs[r.Epoch] = r
	}
	return recs, nil
}

func writeShares(ctx *cli.Context, key *recovery.PrivateKey, dir, out string) error {
	if out == "" {
		return fmt.Errorf("--records needs --out FILE")
	}
	recs, err := readRecords(dir)
	if err != nil {
		return err
	}
	shares, _, err := decryptShares(key, recs)
	if err != nil {
		return err
	}
	if len(shares) == 0 {
		return fmt.Errorf("this key (%s) is in none of the records of %s", hexutil.Encode(key.Public()), dir)
	}
	b, err := json.MarshalIndent(shares, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(ctx.App.Writer, "wrote %d share(s) to %s: give it only to the auditor\n", len(shares), out)
	return nil
}

// auditKeys are recovered secrets for reading a copy offline.
type auditKeys map[uint64][]byte

func (k auditKeys) Current() (uint64, []byte) { return 0, nil }
func (k auditKeys) Secret(e uint64) ([]byte, error) {
	if s, ok := k[e]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("epoch %d was not recovered from the shares given", e)
}

var recoveryAuditCommand = &cli.Command{
	Name:      "audit",
	Usage:     "Decrypt a copy of a node's chain database offline with M members' shares, for an audit",
	ArgsUsage: " ",
	Flags:     []cli.Flag{auditDataDirFlag, sharesFlag, auditOutFlag},
	Description: `Reads the recovery records of the copy (<datadir>/cocogeth/recovery), combines
the members' decrypted shares (cocogeth recovery share --records … --out …)
into the ledger secrets, authenticates every file of the copy's chain
database and writes its content, decrypted, to a new database at --out,
which any goleveldb tool reads. Prints the head block.`,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", ctx.Args().First())
		}
		instance := filepath.Join(ctx.String(auditDataDirFlag.Name), "cocogeth")
		recs, err := readRecords(filepath.Join(instance, recordDir))
		if err != nil {
			return err
		}
		byEpoch := map[uint64][]*recovery.DecryptedShare{}
		for _, f := range ctx.StringSlice(sharesFlag.Name) {
			for _, name := range strings.Split(f, ",") {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				var shares []*recovery.DecryptedShare
				if err := json.Unmarshal(b, &shares); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				for _, sh := range shares {
					if sh == nil {
						return fmt.Errorf("%s: a null share", name)
					}
					byEpoch[sh.Epoch] = append(byEpoch[sh.Epoch], sh)
				}
			}
		}
		keys := auditKeys{}
		for e, r := range recs {
			secret, err := r.Recover(byEpoch[e])
			if err != nil {
				fmt.Fprintf(ctx.App.ErrWriter, "epoch %d: %v\n", e, err)
				continue
			}
			keys[e] = secret
		}
		nodeKey, err := crypto.LoadECDSA(filepath.Join(instance, "nodekey"))
		if err != nil {
			return fmt.Errorf("the copy's node key (it names the node's files): %w", err)
		}
		id := crypto.PubkeyToAddress(nodeKey.PublicKey).Hex()
		src, err := store.Open(filepath.Join(instance, eth.ChainDBPath), store.Options{ReadOnly: true, Keys: keys, Identity: id + "/" + eth.ChainDBPath})
		if err != nil {
			return err
		}
		defer src.Close()
		outDir := ctx.String(auditOutFlag.Name)
		if _, err := os.Stat(outDir); err == nil {
			return fmt.Errorf("%s exists", outDir)
		}
		dst, err := store.Open(outDir, store.Options{})
		if err != nil {
			return err
		}
		defer dst.Close()
		it := src.NewIterator(nil, nil)
		defer it.Release()
		batch := dst.NewBatch()
		n := 0
		for it.Next() {
			batch.Put(it.Key(), it.Value())
			n++
			if batch.ValueSize() > 16<<20 {
				if err := batch.Write(); err != nil {
					return err
				}
				batch.Reset()
			}
		}
		if err := it.Error(); err != nil {
			return err
		}
		if err := batch.Write(); err != nil {
			return err
		}
		db := rawdb.NewDatabase(src)
		head := rawdb.ReadHeadBlockHash(db)
		num, ok := rawdb.ReadHeaderNumber(db, head)
		if !ok {
			return fmt.Errorf("the copy has no head block")
		}
		fmt.Fprintf(ctx.App.Writer, "decrypted %d records to %s; head block %d %s\n", n, outDir, num, head.Hex())
		return nil
	},
}

// shareEndpointAllowed refuses to send shares in clear over a network:
// plain http only to this machine, anything remote over https (whose
// certificate dialAttested checks).
func shareEndpointAllowed(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("bad --rpc %q: %v", endpoint, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing to send recovery shares in clear to %s: use https (the node runs with --rpc.tls)", u.Host)
	}
	return fmt.Errorf("--rpc %q: want an http(s) URL", endpoint)
}
