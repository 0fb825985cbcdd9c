package eth

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
)

// Ledger entries are typed and versioned: the first byte is the kind, then
// the block hash (so a node can recognise a block it built itself without
// decoding it), then the RLP body.
const (
	entryBlockV1 byte = 1 // block, receipts, trie write set
	entryBlockV2 byte = 3 // and the write set's flat change
)

// blockEntry is the body of a block entry: the block, its receipts and the
// leader's state write set; from entryBlockV2 on, also the write set's
// flat change (accounts and slots by key hash), which followers add to
// their flat state.
type blockEntry struct {
	Block    *types.Block
	Senders  []common.Address // the leader's sender recovery, trusted by attested followers
	Receipts []*types.ReceiptForStorage
	Root     common.Hash
	Nodes    []HashBlob
	Codes    []HashBlob
	Accounts []HashBlob    `rlp:"optional"`
	Storage  []FlatStorage `rlp:"optional"`
}

func isBlockEntry(kind byte) bool { return kind == entryBlockV1 || kind == entryBlockV2 }

// The parent hash follows the block hash, so that a node can recognise a
// stale block without decoding it.
func encodeBlockEntry(b *builtBlock) ([]byte, error) {
	rs := make([]*types.ReceiptForStorage, len(b.receipts))
	for i, r := range b.receipts {
		rs[i] = (*types.ReceiptForStorage)(r)
	}
	signer := types.MakeSigner(b.config, b.block.Number(), b.block.Time())
	senders := make([]common.Address, len(b.block.Transactions()))
	for i, tx := range b.block.Transactions() {
		senders[i], _ = types.Sender(signer, tx) // cached since admission
	}
	body, err := rlp.EncodeToBytes(&blockEntry{
		Block: b.block, Senders: senders, Receipts: rs, Root: b.writes.Root, Nodes: b.writes.Nodes, Codes: b.writes.Codes,
		Accounts: b.writes.Accounts, Storage: b.writes.Storage,
	})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, entryHeaderLen+len(body))
	out = append(out, entryBlockV2)
	out = append(out, b.block.Hash().Bytes()...)
	out = append(out, b.block.ParentHash().Bytes()...)
	return append(out, body...), nil
}

// entryHeaderLen is kind, block hash and parent hash.
const entryHeaderLen = 1 + 32 + 32

// peekParent returns the parent hash of a block entry.
func peekParent(entry []byte) (common.Hash, bool) {
	if len(entry) < entryHeaderLen || !isBlockEntry(entry[0]) {
		return common.Hash{}, false
	}
	return common.BytesToHash(entry[33:65]), true
}

// peekEntry returns the kind and block hash of an entry without decoding it.
func peekEntry(entry []byte) (byte, common.Hash, error) {
	if len(entry) < entryHeaderLen {
		return 0, common.Hash{}, errors.New("ledger entry too short")
	}
	if !isBlockEntry(entry[0]) {
		return 0, common.Hash{}, fmt.Errorf("unknown ledger entry kind %d", entry[0])
	}
	return entry[0], common.BytesToHash(entry[1:33]), nil
}

// decodeBlockEntry decodes an entry built by another node.
func decodeBlockEntry(entry []byte, config *params.ChainConfig) (*builtBlock, error) {
	kind, hash, err := peekEntry(entry)
	if err != nil {
		return nil, err
	}
	var e blockEntry
	if err := rlp.DecodeBytes(entry[entryHeaderLen:], &e); err != nil {
		return nil, fmt.Errorf("decode block entry: %w", err)
	}
	ws := WriteSet{Root: e.Root, Nodes: e.Nodes, Codes: e.Codes, Accounts: e.Accounts, Storage: e.Storage, flat: kind == entryBlockV2}
	if e.Block.Hash() != hash || e.Block.ParentHash() != common.BytesToHash(entry[33:65]) {
		return nil, fmt.Errorf("%w: entry names block %s, carries %s", ErrDivergence, hash.Hex(), e.Block.Hash().Hex())
	}
	txs := e.Block.Transactions()
	if len(e.Senders) != len(txs) {
		return nil, fmt.Errorf("%w: entry has %d senders for %d transactions", ErrDivergence, len(e.Senders), len(txs))
	}
	signer := types.MakeSigner(config, e.Block.Number(), e.Block.Time())
	for i, tx := range txs {
		trustSender(signer, tx, e.Senders[i])
	}
	rs := make(types.Receipts, len(e.Receipts))
	for i, r := range e.Receipts {
		rs[i] = (*types.Receipt)(r)
	}
	return &builtBlock{
		config:   config,
		block:    e.Block,
		receipts: rs,
		writes:   &ws,
	}, nil
}

// trustedSigner answers a sender recovered elsewhere: by the follower that
// admitted a forwarded transaction, or by the leader that built a block.
// Validating nodes are attested, so their recovery is trusted and each
// signature is checked once in the network. types.Sender caches the answer
// in the transaction, and later lookups with the real signer hit that cache
// because Equal compares as the real signer.
type trustedSigner struct {
	types.Signer
	from common.Address
}

func (s trustedSigner) Sender(*types.Transaction) (common.Address, error) { return s.from, nil }
func (s trustedSigner) Equal(other types.Signer) bool                     { return s.Signer.Equal(other) }

// trustSender primes tx's sender cache with from.
func trustSender(signer types.Signer, tx *types.Transaction, from common.Address) {
	types.Sender(trustedSigner{Signer: signer, from: from}, tx)
}
