package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cocogeth/cocogeth/cocobackend/nodetls"
	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/metrics"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/urfave/cli/v2"
)

// startTEE opens the node's TEE and labels it: in the log at start, in
// coco_nodeInfo, in the metrics (tee/<kind> = 1). sgx refuses to run
// outside an enclave; simulation is marked insecure everywhere.
func startTEE(kind, secretFile string) (tee.TEE, error) {
	cfg := tee.DefaultConfig()
	cfg.SecretFile = secretFile
	t, err := tee.New(kind, cfg)
	if err != nil {
		return nil, fmt.Errorf("TEE %s: %w", kind, err)
	}
	metrics.GetOrRegisterGauge("tee/"+kind, nil).Update(1)
	if kind == tee.KindSimulation {
		log.Warn("TEE: SIMULATION, not an enclave", "label", tee.Label(kind))
	} else {
		log.Info("TEE", "kind", tee.Label(kind))
	}
	return t, nil
}

// Attestation is the answer of coco_attestation: the node's TEE report
// binding its node key (the key the genesis or the constitution lists).
type Attestation struct {
	TEE     string        `json:"tee"`     // kind: sgx or simulation
	Label   string        `json:"label"`   // for humans; simulation says INSECURE
	NodeKey hexutil.Bytes `json:"nodeKey"` // 65-byte public key
	// Report binds SHA-256(nodeKey) as its data; verify it with the
	// kind's verifier (cocogeth verify does).
	Report hexutil.Bytes `json:"report"`
	// Certificate is the DER of the TLS certificate the node serves to
	// clients (--rpc.tls), which carries its own report over its key.
	Certificate hexutil.Bytes `json:"certificate,omitempty"`
}

// rpcCertLifetime is how long the node's client TLS certificate is valid;
// a new one is made at every start.
const rpcCertLifetime = 365 * 24 * time.Hour

// attestationAPI is coco_attestation.
type attestationAPI struct{ att *Attestation }

func newAttestationAPI(t tee.TEE, key *ecdsa.PublicKey, cert *tls.Certificate) (*attestationAPI, error) {
	pub := crypto.FromECDSAPub(key)
	report, err := t.Report(tee.ReportData(pub))
	if err != nil {
		return nil, fmt.Errorf("TEE report: %w", err)
	}
	att := &Attestation{TEE: t.Kind(), Label: tee.Label(t.Kind()), NodeKey: pub, Report: report}
	if cert != nil {
		att.Certificate = cert.Certificate[0]
	}
	return &attestationAPI{att}, nil
}

// Attestation returns the node's TEE report over its node key.
func (a *attestationAPI) Attestation() *Attestation { return a.att }

// verifiedNode is what cocogeth verify established about a node.
type verifiedNode struct {
	att    Attestation
	claims tee.Claims
}

// verifyAttestation checks a node's attestation: the report verifies as
// its kind's and binds SHA-256 of the node key it names.
func verifyAttestation(att Attestation) (tee.Claims, error) {
	claims, err := tee.Verify(att.TEE, att.Report)
	if err != nil {
		return claims, fmt.Errorf("report does not verify: %w", err)
	}
	if len(att.NodeKey) != 65 {
		return claims, fmt.Errorf("node key is %d bytes, want 65", len(att.NodeKey))
	}
	want := make([]byte, tee.ReportDataSize) // report data is zero-padded
	copy(want, tee.ReportData(att.NodeKey))
	if !bytes.Equal(claims.Data, want) {
		return claims, errors.New("report is not bound to the node key it names")
	}
	return claims, nil
}

