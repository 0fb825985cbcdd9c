package testnode

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// TestGovernedGenesis checks that the genesis StartGoverned writes is
// accepted by the node's own parser: a constitution whose nodes are the
// initial Raft voters, with the devnet's actors.
func TestGovernedGenesis(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "cocogeth")
	if err := os.WriteFile(exe, []byte("a build"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := &Governed{Cluster: &Cluster{t: t}, Owners: []string{"A", "B", "C"}, Binary: exe}
	var keys []string
	for i := 0; i < 3; i++ {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, hexutil.Encode(crypto.FromECDSAPub(&k.PublicKey)))
		g.IDs = append(g.IDs, fmt.Sprintf("node%d", i+1))
		g.RaftAddrs = append(g.RaftAddrs, net.JoinHostPort(NodeIP(i).String(), fmt.Sprint(30401+i)))
	}
	spec, err := genesis.Parse(g.genesis(g.Cluster, keys))
	if err != nil {
		t.Fatalf("genesis.Parse: %v\n%s", err, g.genesis(g.Cluster, keys))
	}
	if !spec.Coco.Governed() {
		t.Fatal("the genesis has no constitution")
	}
	vals := spec.Coco.InitialValidators()
	if len(vals) != 3 {
		t.Fatalf("initial validators %+v, want 3", vals)
	}
	for i, v := range vals {
		if v.ID != g.IDs[i] || v.RaftAddr != g.RaftAddrs[i] || hexutil.Encode(v.PublicKey) != keys[i] {
			t.Errorf("validator %d = %+v", i, v)
		}
	}
	if spec.Eth.Config.ChainID.Cmp(DevChainID) != 0 {
		t.Errorf("chain id %v", spec.Eth.Config.ChainID)
	}
	for _, a := range GovActors {
		if acc, ok := spec.Eth.Alloc[GovAddress(a)]; !ok || acc.Balance.Cmp(DevBalance) != 0 {
			t.Errorf("actor %s (%s) not funded in the genesis", a, GovAddress(a).Hex())
		}
	}
	// The code manifest lists the binary's simulation code identity.
	var cons struct {
		CodeManifest []string `json:"codeManifest"`
	}
	if err := json.Unmarshal(spec.Coco.Constitution, &cons); err != nil || len(cons.CodeManifest) != 1 || cons.CodeManifest[0] != CodeID(exe) {
		t.Errorf("constitution %s, want code manifest [%s]", spec.Coco.Constitution, CodeID(exe))
	}
	if GovAddress("A") != DevAddress {
		t.Errorf("A's account %s is not the dev account", GovAddress("A").Hex())
	}
}
