package ethapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/filtermaps"
	"github.com/ethereum/go-ethereum/core/history"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/log"
	"github.com/ethereum/go-ethereum/rpc"
)

// Bounded log queries.
//
// go-ethereum's eth_getLogs collects every matching log before it answers:
// one query over a busy chain returned 300,200 logs (149 MB) and four at
// once took a node to 3.6 GB. With Config.LogResultLimit set, logsAPI is
// registered after go-ethereum's FilterAPI in the eth namespace, and the rpc
// server then serves its methods instead of geth's methods of the same name
// (rpc.serviceRegistry.registerName adds a later service's callbacks over
// the earlier ones). It answers what geth answers, with the same argument
// parsing (filters.FilterCriteria) and the same errors, except that a query
// matching more than the limit fails with code -32005, and memory stays
// bounded while it runs: go-ethereum's own range filter searches one chunk
// of the range at a time and the search stops as soon as the results pass
// the limit. Where the log index covers a chunk, its log value pointers say
// how many log values (one per address and per topic, at least one per log)
// the chunk holds, so a chunk never holds more than chunkValues logs, or one
// block. Below or above the indexed range (while the index catches up) the
// chunks are counted in blocks and sized from the density of the previous
// chunk.
//
// The results of eth_getFilterLogs are bounded the same way, which needs the
// criteria of the filter: go-ethereum's FilterAPI keeps them private, so this
// API also owns log filters (eth_newFilter, and eth_getFilterChanges and
// eth_uninstallFilter on them), with geth's lifetime rules. Block and
// pending-transaction filters stay geth's: eth_getFilterChanges and
// eth_uninstallFilter pass other ids to it.

// errCodeLimitExceeded is the JSON-RPC code of a query refused for its size,
// as public providers answer it (EIP-1474 "limit exceeded").
const errCodeLimitExceeded = -32005

// limitExceededError refuses a log query that matches more than the limit.
type limitExceededError struct{ limit int }

var _ rpc.Error = (*limitExceededError)(nil)

func (e *limitExceededError) Error() string {
	return fmt.Sprintf("query returned more than %d results; narrow the block range or the addresses/topics", e.limit)
}

// ErrorCode implements rpc.Error.
func (e *limitExceededError) ErrorCode() int { return errCodeLimitExceeded }

// The errors geth's FilterAPI answers, same message and code.
var (
	errLogsTooManyTopics   = errors.New("exceed max topics")
	errLogsQueryLimit      = errors.New("exceed max addresses or topics per search position")
	errLogsFilterNotFound  = errors.New("filter not found")
	errLogsHashWithRange   = newInvalidParamsError("can't specify fromBlock/toBlock with blockHash")
	errLogsBlockRange      = newInvalidParamsError("invalid block range params")
	errLogsRangeIntoFuture = newInvalidParamsError("block range extends beyond current head block")
	errLogsPending         = newInvalidParamsError("pending logs are not supported")
)

// maxLogTopics is the most topic positions of a query (LOG4 has four).
const maxLogTopics = 4

// Chunk sizes of the bounded search.
const (
	// indexedChunkValues is the most log values a chunk covered by the log
	// index holds: one filter map's worth, the unit the index searches in.
	indexedChunkValues = 1 << 16
	// unindexedFirstBlocks and unindexedMaxBlocks size the chunks outside
	// the indexed range; they grow while the results are sparse.
	unindexedFirstBlocks = 128
	unindexedMaxBlocks   = 4096
	// defaultFilterTimeout is geth's idle lifetime of a filter, used when
	// Config.FilterTimeout is not positive.
	defaultFilterTimeout = 5 * time.Minute
)

// logsAPI serves eth_getLogs and the log filters with a bound on results.
type logsAPI struct {
	b      Backend
	gate   Gate // what each caller may see of the logs
	fs     *filters.FilterSystem
	geth   *filters.FilterAPI   // block and pending-transaction filters
	events *filters.EventSystem // feeds the log filters
	quit   <-chan struct{}      // closed when the service stops
	wg     sync.WaitGroup       // expireLoop

	limit      int           // most logs one call returns
	queryLimit int           // most addresses, or topics per position (0 = no cap)
	rangeLimit uint64        // widest block range, end - begin (0 = no cap)
	timeout    time.Duration // idle lifetime of a log filter

	// Chunk sizes (the constants above; tests shrink them), and test hooks.
	chunkValues, firstBlocks, maxBlocks uint64
	ignoreIndex                         bool // size every chunk in blocks
	onChunk                             func(from, to uint64, logs int)

	mu      sync.Mutex
	filters map[rpc.ID]*logFilter
	// pending are geth's pending-transaction filters, by last poll: their
	// changes pass the gate too.
	pending map[rpc.ID]time.Time
}

