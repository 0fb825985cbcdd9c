package ethapi

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

// This file renders headers, blocks, transactions and receipts in the JSON
// shapes go-ethereum v1.17 returns from its eth_* namespace. The field sets,
// the omission rules and the value encodings (hex quantities, nulls, empty
// arrays) follow geth's internal/ethapi exactly, because client libraries such
// as ethers and web3.js decode them field by field.

// rpcMarshalHeader renders a header the way eth_getHeaderByNumber and the
// header part of eth_getBlockByNumber do. Fork-specific fields appear only
// when the header carries them.
func rpcMarshalHeader(h *types.Header) map[string]any {
	out := map[string]any{
		"hash":             h.Hash(),
		"parentHash":       h.ParentHash,
		"sha3Uncles":       h.UncleHash,
		"miner":            h.Coinbase,
		"stateRoot":        h.Root,
		"transactionsRoot": h.TxHash,
		"receiptsRoot":     h.ReceiptHash,
		"logsBloom":        h.Bloom,
		"difficulty":       (*hexutil.Big)(h.Difficulty),
		"number":           (*hexutil.Big)(h.Number),
		"gasLimit":         hexutil.Uint64(h.GasLimit),
		"gasUsed":          hexutil.Uint64(h.GasUsed),
		"timestamp":        hexutil.Uint64(h.Time),
		"extraData":        hexutil.Bytes(h.Extra),
		"mixHash":          h.MixDigest,
		"nonce":            h.Nonce,
	}
	if h.BaseFee != nil { // London
		out["baseFeePerGas"] = (*hexutil.Big)(h.BaseFee)
	}
	if h.WithdrawalsHash != nil { // Shanghai
		out["withdrawalsRoot"] = h.WithdrawalsHash
	}
	if h.BlobGasUsed != nil { // Cancun
		out["blobGasUsed"] = hexutil.Uint64(*h.BlobGasUsed)
	}
	if h.ExcessBlobGas != nil { // Cancun
		out["excessBlobGas"] = hexutil.Uint64(*h.ExcessBlobGas)
	}
	if h.ParentBeaconRoot != nil { // Cancun
		out["parentBeaconBlockRoot"] = h.ParentBeaconRoot
	}
	if h.RequestsHash != nil { // Prague
		out["requestsHash"] = h.RequestsHash
	}
	if h.BlockAccessListHash != nil { // Amsterdam
		out["blockAccessListHash"] = h.BlockAccessListHash
	}
	if h.SlotNumber != nil { // Amsterdam
		out["slotNumber"] = hexutil.Uint64(*h.SlotNumber)
	}
	return out
}

// rpcMarshalBlock renders a block for eth_getBlockByNumber/Hash. With inclTx
// the "transactions" array is present, holding hashes or, with fullTx, full
// transaction objects. geth v1.17 no longer emits totalDifficulty.
func rpcMarshalBlock(b *types.Block, inclTx, fullTx bool, config *params.ChainConfig) map[string]any {
	out := rpcMarshalHeader(b.Header())
	out["size"] = hexutil.Uint64(b.Size())

	if inclTx {
		txs := b.Transactions()
		list := make([]any, len(txs))
		for i, tx := range txs {
			if fullTx {
				list[i] = newRPCTransaction(tx, b.Hash(), b.NumberU64(), b.Time(), uint64(i), b.BaseFee(), config)
			} else {
				list[i] = tx.Hash()
			}
		}
		out["transactions"] = list
	}

	uncles := make([]common.Hash, 0, len(b.Uncles()))
	for _, u := range b.Uncles() {
		uncles = append(uncles, u.Hash())
	}
	out["uncles"] = uncles

	// geth emits the body's withdrawals whenever the body has a list. A block
	// whose header commits to withdrawals always has one when read back from
	// the database; the header check covers blocks assembled in memory without
	// a body list, which would otherwise lose the (empty) array.
	if w := b.Withdrawals(); w != nil {
		out["withdrawals"] = w
	} else if b.Header().WithdrawalsHash != nil {
		out["withdrawals"] = types.Withdrawals{}
	}
	return out
}

