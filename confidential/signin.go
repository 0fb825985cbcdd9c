package confidential

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// SignInMessage writes a Sign-In with Ethereum (EIP-4361) message in
// canonical form for addr on chainID, issued at issued (to the second),
// expiring ttl later, for the node at uri (its host is the domain).
func SignInMessage(uri string, addr common.Address, chainID *big.Int, issued time.Time, ttl time.Duration) string {
	domain := "cocogeth"
	if u, err := url.Parse(uri); err == nil && u.Host != "" {
		domain = u.Host
	}
	nonce := make([]byte, 8)
	rand.Read(nonce)
	issued = issued.UTC().Truncate(time.Second)
	return fmt.Sprintf("%s wants you to sign in with your Ethereum account:\n%s\n\nSign in to cocogeth\n\nURI: %s\nVersion: 1\nChain ID: %v\nNonce: %s\nIssued At: %s\nExpiration Time: %s",
		domain, addr.Hex(), uri, chainID, hex.EncodeToString(nonce),
		issued.Format(time.RFC3339), issued.Add(ttl).Format(time.RFC3339))
}

// SignIn makes the message and personal_sign signature of a session for
// key's account, as coco_login takes them.
func SignIn(key *ecdsa.PrivateKey, chainID *big.Int, uri string, ttl time.Duration) (message, signature string, err error) {
	message = SignInMessage(uri, crypto.PubkeyToAddress(key.PublicKey), chainID, time.Now(), ttl)
	sig, err := crypto.Sign(accounts.TextHash([]byte(message)), key)
	if err != nil {
		return "", "", err
	}
	sig[64] += 27
	return message, hexutil.Encode(sig), nil
}