// logFilter is a filter made by eth_newFilter.
type logFilter struct {
	crit   filters.FilterCriteria
	sub    *filters.Subscription
	polled time.Time    // creation or the last eth_getFilterChanges
	logs   []*types.Log // since the last eth_getFilterChanges
	// overflow: more than the result limit gathered since the last poll;
	// the logs were dropped and the next poll removes the filter.
	overflow bool
}

// filterOverflowError answers the poll of a log filter that gathered more
// logs than the result limit: the filter is gone, as its logs could not be
// kept without bound.
type filterOverflowError struct{ limit int }

var _ rpc.Error = (*filterOverflowError)(nil)

func (e *filterOverflowError) Error() string {
	return fmt.Sprintf("filter gathered more than %d logs since it was last polled and was removed; poll more often or narrow its addresses/topics", e.limit)
}

// ErrorCode implements rpc.Error.
func (e *filterOverflowError) ErrorCode() int { return errCodeLimitExceeded }

// newLogsAPI makes the bounded log API of s over geth's FilterAPI. Idle
// filters are removed until quit closes.
func newLogsAPI(b Backend, gate Gate, cfg Config, geth *filters.FilterAPI, fs *filters.FilterSystem, quit <-chan struct{}) *logsAPI {
	if gate == nil {
		gate = openGate{}
	}
	a := &logsAPI{
		b:           b,
		gate:        gate,
		fs:          fs,
		geth:        geth,
		events:      filters.NewEventSystem(fs),
		quit:        quit,
		limit:       cfg.LogResultLimit,
		queryLimit:  cfg.LogQueryLimit,
		rangeLimit:  cfg.RangeLimit,
		timeout:     cfg.FilterTimeout,
		chunkValues: indexedChunkValues,
		firstBlocks: unindexedFirstBlocks,
		maxBlocks:   unindexedMaxBlocks,
		filters:     make(map[rpc.ID]*logFilter),
		pending:     make(map[rpc.ID]time.Time),
	}
	if a.timeout <= 0 {
		a.timeout = defaultFilterTimeout
	}
	if a.limit <= 0 {
		// No cap (this API also serves when a gate filters logs).
		a.limit = math.MaxInt32
	}
	a.wg.Add(1)
	go a.expireLoop(quit)
	return a
}

// GetLogs answers eth_getLogs.
func (a *logsAPI) GetLogs(ctx context.Context, crit filters.FilterCriteria) ([]*types.Log, error) {
	if len(crit.Topics) > maxLogTopics {
		return nil, errLogsTooManyTopics
	}
	if a.queryLimit != 0 {
		if len(crit.Addresses) > a.queryLimit {
			return nil, errLogsQueryLimit
		}
		for _, alternatives := range crit.Topics {
			if len(alternatives) > a.queryLimit {
				return nil, errLogsQueryLimit
			}
		}
	}
	if crit.BlockHash != nil {
		if crit.FromBlock != nil || crit.ToBlock != nil {
			return nil, errLogsHashWithRange
		}
		return a.blockLogs(ctx, *crit.BlockHash, crit.Addresses, crit.Topics)
	}
	begin, end := blockArg(crit.FromBlock), blockArg(crit.ToBlock)
	if begin >= 0 && end >= 0 && begin > end {
		return nil, errLogsBlockRange
	}
	return a.rangeLogs(ctx, begin, end, crit.Addresses, crit.Topics)
}

// NewFilter answers eth_newFilter: a log filter whose new logs
// eth_getFilterChanges returns.
func (a *logsAPI) NewFilter(crit filters.FilterCriteria) (rpc.ID, error) {
	ch := make(chan []*types.Log)
	sub, err := a.events.SubscribeLogs(ethereum.FilterQuery(crit), ch)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.filters[sub.ID] = &logFilter{crit: crit, sub: sub, polled: time.Now()}
	a.mu.Unlock()
	go a.gather(sub, ch)
	return sub.ID, nil
}

// gather keeps the logs delivered to a filter until it is removed.
func (a *logsAPI) gather(sub *filters.Subscription, ch <-chan []*types.Log) {
	for {
		select {
		case <-a.quit:
			// The filter ends with the event system (the chain's
			// subscriptions close when it stops).
			return
		case logs := <-ch:
			a.mu.Lock()
			if f := a.filters[sub.ID]; f != nil && !f.overflow {
				f.logs = append(f.logs, logs...)
				if a.limit > 0 && len(f.logs) > a.limit {
					f.logs, f.overflow = nil, true
				}
			}
			a.mu.Unlock()
		case <-sub.Err():
			a.mu.Lock()
			delete(a.filters, sub.ID)
			a.mu.Unlock()
			return
		}
	}
}