// rpcTransaction is the JSON form of a transaction, field for field (names,
// order, omitempty) the same as geth's RPCTransaction.
type rpcTransaction struct {
	BlockHash           *common.Hash                 `json:"blockHash"`
	BlockNumber         *hexutil.Big                 `json:"blockNumber"`
	BlockTimestamp      *hexutil.Uint64              `json:"blockTimestamp"`
	From                common.Address               `json:"from"`
	Gas                 hexutil.Uint64               `json:"gas"`
	GasPrice            *hexutil.Big                 `json:"gasPrice"`
	GasFeeCap           *hexutil.Big                 `json:"maxFeePerGas,omitempty"`
	GasTipCap           *hexutil.Big                 `json:"maxPriorityFeePerGas,omitempty"`
	MaxFeePerBlobGas    *hexutil.Big                 `json:"maxFeePerBlobGas,omitempty"`
	Hash                common.Hash                  `json:"hash"`
	Input               hexutil.Bytes                `json:"input"`
	Nonce               hexutil.Uint64               `json:"nonce"`
	To                  *common.Address              `json:"to"`
	TransactionIndex    *hexutil.Uint64              `json:"transactionIndex"`
	Value               *hexutil.Big                 `json:"value"`
	Type                hexutil.Uint64               `json:"type"`
	Accesses            *types.AccessList            `json:"accessList,omitempty"`
	ChainID             *hexutil.Big                 `json:"chainId,omitempty"`
	BlobVersionedHashes []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList   []types.SetCodeAuthorization `json:"authorizationList,omitempty"`
	V                   *hexutil.Big                 `json:"v"`
	R                   *hexutil.Big                 `json:"r"`
	S                   *hexutil.Big                 `json:"s"`
	YParity             *hexutil.Uint64              `json:"yParity,omitempty"`
}

// newRPCTransaction builds the JSON form of tx. A zero blockHash means the
// transaction is not mined: the block fields are then null and gasPrice is
// the fee cap. For a mined EIP-1559-style transaction gasPrice is the price
// actually paid, min(tip + baseFee, feeCap).
func newRPCTransaction(tx *types.Transaction, blockHash common.Hash, blockNumber, blockTime, index uint64, baseFee *big.Int, config *params.ChainConfig) *rpcTransaction {
	signer := types.MakeSigner(config, new(big.Int).SetUint64(blockNumber), blockTime)
	from, _ := types.Sender(signer, tx)
	v, r, s := tx.RawSignatureValues()

	out := &rpcTransaction{
		From:     from,
		Gas:      hexutil.Uint64(tx.Gas()),
		GasPrice: (*hexutil.Big)(tx.GasPrice()),
		Hash:     tx.Hash(),
		Input:    hexutil.Bytes(tx.Data()),
		Nonce:    hexutil.Uint64(tx.Nonce()),
		To:       tx.To(),
		Value:    (*hexutil.Big)(tx.Value()),
		Type:     hexutil.Uint64(tx.Type()),
		V:        (*hexutil.Big)(v),
		R:        (*hexutil.Big)(r),
		S:        (*hexutil.Big)(s),
	}
	mined := blockHash != (common.Hash{})
	if mined {
		num := new(big.Int).SetUint64(blockNumber)
		ts, idx := hexutil.Uint64(blockTime), hexutil.Uint64(index)
		out.BlockHash = &blockHash
		out.BlockNumber = (*hexutil.Big)(num)
		out.BlockTimestamp = &ts
		out.TransactionIndex = &idx
	}

	if tx.Type() == types.LegacyTxType {
		// Only EIP-155 protected legacy transactions report a chain id.
		if id := tx.ChainId(); id.Sign() != 0 {
			out.ChainID = (*hexutil.Big)(id)
		}
		return out
	}

	// All typed transactions carry an access list, a chain id and a y-parity
	// signature value.
	acl := tx.AccessList()
	parity := hexutil.Uint64(v.Sign())
	out.Accesses = &acl
	out.ChainID = (*hexutil.Big)(tx.ChainId())
	out.YParity = &parity

	switch tx.Type() {
	case types.DynamicFeeTxType, types.BlobTxType, types.SetCodeTxType:
		out.GasFeeCap = (*hexutil.Big)(tx.GasFeeCap())
		out.GasTipCap = (*hexutil.Big)(tx.GasTipCap())
		if mined && baseFee != nil {
			out.GasPrice = (*hexutil.Big)(paidGasPrice(tx, baseFee))
		} else {
			out.GasPrice = (*hexutil.Big)(tx.GasFeeCap())
		}
	}
	switch tx.Type() {
	case types.BlobTxType:
		out.MaxFeePerBlobGas = (*hexutil.Big)(tx.BlobGasFeeCap())
		out.BlobVersionedHashes = tx.BlobHashes()
	case types.SetCodeTxType:
		out.AuthorizationList = tx.SetCodeAuthorizations()
	}
	return out
}

