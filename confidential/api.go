package confidential

import "github.com/ethereum/go-ethereum/common"

// API is coco_login: a wallet's signed sign-in message in, a session token
// out.
type API struct{ v *Verifier }

// NewAPI returns the login API of v.
func NewAPI(v *Verifier) *API { return &API{v} }

// LoginResult is the answer of coco_login.
type LoginResult struct {
	Token   string         `json:"token"`
	Address common.Address `json:"address"`
	Expires uint64         `json:"expires"` // unix seconds
}

// Login checks a Sign-In with Ethereum (EIP-4361) message and its
// personal_sign signature and returns the session token to present as
// "Authorization: Bearer <token>" or "?session=<token>".
func (a *API) Login(message, signature string) (*LoginResult, error) {
	s, err := a.v.Login(message, signature)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Token: s.Token, Address: s.Address, Expires: uint64(s.Expires.Unix())}, nil
}