// GetFilterChanges answers eth_getFilterChanges: a log filter's logs since
// the last call; other ids are geth's filters.
//
// The logs are shown as the caller who polls may see them.
func (a *logsAPI) GetFilterChanges(ctx context.Context, id rpc.ID) (interface{}, error) {
	v, err := newView(ctx, a.b, a.gate)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	f := a.filters[id]
	if f == nil {
		_, pending := a.pending[id]
		if pending {
			a.pending[id] = time.Now()
		}
		a.mu.Unlock()
		changes, err := a.geth.GetFilterChanges(id)
		if err != nil || !pending {
			if err != nil && pending {
				a.mu.Lock()
				delete(a.pending, id)
				a.mu.Unlock()
			}
			return changes, err
		}
		return v.pendingChanges(changes)
	}
	if f.overflow {
		delete(a.filters, id)
		a.mu.Unlock()
		f.sub.Unsubscribe()
		return nil, &filterOverflowError{limit: a.limit}
	}
	f.polled = time.Now()
	logs := f.logs
	f.logs = nil
	a.mu.Unlock()
	logs = v.logs(logs)
	if logs == nil {
		logs = []*types.Log{}
	}
	return logs, nil
}

// UninstallFilter answers eth_uninstallFilter.
func (a *logsAPI) UninstallFilter(id rpc.ID) bool {
	a.mu.Lock()
	f := a.filters[id]
	delete(a.filters, id)
	delete(a.pending, id)
	a.mu.Unlock()
	if f == nil {
		return a.geth.UninstallFilter(id)
	}
	f.sub.Unsubscribe()
	return true
}

// GetFilterLogs answers eth_getFilterLogs: every log matching a log
// filter's criteria, searched now.
func (a *logsAPI) GetFilterLogs(ctx context.Context, id rpc.ID) ([]*types.Log, error) {
	a.mu.Lock()
	f := a.filters[id]
	a.mu.Unlock()
	if f == nil {
		return nil, errLogsFilterNotFound
	}
	crit := f.crit
	if crit.BlockHash != nil {
		return a.blockLogs(ctx, *crit.BlockHash, crit.Addresses, crit.Topics)
	}
	return a.rangeLogs(ctx, blockArg(crit.FromBlock), blockArg(crit.ToBlock), crit.Addresses, crit.Topics)
}

// expireLoop removes filters not polled for the timeout, checking every
// timeout as geth does (a filter lives between one and two timeouts after
// its last poll).
func (a *logsAPI) expireLoop(quit <-chan struct{}) {
	defer a.wg.Done()
	tick := time.NewTicker(a.timeout)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-tick.C:
			a.mu.Lock()
			var idle []*filters.Subscription
			for id, f := range a.filters {
				if now.Sub(f.polled) >= a.timeout {
					idle = append(idle, f.sub)
					delete(a.filters, id)
				}
			}
			for id, polled := range a.pending {
				// geth's own expiry removes the filter by then.
				if now.Sub(polled) >= 2*a.timeout {
					delete(a.pending, id)
				}
			}
			a.mu.Unlock()
			// Outside the lock: the event loop may be waiting for gather.
			for _, sub := range idle {
				sub.Unsubscribe()
			}
		}
	}
}

// blockArg is a criteria block number; absent means latest.
func blockArg(n *big.Int) int64 {
	if n == nil {
		return rpc.LatestBlockNumber.Int64()
	}
	return n.Int64()
}

// blockLogs searches one block; a block is never split.
func (a *logsAPI) blockLogs(ctx context.Context, hash common.Hash, addrs []common.Address, topics [][]common.Hash) ([]*types.Log, error) {
	v, err := newView(ctx, a.b, a.gate)
	if err != nil {
		return nil, err
	}
	logs, err := a.fs.NewBlockFilter(hash, addrs, topics).Logs(ctx)
	if err != nil {
		return nil, err
	}
	logs = v.logs(logs)
	if len(logs) > a.limit {
		log.Debug("Refused log query over the result limit", "limit", a.limit, "block", hash)
		return nil, &limitExceededError{limit: a.limit}
	}
	if logs == nil {
		logs = []*types.Log{}
	}
	return logs, nil
}

