package confidential

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
)

// testChain is a chain of head+1 blocks whose hash at n is n+1.
type testChain struct{ head uint64 }

func (c testChain) CanonicalHash(n uint64) (common.Hash, bool) {
	if n > c.head {
		return common.Hash{}, false
	}
	return common.BigToHash(new(big.Int).SetUint64(n + 1)), true
}
func (c testChain) HeadNumber() uint64 { return c.head }

func signedAuth(t *testing.T, c Call, number, expiry uint64) *CallAuth {
	t.Helper()
	hash, _ := testChain{head: number}.CanonicalHash(number)
	sig, err := SignCall(testKey, chainID, c, number, hash, expiry)
	if err != nil {
		t.Fatal(err)
	}
	n, e := math.HexOrDecimal64(number), math.HexOrDecimal64(expiry)
	return &CallAuth{BlockNumber: &n, BlockHash: &hash, Expiry: &e, Signature: sig}
}

func TestVerifyCall(t *testing.T) {
	v := testVerifier()
	now := uint64(t0.Unix())
	call := Call{From: testAddr, To: common.HexToAddress("0x1234"), Value: big.NewInt(5), Data: []byte{1, 2, 3}}
	auth := signedAuth(t, call, 100, now+60)
	if from, err := v.VerifyCall(testChain{head: 120}, call, auth); err != nil || from != testAddr {
		t.Fatalf("good signed call: %v %v", from, err)
	}
	otherHash := common.HexToHash("0xbad")
	short := *auth
	short.Signature = auth.Signature[:64]
	noHash := *auth
	noHash.BlockHash = nil
	wrongHash := *auth
	wrongHash.BlockHash = &otherHash
	altered := call
	altered.Data = []byte{1, 2, 4}
	spoofed := call
	spoofed.From = common.HexToAddress("0xdead")
	for _, c := range []struct {
		name  string
		chain testChain
		call  Call
		auth  *CallAuth
		want  string
	}{
		{"expired", testChain{head: 120}, call, signedAuth(t, call, 100, now), "call signature expired"},
		{"too old", testChain{head: 100 + MaxCallAge + 1}, call, auth, "more than 256 blocks behind"},
		{"future block", testChain{head: 99}, call, auth, "beyond the head"},
		{"wrong block hash", testChain{head: 120}, call, &wrongHash, "not the canonical block 100"},
		{"missing member", testChain{head: 120}, call, &noHash, "auth needs blockNumber, blockHash, expiry and signature"},
		{"short signature", testChain{head: 120}, call, &short, "want 65 bytes"},
		{"altered input", testChain{head: 120}, altered, auth, "not by from"},
		{"spoofed from", testChain{head: 120}, spoofed, auth, "not by from"},
	} {
		if _, err := v.VerifyCall(c.chain, c.call, c.auth); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Another chain id is another domain.
	other := NewVerifier(big.NewInt(1), nil)
	other.now = v.now
	if _, err := other.VerifyCall(testChain{head: 120}, call, auth); err == nil || !strings.Contains(err.Error(), "not by from") {
		t.Errorf("wrong chain: %v", err)
	}
}