var verifyCommand = &cli.Command{
	Name:      "verify",
	Usage:     "Check a node's TEE attestation, and on a governed network its admission by the constitution",
	ArgsUsage: "URL",
	Description: `Fetches coco_attestation from the node at URL, verifies its report and that
it binds the node key, and prints the claims (TEE kind, code identity,
signer, product, security version, debug). On a network with a constitution
it also checks that the constitution lists the node key and admits the TEE
kind and the code identity (reading it needs an actor's --session). Exits
non-zero when a check fails.`,
	Flags: []cli.Flag{rpcFlag, sessionFlag},
	Action: func(ctx *cli.Context) error {
		args, err := positional(ctx)
		if err != nil {
			return err
		}
		if len(args) > 1 {
			return fmt.Errorf("unexpected argument %q (want one URL)", args[1])
		}
		if len(args) == 1 {
			ctx.Set(rpcFlag.Name, args[0])
		}
		endpoint := ctx.String(rpcFlag.Name)
		var served *x509.Certificate // the TLS certificate of the connection
		c, err := dialAttested(ctx.Context, endpoint, ctx.String(sessionFlag.Name), &served)
		if err != nil {
			return fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
		}
		defer c.Close()
		var att Attestation
		if err := callCoco(ctx.Context, c, endpoint, &att, "coco_attestation"); err != nil {
			return err
		}
		if served != nil {
			w := ctx.App.Writer
			if !bytes.Equal(served.Raw, att.Certificate) {
				fmt.Fprintln(w, "TLS          FAILED: the certificate served is not the one the node attests")
				return errors.New("the TLS certificate is not the node's attested one")
			}
			fmt.Fprintln(w, "TLS          certificate attested, its report verified and bound to its key")
		}
		return reportVerification(ctx.Context, ctx.App.Writer, att, func(out any) error {
			return callCoco(ctx.Context, c, endpoint, out, "coco_constitution")
		})
	},
}

// reportVerification prints the checks of a node's attestation; the
// constitution is read with readConstitution.
func reportVerification(ctx context.Context, w io.Writer, att Attestation, readConstitution func(any) error) error {
	fmt.Fprintf(w, "TEE          %s\n", tee.Label(att.TEE))
	fmt.Fprintf(w, "node key     %s\n", att.NodeKey)
	claims, err := verifyAttestation(att)
	if err != nil {
		fmt.Fprintf(w, "report       FAILED: %v\n", err)
		return err
	}
	fmt.Fprintf(w, "report       verified, bound to the node key\n")
	fmt.Fprintf(w, "code id      %s\nsigner id    %s\nproduct      %d\nsecurity     %d\ndebug        %t\n",
		common.Hash(claims.UniqueID).Hex(), common.Hash(claims.SignerID).Hex(), claims.ProductID, claims.SecurityVersion, claims.Debug)
	var cons ethapi.RPCConstitution
	if err := readConstitution(&cons); err != nil {
		if strings.Contains(err.Error(), "no constitution") {
			fmt.Fprintln(w, "constitution none on this network: node key and code are fixed by the genesis")
			return nil
		}
		return fmt.Errorf("read the constitution: %w", err)
	}
	var failed []string
	check := func(what string, ok bool) {
		mark := "ok"
		if !ok {
			mark, failed = "FAILED", append(failed, what)
		}
		fmt.Fprintf(w, "%-12s %s\n", what, mark)
	}
	i := slices.IndexFunc(cons.Nodes, func(n governance.Node) bool { return bytes.Equal(n.PublicKey, att.NodeKey) })
	check("node listed", i >= 0)
	if i >= 0 && cons.Nodes[i].CodeID != (common.Hash{}) {
		check("pinned code", cons.Nodes[i].CodeID == common.Hash(claims.UniqueID))
	}
	check("TEE kind", slices.Contains(cons.TEEManifest, att.TEE))
	check("code id", slices.Contains(cons.CodeManifest, common.Hash(claims.UniqueID)))
	check("not debug", !claims.Debug)
	if len(failed) > 0 {
		return fmt.Errorf("the constitution does not admit this node: %s", strings.Join(failed, ", "))
	}
	return nil
}

// dialAttested connects to endpoint; over https:// or wss:// it accepts
// the server's certificate only if it carries a TEE report that verifies
// and binds its key (a node serves no CA-signed certificate), and stores
// it in *served.
func dialAttested(ctx context.Context, endpoint, session string, served **x509.Certificate) (*rpc.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "wss") {
		return dialWithSession(ctx, endpoint, session)
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // no CA: the attestation is checked below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			if _, err := nodetls.VerifyAttestedCertificate(cs.PeerCertificates[0]); err != nil {
				return fmt.Errorf("the node's TLS certificate: %w", err)
			}
			*served = cs.PeerCertificates[0]
			return nil
		},
	}
	opts := []rpc.ClientOption{
		rpc.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}),
		rpc.WithWebsocketDialer(websocket.Dialer{TLSClientConfig: cfg}),
	}
	if session != "" {
		opts = append(opts, rpc.WithHeader("Authorization", "Bearer "+session))
	}
	return rpc.DialOptions(ctx, endpoint, opts...)
}