// resolveBlock turns a criteria block number into a block, as geth's range
// filter does; latest is math.MaxUint64 until the head is read.
func (a *logsAPI) resolveBlock(ctx context.Context, n int64) (uint64, error) {
	header := func(tag rpc.BlockNumber, name string) (uint64, error) {
		h, _ := a.b.HeaderByNumber(ctx, tag)
		if h == nil {
			return 0, fmt.Errorf("%s header not found", name)
		}
		return h.Number.Uint64(), nil
	}
	switch rpc.BlockNumber(n) {
	case rpc.LatestBlockNumber:
		return math.MaxUint64, nil
	case rpc.FinalizedBlockNumber:
		return header(rpc.FinalizedBlockNumber, "finalized")
	case rpc.SafeBlockNumber:
		return header(rpc.SafeBlockNumber, "safe")
	case rpc.EarliestBlockNumber:
		return header(rpc.BlockNumber(a.b.HistoryPruningCutoff()), "earliest")
	}
	if n < 0 {
		return 0, errors.New("negative block number")
	}
	return uint64(n), nil
}

// rangeLogs searches the blocks begin to end (criteria numbers), checking
// them in geth's order.
func (a *logsAPI) rangeLogs(ctx context.Context, begin, end int64, addrs []common.Address, topics [][]common.Hash) ([]*types.Log, error) {
	if begin >= 0 && begin < int64(a.b.HistoryPruningCutoff()) {
		return nil, &history.PrunedHistoryError{}
	}
	if begin == rpc.PendingBlockNumber.Int64() || end == rpc.PendingBlockNumber.Int64() {
		return nil, errLogsPending
	}
	first, err := a.resolveBlock(ctx, begin)
	if err != nil {
		return nil, err
	}
	last, err := a.resolveBlock(ctx, end)
	if err != nil {
		return nil, err
	}
	// As geth: latest counts as math.MaxUint64 here.
	if a.rangeLimit != 0 && last-first > a.rangeLimit {
		return nil, newInvalidParamsError("exceed maximum block range %d", a.rangeLimit)
	}
	if first > last {
		return nil, errLogsBlockRange
	}
	v, err := newView(ctx, a.b, a.gate)
	if err != nil {
		return nil, err
	}
	mb := a.b.NewMatcherBackend()
	defer mb.Close()
	synced, err := mb.SyncLogIndex(ctx)
	if err != nil {
		return nil, err
	}
	head := a.b.CurrentHeader().Number.Uint64()
	if first == math.MaxUint64 {
		first = head
	}
	if last == math.MaxUint64 {
		last = head
	}
	if first > last {
		return nil, errLogsBlockRange
	}
	if last > head {
		return nil, errLogsRangeIntoFuture
	}
	indexed := synced.IndexedBlocks
	if a.ignoreIndex {
		indexed = common.Range[uint64]{}
	}
	var (
		out    []*types.Log
		blocks = a.firstBlocks
	)
	for from := first; ; {
		to, byValues := a.chunkEnd(ctx, mb, indexed, from, last, blocks)
		logs, err := a.fs.NewRangeFilter(int64(from), int64(to), addrs, topics, 0).Logs(ctx)
		if err != nil {
			return nil, err
		}
		logs = v.logs(logs)
		if a.onChunk != nil {
			a.onChunk(from, to, len(logs))
		}
		out = append(out, logs...)
		if len(out) > a.limit {
			log.Debug("Refused log query over the result limit", "limit", a.limit, "from", first, "to", last, "stopped", to)
			return nil, &limitExceededError{limit: a.limit}
		}
		if to == last {
			break
		}
		if !byValues {
			blocks = a.nextBlocks(blocks, to-from+1, len(logs), a.limit+1-len(out))
		}
		from = to + 1
	}
	if out == nil {
		out = []*types.Log{}
	}
	return out, nil
}

// chunkEnd is the last block of the chunk starting at from (at most last),
// and whether the log index sized it.
func (a *logsAPI) chunkEnd(ctx context.Context, mb filtermaps.MatcherBackend, indexed common.Range[uint64], from, last, blocks uint64) (uint64, bool) {
	// The pointer after the chunk's last block must be an indexed block's:
	// past the indexed range the index answers its end.
	if indexed.Includes(from) && from < indexed.Last() {
		if to, ok := a.valuesChunkEnd(ctx, mb, from, min(last, indexed.Last()-1)); ok {
			return to, true
		}
	}
	to := last
	if last-from >= blocks {
		to = from + blocks - 1
	}
	if !indexed.IsEmpty() && from < indexed.First() && to >= indexed.First() {
		to = indexed.First() - 1 // the index takes over
	}
	return to, false
}