// paidGasPrice is the price per gas a fee-market transaction pays in a block
// with the given base fee: min(gasTipCap + baseFee, gasFeeCap).
func paidGasPrice(tx *types.Transaction, baseFee *big.Int) *big.Int {
	price := new(big.Int).Add(tx.GasTipCap(), baseFee)
	if feeCap := tx.GasFeeCap(); feeCap.Cmp(price) < 0 {
		return feeCap
	}
	return price
}

// newRPCPendingTransaction builds the JSON form of a transaction that is not
// in a block yet (txpool, eth_getTransactionByHash for pool transactions).
// current is the chain head; it selects the signer. It may be nil.
func newRPCPendingTransaction(tx *types.Transaction, current *types.Header, config *params.ChainConfig) *rpcTransaction {
	var (
		baseFee          *big.Int
		number, unixTime uint64
	)
	if current != nil {
		baseFee = eip1559.CalcBaseFee(config, current)
		number, unixTime = current.Number.Uint64(), current.Time
	}
	return newRPCTransaction(tx, common.Hash{}, number, unixTime, 0, baseFee, config)
}

// marshalReceipt renders a receipt for eth_getTransactionReceipt and
// eth_getBlockReceipts. The receipt must have been completed with
// types.Receipt(s).DeriveFields (or equivalent), so that its logs carry their
// block position and EffectiveGasPrice/BlobGasPrice/ContractAddress are set.
func marshalReceipt(r *types.Receipt, blockHash common.Hash, blockNumber uint64, signer types.Signer, tx *types.Transaction, txIndex int) map[string]any {
	from, _ := types.Sender(signer, tx)

	out := map[string]any{
		"blockHash":         blockHash,
		"blockNumber":       hexutil.Uint64(blockNumber),
		"transactionHash":   tx.Hash(),
		"transactionIndex":  hexutil.Uint64(txIndex),
		"from":              from,
		"to":                tx.To(),
		"gasUsed":           hexutil.Uint64(r.GasUsed),
		"cumulativeGasUsed": hexutil.Uint64(r.CumulativeGasUsed),
		"logsBloom":         r.Bloom,
		"type":              hexutil.Uint(tx.Type()),
		"effectiveGasPrice": (*hexutil.Big)(r.EffectiveGasPrice),
	}
	// Pre-Byzantium receipts carry an intermediate state root, later ones a
	// status code; geth reports whichever is present.
	if len(r.PostState) > 0 {
		out["root"] = hexutil.Bytes(r.PostState)
	} else {
		out["status"] = hexutil.Uint(r.Status)
	}
	if r.Logs == nil {
		out["logs"] = []*types.Log{}
	} else {
		out["logs"] = r.Logs
	}
	if tx.Type() == types.BlobTxType {
		out["blobGasUsed"] = hexutil.Uint64(r.BlobGasUsed)
		out["blobGasPrice"] = (*hexutil.Big)(r.BlobGasPrice)
	}
	// A zero contract address means the transaction did not create a contract.
	if r.ContractAddress != (common.Address{}) {
		out["contractAddress"] = r.ContractAddress
	} else {
		out["contractAddress"] = nil
	}
	return out
}
