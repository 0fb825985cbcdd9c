package main

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

const (
	modeTransfer = "transfer"
	modeERC20    = "erc20"

	transferGas = 21000
)

// sender is one load-generating account.
type sender struct {
	key   *ecdsa.PrivateKey
	addr  common.Address
	nonce uint64 // next nonce to use
	node  int    // index of the RPC endpoint its transactions go to
}

func newSenders(keys []*ecdsa.PrivateKey, nodes int) []*sender {
	out := make([]*sender, len(keys))
	for i, k := range keys {
		out[i] = &sender{key: k, addr: crypto.PubkeyToAddress(k.PublicKey), node: i % nodes}
	}
	return out
}

// txSpec says what each pre-signed transaction looks like.
type txSpec struct {
	Mode     string
	ChainID  *big.Int
	TipCap   *big.Int
	FeeCap   *big.Int
	GasLimit uint64
	Value    *big.Int // transfer mode: wei sent to the recipient

	// erc20 mode
	Token       common.Address
	TokenAmount *big.Int // tokens moved per transaction
	TokenABI    *abi.ABI
}

// signedTx is one pre-signed transaction of the measured phase.
type signedTx struct {
	raw    string // 0x-prefixed RLP, ready for eth_sendRawTransaction
	hash   common.Hash
	sender int
	nonce  uint64
}

// splitCounts divides total transactions among n senders as evenly as
// possible; the first total%n senders get one more.
func splitCounts(total, n int) []int {
	if n <= 0 {
		return nil
	}
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// presign signs counts[s] transactions for every sender s, with consecutive
// nonces starting at the sender's nonce. Recipients are drawn from
// recipients by a generator seeded with (seed, s), so the result does not
// depend on how the work is spread over goroutines. The result is indexed
// [sender][k] for the k-th transaction of the sender.
func presign(senders []*sender, counts []int, spec *txSpec, recipients []common.Address, seed uint64, workers int) ([][]*signedTx, error) {
	if len(counts) != len(senders) {
		return nil, errors.New("presign: counts and senders differ in length")
	}
	if len(recipients) == 0 {
		return nil, errors.New("presign: no recipients")
	}
	if spec.Mode == modeERC20 && spec.TokenABI == nil {
		return nil, errors.New("presign: erc20 mode needs the token ABI")
	}
	if workers < 1 {
		workers = 1
	}
	signer := types.LatestSignerForChainID(spec.ChainID)
	out := make([][]*signedTx, len(senders))
	var (
		work     = make(chan int)
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				txs, err := signSender(s, senders[s], counts[s], spec, signer, recipients, seed)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue // keep draining so the feeder does not block
				}
				out[s] = txs
			}
		}()
	}
	for s := range senders {
		work <- s
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func signSender(idx int, s *sender, count int, spec *txSpec, signer types.Signer, recipients []common.Address, seed uint64) ([]*signedTx, error) {
	rng := rand.New(rand.NewPCG(seed, uint64(idx)))
	txs := make([]*signedTx, count)
	for k := 0; k < count; k++ {
		to := recipients[rng.IntN(len(recipients))]
		inner := &types.DynamicFeeTx{
			ChainID:   spec.ChainID,
			Nonce:     s.nonce + uint64(k),
			GasTipCap: spec.TipCap,
			GasFeeCap: spec.FeeCap,
			Gas:       spec.GasLimit,
		}
		switch spec.Mode {
		case modeTransfer:
			inner.To = &to
			inner.Value = spec.Value
		case modeERC20:
			data, err := spec.TokenABI.Pack("transfer", to, spec.TokenAmount)
			if err != nil {
				return nil, fmt.Errorf("pack transfer: %v", err)
			}
			token := spec.Token
			inner.To = &token
			inner.Value = new(big.Int)
			inner.Data = data
		default:
			return nil, fmt.Errorf("unknown mode %q", spec.Mode)
		}
		tx, err := types.SignNewTx(s.key, signer, inner)
		if err != nil {
			return nil, err
		}
		raw, err := tx.MarshalBinary()
		if err != nil {
			return nil, err
		}
		txs[k] = &signedTx{raw: hexutil.Encode(raw), hash: tx.Hash(), sender: idx, nonce: inner.Nonce}
	}
	return txs, nil
}

// interleave orders the transactions of the given senders by round: every
// sender's first transaction, then every sender's second, and so on. Sent in
// this order, a node always sees a sender's nonces in sequence even when
// consecutive batches overlap in flight.
func interleave(perSender [][]*signedTx, which []int) []*signedTx {
	var out []*signedTx
	for round := 0; ; round++ {
		added := false
		for _, s := range which {
			if round < len(perSender[s]) {
				out = append(out, perSender[s][round])
				added = true
			}
		}
		if !added {
			return out
		}
	}
}

// sendBatch is one eth_sendRawTransaction batch request of the measured
// phase, encoded ahead of time.
type sendBatch struct {
	node int
	txs  []int // indexes into the flat transaction list, in request-id order
	body []byte
}

// planBatches groups the pre-signed transactions into batches of at most
// size transactions. Every sender's transactions go to its own node; the
// batches of different nodes alternate round-robin. It returns the flat
// transaction list (indexed by sendBatch.txs) and the batches in send order.
func planBatches(perSender [][]*signedTx, senders []*sender, nodes, size int) ([]*signedTx, []*sendBatch) {
	if size < 1 {
		size = 1
	}
	byNode := make([][]int, nodes)
	for i, s := range senders {
		byNode[s.node] = append(byNode[s.node], i)
	}
	var (
		flat    []*signedTx
		queues  = make([][]*sendBatch, nodes)
		longest int
	)
	for n := 0; n < nodes; n++ {
		ordered := interleave(perSender, byNode[n])
		for start := 0; start < len(ordered); start += size {
			end := min(start+size, len(ordered))
			b := &sendBatch{node: n}
			for _, tx := range ordered[start:end] {
				b.txs = append(b.txs, len(flat))
				flat = append(flat, tx)
			}
			queues[n] = append(queues[n], b)
		}
		longest = max(longest, len(queues[n]))
	}
	var batches []*sendBatch
	for i := 0; i < longest; i++ {
		for n := 0; n < nodes; n++ {
			if i < len(queues[n]) {
				batches = append(batches, queues[n][i])
			}
		}
	}
	for _, b := range batches {
		b.body = encodeSendBatch(flat, b.txs)
	}
	return flat, batches
}

// encodeSendBatch builds the JSON body of a batch of eth_sendRawTransaction
// calls; the request id of each call is its position in the batch.
func encodeSendBatch(flat []*signedTx, idx []int) []byte {
	var buf bytes.Buffer
	buf.Grow(len(idx) * (len(flat[idx[0]].raw) + 80))
	buf.WriteByte('[')
	for i, t := range idx {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"jsonrpc":"2.0","id":`)
		buf.WriteString(strconv.Itoa(i))
		buf.WriteString(`,"method":"eth_sendRawTransaction","params":["`)
		buf.WriteString(flat[t].raw)
		buf.WriteString(`"]}`)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}
