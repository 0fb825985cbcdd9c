package confidential

import (
	"crypto/ecdsa"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// MaxCallAge is how many blocks past a signed call's block the head may
// be for the call to hold.
const MaxCallAge = 256

// CallAuth is the "auth" member of an eth_call or eth_estimateGas call
// object: an EIP-712 signature by "from" over the call, anchored to a
// recent block and an expiry (unix seconds).
type CallAuth struct {
	BlockNumber *math.HexOrDecimal64 `json:"blockNumber"`
	BlockHash   *common.Hash         `json:"blockHash"`
	Expiry      *math.HexOrDecimal64 `json:"expiry"`
	Signature   hexutil.Bytes        `json:"signature"`
}

// Call is what a signed call signs: the call's sender, recipient (zero
// for a creation), value and input.
type Call struct {
	From  common.Address
	To    common.Address
	Value *big.Int
	Data  []byte
}

// callTypes is the EIP-712 type of a signed call.
var callTypes = apitypes.Types{
	"EIP712Domain": {
		{Name: "name", Type: "string"},
		{Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"},
	},
	"Call": {
		{Name: "from", Type: "address"},
		{Name: "to", Type: "address"},
		{Name: "value", Type: "uint256"},
		{Name: "data", Type: "bytes"},
		{Name: "blockNumber", Type: "uint64"},
		{Name: "blockHash", Type: "bytes32"},
		{Name: "expiry", Type: "uint64"},
	},
}

// CallTypedData is the EIP-712 typed data a wallet signs for a call
// (eth_signTypedData_v4).
func CallTypedData(chainID *big.Int, c Call, blockNumber uint64, blockHash common.Hash, expiry uint64) apitypes.TypedData {
	value := c.Value
	if value == nil {
		value = new(big.Int)
	}
	data := c.Data
	if data == nil {
		data = []byte{}
	}
	return apitypes.TypedData{
		Types:       callTypes,
		PrimaryType: "Call",
		Domain:      apitypes.TypedDataDomain{Name: "cocogeth", Version: "1", ChainId: (*math.HexOrDecimal256)(chainID)},
		Message: apitypes.TypedDataMessage{
			"from":        c.From.Hex(),
			"to":          c.To.Hex(),
			"value":       (*math.HexOrDecimal256)(value),
			"data":        hexutil.Bytes(data),
			"blockNumber": new(big.Int).SetUint64(blockNumber).String(),
			"blockHash":   blockHash.Hex(),
			"expiry":      new(big.Int).SetUint64(expiry).String(),
		},
	}
}

// Chain is what checking a signed call needs of the chain: the canonical
// hash at a height and the head's height.
type Chain interface {
	CanonicalHash(number uint64) (common.Hash, bool)
	HeadNumber() uint64
}

// VerifyCall checks a signed call: every member present, the expiry not
// passed, the block canonical and at most MaxCallAge blocks behind the
// head, and the signature by c.From. It returns the proven address.
func (v *Verifier) VerifyCall(chain Chain, c Call, auth *CallAuth) (common.Address, error) {
	if auth.BlockNumber == nil || auth.BlockHash == nil || auth.Expiry == nil || auth.Signature == nil {
		return common.Address{}, proofErr("malformed call signature: auth needs blockNumber, blockHash, expiry and signature")
	}
	if len(auth.Signature) != 65 {
		return common.Address{}, proofErr("malformed call signature: want 65 bytes, got %d", len(auth.Signature))
	}
	expiry, number := uint64(*auth.Expiry), uint64(*auth.BlockNumber)
	if now := uint64(v.now().Unix()); expiry <= now {
		return common.Address{}, proofErr("call signature expired at %s", time.Unix(int64(min(expiry, 1<<62)), 0).UTC().Format(time.RFC3339))
	}
	head := chain.HeadNumber()
	if number > head {
		return common.Address{}, proofErr("call signature names block %d, beyond the head %d", number, head)
	}
	if head-number > MaxCallAge {
		return common.Address{}, proofErr("call signature names block %d, more than %d blocks behind the head %d", number, MaxCallAge, head)
	}
	if hash, ok := chain.CanonicalHash(number); !ok || hash != *auth.BlockHash {
		return common.Address{}, proofErr("call signature names block hash %v, not the canonical block %d", *auth.BlockHash, number)
	}
	digest, _, err := apitypes.TypedDataAndHash(CallTypedData(v.chainID, c, number, *auth.BlockHash, expiry))
	if err != nil {
		return common.Address{}, proofErr("malformed call: %v", err)
	}
	sig := common.CopyBytes(auth.Signature)
	if sig[64] >= 27 {
		sig[64] -= 27
	}
	pub, err := crypto.SigToPub(digest, sig)
	if err != nil {
		return common.Address{}, proofErr("malformed call signature: %v", err)
	}
	if signer := crypto.PubkeyToAddress(*pub); signer != c.From {
		return common.Address{}, proofErr("call signature is not by from (%v)", c.From)
	}
	return c.From, nil
}

// SignCall signs a call as a wallet's eth_signTypedData_v4 would (for
// tools and tests).
func SignCall(key *ecdsa.PrivateKey, chainID *big.Int, c Call, blockNumber uint64, blockHash common.Hash, expiry uint64) ([]byte, error) {
	digest, _, err := apitypes.TypedDataAndHash(CallTypedData(chainID, c, blockNumber, blockHash, expiry))
	if err != nil {
		return nil, err
	}
	sig, err := crypto.Sign(digest, key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return sig, nil
}
