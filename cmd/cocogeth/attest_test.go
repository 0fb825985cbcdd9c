package main

import (
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/tee"
	"github.com/ethereum/go-ethereum/crypto"
)

func TestVerifyAttestation(t *testing.T) {
	cfg := tee.DefaultConfig()
	cfg.SecretFile = t.TempDir() + "/secret"
	sim, err := tee.New(tee.KindSimulation, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := crypto.GenerateKey()
	api, err := newAttestationAPI(sim, &key.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	good := *api.Attestation()
	if _, err := verifyAttestation(good); err != nil {
		t.Fatalf("own attestation: %v", err)
	}
	other, _ := crypto.GenerateKey()
	mangled := good
	mangled.Report = append([]byte(nil), good.Report...)
	mangled.Report[len(mangled.Report)-1] ^= 1
	for name, c := range map[string]struct {
		att  Attestation
		want string
	}{
		"another node's key": {Attestation{TEE: good.TEE, NodeKey: crypto.FromECDSAPub(&other.PublicKey), Report: good.Report}, "not bound to the node key"},
		"mangled report":     {mangled, "does not verify"},
		"truncated report":   {Attestation{TEE: good.TEE, NodeKey: good.NodeKey, Report: good.Report[:10]}, "does not verify"},
		"wrong kind":         {Attestation{TEE: "sgx", NodeKey: good.NodeKey, Report: good.Report}, "does not verify"},
		"unknown kind":       {Attestation{TEE: "tdx", NodeKey: good.NodeKey, Report: good.Report}, "does not verify"},
		"short node key":     {Attestation{TEE: good.TEE, NodeKey: good.NodeKey[:33], Report: good.Report}, "65"},
	} {
		if _, err := verifyAttestation(c.att); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
