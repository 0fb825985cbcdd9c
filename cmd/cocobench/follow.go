package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rpc"
)

// rpcBlock is the part of a block (transactions as hashes) the benchmark reads.
type rpcBlock struct {
	Number       hexutil.Uint64 `json:"number"`
	Timestamp    hexutil.Uint64 `json:"timestamp"`
	GasUsed      hexutil.Uint64 `json:"gasUsed"`
	GasLimit     hexutil.Uint64 `json:"gasLimit"`
	BaseFee      *hexutil.Big   `json:"baseFeePerGas"`
	Transactions []common.Hash  `json:"transactions"`
}

// rpcReceipt is the part of a receipt the benchmark reads.
type rpcReceipt struct {
	TxHash          common.Hash     `json:"transactionHash"`
	Status          hexutil.Uint64  `json:"status"`
	BlockNumber     hexutil.Uint64  `json:"blockNumber"`
	GasUsed         hexutil.Uint64  `json:"gasUsed"`
	ContractAddress *common.Address `json:"contractAddress"`
}

// follower notices new blocks, by polling eth_blockNumber and optionally by a
// WebSocket newHeads subscription, and hands each block's receipts to the
// tracker. The time a block was first noticed is its inclusion time.
type follower struct {
	rc    *rpcClient
	tr    *tracker
	poll  time.Duration
	wsURL string

	mu       sync.Mutex
	lastSeen uint64
	observed map[uint64]int64
	queue    chan uint64

	noBlockReceipts atomic.Bool // node lacks eth_getBlockReceipts
	processed       atomic.Uint64
	head            atomic.Uint64
}

func newFollower(rc *rpcClient, tr *tracker, from uint64, poll time.Duration, wsURL string) *follower {
	f := &follower{
		rc: rc, tr: tr, poll: poll, wsURL: wsURL,
		lastSeen: from,
		observed: make(map[uint64]int64),
		queue:    make(chan uint64, 1<<16),
	}
	f.head.Store(from)
	f.processed.Store(from)
	return f
}

// observe records that the head is at least n.
func (f *follower) observe(n uint64, now time.Time) {
	at := f.tr.since(now)
	f.mu.Lock()
	defer f.mu.Unlock()
	for b := f.lastSeen + 1; b <= n; b++ {
		f.observed[b] = at
		f.queue <- b
	}
	if n > f.lastSeen {
		f.lastSeen = n
		f.head.Store(n)
	}
}

func (f *follower) observedAt(n uint64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := f.observed[n]
	delete(f.observed, n)
	return at
}

// run follows the chain until ctx is cancelled.
func (f *follower) run(ctx context.Context) {
	var wg sync.WaitGroup
	poll := f.poll
	if f.wsURL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.wsLoop(ctx)
		}()
		// The subscription does the quick work; polling only backs it up.
		poll = max(poll, 250*time.Millisecond)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		f.pollLoop(ctx, poll)
	}()
	go func() {
		defer wg.Done()
		f.processLoop(ctx)
	}()
	wg.Wait()
}

func (f *follower) pollLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var n hexutil.Uint64
		if err := f.rc.Call(ctx, &n, "eth_blockNumber"); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("Polling the block number failed", "err", err)
		} else {
			f.observe(uint64(n), time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type wsHead struct {
	Number hexutil.Uint64 `json:"number"`
}

func (f *follower) wsLoop(ctx context.Context) {
	for ctx.Err() == nil {
		err := f.subscribe(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Warn("WebSocket newHeads subscription ended; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (f *follower) subscribe(ctx context.Context) error {
	c, err := rpc.DialContext(ctx, f.wsURL)
	if err != nil {
		return err
	}
	defer c.Close()
	ch := make(chan wsHead, 1024)
	sub, err := c.EthSubscribe(ctx, ch, "newHeads")
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			if err == nil {
				err = errors.New("subscription closed")
			}
			return err
		case h := <-ch:
			f.observe(uint64(h.Number), time.Now())
		}
	}
}

func (f *follower) processLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-f.queue:
			at := f.observedAt(n)
			for attempt := 0; ; attempt++ {
				info, receipts, err := f.fetchBlock(ctx, n)
				if err == nil {
					f.tr.applyBlock(n, at, info, receipts)
					f.processed.Store(n)
					break
				}
				if ctx.Err() != nil {
					return
				}
				if attempt%100 == 10 {
					log.Warn("Fetching block receipts keeps failing", "block", n, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	}
}

// fetchBlock returns a block's header facts and its receipts.
func (f *follower) fetchBlock(ctx context.Context, n uint64) (blockStat, []receiptInfo, error) {
	num := hexutil.EncodeUint64(n)
	var (
		block    *rpcBlock
		receipts []rpcReceipt
	)
	if !f.noBlockReceipts.Load() {
		elems := []batchElem{
			{Method: "eth_getBlockByNumber", Params: []any{num, false}, Result: &block},
			{Method: "eth_getBlockReceipts", Params: []any{num}, Result: &receipts},
		}
		if err := f.rc.BatchCall(ctx, elems); err != nil {
			return blockStat{}, nil, err
		}
		if err := elems[0].Err; err != nil {
			return blockStat{}, nil, err
		}
		if err := elems[1].Err; err != nil {
			if !isMethodNotFound(err) {
				return blockStat{}, nil, err
			}
			log.Warn("Node lacks eth_getBlockReceipts; using eth_getTransactionReceipt")
			f.noBlockReceipts.Store(true)
			receipts = nil
		}
	} else if err := f.rc.Call(ctx, &block, "eth_getBlockByNumber", num, false); err != nil {
		return blockStat{}, nil, err
	}
	if block == nil {
		return blockStat{}, nil, fmt.Errorf("block %d not found", n)
	}
	if f.noBlockReceipts.Load() {
		var err error
		if receipts, err = f.receiptsByHash(ctx, block.Transactions); err != nil {
			return blockStat{}, nil, err
		}
	}
	if len(receipts) != len(block.Transactions) {
		return blockStat{}, nil, fmt.Errorf("block %d: %d receipts for %d transactions", n, len(receipts), len(block.Transactions))
	}
	info := blockStat{
		Timestamp: uint64(block.Timestamp),
		GasUsed:   uint64(block.GasUsed),
		GasLimit:  uint64(block.GasLimit),
	}
	if block.BaseFee != nil {
		info.BaseFeeWei = block.BaseFee.ToInt().String()
	}
	out := make([]receiptInfo, len(receipts))
	for i, r := range receipts {
		out[i] = receiptInfo{TxHash: r.TxHash, Status: uint64(r.Status)}
	}
	return info, out, nil
}

func (f *follower) receiptsByHash(ctx context.Context, hashes []common.Hash) ([]rpcReceipt, error) {
	const chunk = 500
	out := make([]rpcReceipt, 0, len(hashes))
	for start := 0; start < len(hashes); start += chunk {
		end := min(start+chunk, len(hashes))
		rs := make([]*rpcReceipt, end-start)
		elems := make([]batchElem, end-start)
		for i := range elems {
			elems[i] = batchElem{Method: "eth_getTransactionReceipt", Params: []any{hashes[start+i]}, Result: &rs[i]}
		}
		if err := f.rc.BatchCall(ctx, elems); err != nil {
			return nil, err
		}
		for i, e := range elems {
			if e.Err != nil {
				return nil, e.Err
			}
			if rs[i] == nil {
				return nil, fmt.Errorf("receipt of %s not found", hashes[start+i].Hex())
			}
			out = append(out, *rs[i])
		}
	}
	return out, nil
}