// valuesChunkEnd is the last block b in from..upTo such that the blocks
// from to b hold at most chunkValues log values (from itself if its block
// alone holds more). It reports false if the index cannot tell.
func (a *logsAPI) valuesChunkEnd(ctx context.Context, mb filtermaps.MatcherBackend, from, upTo uint64) (uint64, bool) {
	base, err := mb.GetBlockLvPointer(ctx, from)
	if err != nil {
		return 0, false
	}
	fits := func(to uint64) (bool, error) {
		next, err := mb.GetBlockLvPointer(ctx, to+1)
		return next-base <= a.chunkValues, err
	}
	ok, err := fits(upTo)
	if err != nil {
		return 0, false
	}
	if ok {
		return upTo, true
	}
	lo, hi := from, upTo // lo is a chunk end, hi is too far
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return 0, false
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// nextBlocks sizes the next unindexed chunk: twice the last while sparse,
// at most what room more logs take at the density just seen.
func (a *logsAPI) nextBlocks(blocks, span uint64, found, room int) uint64 {
	next := min(2*blocks, a.maxBlocks)
	if found > 0 {
		next = min(next, uint64(room)*span/uint64(found))
	}
	return max(next, 1)
}

// Subscriptions that reveal transactions and logs, in place of geth's
// (registered after them, same names), so that each subscriber sees only
// what it may: logs and pending transactions of confidential contracts
// pass the gate for the subscriber's session. A subscriber whose session
// expires gets nothing more.

// Logs answers eth_subscribe("logs", criteria).
func (a *logsAPI) Logs(ctx context.Context, crit filters.FilterCriteria) (*rpc.Subscription, error) {
	notifier, supported := rpc.NotifierFromContext(ctx)
	if !supported {
		return &rpc.Subscription{}, rpc.ErrNotificationsUnsupported
	}
	if _, err := newView(ctx, a.b, a.gate); err != nil {
		return nil, err
	}
	matched := make(chan []*types.Log, 128)
	sub, err := a.events.SubscribeLogs(ethereum.FilterQuery(crit), matched)
	if err != nil {
		return nil, err
	}
	rpcSub := notifier.CreateSubscription()
	go func() {
		defer sub.Unsubscribe()
		for {
			select {
			case logs := <-matched:
				v, err := newView(ctx, a.b, a.gate)
				if err != nil {
					return
				}
				for _, l := range v.logs(logs) {
					notifier.Notify(rpcSub.ID, l)
				}
			case <-rpcSub.Err():
				return
			case <-a.quit:
				return
			}
		}
	}()
	return rpcSub, nil
}

// NewPendingTransactions answers eth_subscribe("newPendingTransactions",
// fullTx): hashes, or whole transactions with fullTx true.
func (a *logsAPI) NewPendingTransactions(ctx context.Context, fullTx *bool) (*rpc.Subscription, error) {
	notifier, supported := rpc.NotifierFromContext(ctx)
	if !supported {
		return &rpc.Subscription{}, rpc.ErrNotificationsUnsupported
	}
	if _, err := newView(ctx, a.b, a.gate); err != nil {
		return nil, err
	}
	pending := make(chan []*types.Transaction, 128)
	sub := a.events.SubscribePendingTxs(pending)
	rpcSub := notifier.CreateSubscription()
	go func() {
		defer sub.Unsubscribe()
		for {
			select {
			case txs := <-pending:
				v, err := newView(ctx, a.b, a.gate)
				if err != nil {
					return
				}
				head := a.b.CurrentHeader()
				for _, tx := range txs {
					if !v.tx(tx, head.Hash()) {
						continue
					}
					if fullTx != nil && *fullTx {
						notifier.Notify(rpcSub.ID, newRPCPendingTransaction(tx, head, a.b.ChainConfig()))
					} else {
						notifier.Notify(rpcSub.ID, tx.Hash())
					}
				}
			case <-rpcSub.Err():
				return
			case <-a.quit:
				return
			}
		}
	}()
	return rpcSub, nil
}

// NewPendingTransactionFilter answers eth_newPendingTransactionFilter with
// geth's filter, whose changes then pass the gate.
func (a *logsAPI) NewPendingTransactionFilter(fullTx *bool) rpc.ID {
	id := a.geth.NewPendingTransactionFilter(fullTx)
	a.mu.Lock()
	a.pending[id] = time.Now()
	a.mu.Unlock()
	return id
}
