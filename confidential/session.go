package confidential

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/lru"
	"github.com/spruceid/siwe-go"
)

// DefaultSessionLifetime is the longest session a network allows unless it
// says otherwise.
const DefaultSessionLifetime = 24 * time.Hour

// clockSkew is how far in the future a session's issued-at may be: the
// wallet's clock and the node's differ a little.
const clockSkew = time.Minute

// maxTokenLen bounds a session token before anything is decoded.
const maxTokenLen = 8 << 10

// Session is a verified Sign-In with Ethereum (EIP-4361) session.
type Session struct {
	Token   string         `json:"token"`
	Address common.Address `json:"address"`
	Expires time.Time      `json:"expires"`
}

// tokenBody is a session token before base64url: the SIWE message and its
// personal_sign signature, so any node verifies it on its own.
type tokenBody struct {
	Message   string `json:"message"`
	Signature string `json:"signature"`
}

// Verifier checks the proofs callers give: session tokens and signed calls.
// It holds no secret; every node verifies every proof alike.
type Verifier struct {
	chainID  *big.Int
	lifetime func() time.Duration // longest session the network allows
	now      func() time.Time
	sessions *lru.Cache[[32]byte, Session] // verified tokens by hash
	conns    wsSessions                    // WebSocket connections' sessions
}

// NewVerifier makes a verifier for the network of chainID. lifetime
// returns the longest session the network allows now (nil: the default).
func NewVerifier(chainID *big.Int, lifetime func() time.Duration) *Verifier {
	if lifetime == nil {
		lifetime = func() time.Duration { return DefaultSessionLifetime }
	}
	return &Verifier{
		chainID:  new(big.Int).Set(chainID),
		lifetime: lifetime,
		now:      time.Now,
		sessions: lru.NewCache[[32]byte, Session](4096),
	}
}

// ProofError is a proof that does not hold: malformed, expired, for
// another chain, wrongly signed. Its message says which.
type ProofError struct{ msg string }

func (e *ProofError) Error() string { return e.msg }

// ErrorCode is the JSON-RPC error code of a refused proof (the server's
// "invalid request" range, as EIP-1474's unauthorized answers).
func (e *ProofError) ErrorCode() int { return -32001 }

func proofErr(format string, args ...any) error {
	return &ProofError{fmt.Sprintf(format, args...)}
}

// Login checks a SIWE message and its signature (personal_sign by the
// message's address) and returns the session it opens.
func (v *Verifier) Login(message, signature string) (Session, error) {
	s, err := v.check(message, signature)
	if err != nil {
		return Session{}, err
	}
	body, _ := json.Marshal(tokenBody{Message: message, Signature: signature})
	s.Token = base64.RawURLEncoding.EncodeToString(body)
	v.sessions.Add(sha256.Sum256([]byte(s.Token)), s)
	return s, nil
}

// Session verifies a session token; verified tokens are remembered, so a
// session costs one signature recovery, not one per request.
func (v *Verifier) Session(token string) (Session, error) {
	if len(token) > maxTokenLen {
		return Session{}, proofErr("malformed session token: longer than %d bytes", maxTokenLen)
	}
	key := sha256.Sum256([]byte(token))
	s, ok := v.sessions.Get(key)
	if !ok {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token, "="))
		if err != nil {
			return Session{}, proofErr("malformed session token: not base64url")
		}
		var body tokenBody
		if err := json.Unmarshal(raw, &body); err != nil || body.Message == "" || body.Signature == "" {
			return Session{}, proofErr("malformed session token: want base64url of {\"message\", \"signature\"}")
		}
		if s, err = v.check(body.Message, body.Signature); err != nil {
			return Session{}, err
		}
		s.Token = token
		v.sessions.Add(key, s)
	}
	if now := v.now(); !now.Before(s.Expires) {
		return Session{}, proofErr("session expired at %s", s.Expires.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// check verifies a SIWE message: this chain, issued now or before, an
// expiry within the network's session lifetime and not passed, not before
// its notBefore, and signed by its address.
func (v *Verifier) check(message, signature string) (Session, error) {
	msg, err := siwe.ParseMessage(message)
	if err != nil {
		return Session{}, proofErr("malformed sign-in message: %v", err)
	}
	if msg.String() != message {
		return Session{}, proofErr("malformed sign-in message: not in EIP-4361 canonical form")
	}
	if id := big.NewInt(int64(msg.GetChainID())); id.Cmp(v.chainID) != 0 {
		return Session{}, proofErr("sign-in message is for chain id %v, this network is %v", id, v.chainID)
	}
	now := v.now()
	issued, err := time.Parse(time.RFC3339Nano, msg.GetIssuedAt())
	if err != nil {
		return Session{}, proofErr("malformed sign-in message: issued at %q", msg.GetIssuedAt())
	}
	if issued.After(now.Add(clockSkew)) {
		return Session{}, proofErr("sign-in message issued in the future (%s)", msg.GetIssuedAt())
	}
	exp := msg.GetExpirationTime()
	if exp == nil {
		return Session{}, proofErr("sign-in message has no expiration time; the network allows sessions of at most %v", v.lifetime())
	}
	expires, err := time.Parse(time.RFC3339Nano, *exp)
	if err != nil {
		return Session{}, proofErr("malformed sign-in message: expiration time %q", *exp)
	}
	if max := v.lifetime(); expires.Sub(issued) > max || expires.Sub(now) > max {
		return Session{}, proofErr("session lasts longer than the network allows (%v)", max)
	}
	if !now.Before(expires) {
		return Session{}, proofErr("session expired at %s", expires.UTC().Format(time.RFC3339))
	}
	if nb := msg.GetNotBefore(); nb != nil {
		t, err := time.Parse(time.RFC3339Nano, *nb)
		if err != nil {
			return Session{}, proofErr("malformed sign-in message: not before %q", *nb)
		}
		if now.Before(t) {
			return Session{}, proofErr("session not valid before %s", *nb)
		}
	}
	sig, err := hexutil.Decode(signature)
	if err != nil || len(sig) != 65 {
		return Session{}, proofErr("malformed signature: want 65 bytes in hex")
	}
	if _, err := msg.VerifyEIP191(signature); err != nil {
		return Session{}, proofErr("sign-in signature is not by %v", msg.GetAddress())
	}
	return Session{Address: msg.GetAddress(), Expires: expires}, nil
}
