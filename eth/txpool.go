package eth

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
	"github.com/ethereum/go-ethereum/log"
)

// PoolConfig bounds the transaction pool.
type PoolConfig struct {
	PriceLimit   uint64 // minimum gas tip accepted (wei)
	PriceBump    uint64 // percent a replacement must raise both fee caps by
	AccountSlots int    // most transactions one account may have pooled
	AccountQueue int    // most future (gapped) transactions of one account
	GlobalSlots  int    // most transactions pooled in all
	MaxTxSize    uint64 // largest accepted transaction in bytes
}

// DefaultPoolConfig mirrors geth's admission rules, with limits sized for a
// node that commits thousands of transactions per second.
var DefaultPoolConfig = PoolConfig{
	PriceLimit:   1,
	PriceBump:    10,
	AccountSlots: 16384,
	AccountQueue: 1024,
	GlobalSlots:  500_000,
	MaxTxSize:    4 * 32 * 1024, // geth: four 32 KiB slots
}

// Validate checks the configuration.
func (c PoolConfig) Validate() error {
	if c.AccountSlots <= 0 || c.AccountQueue <= 0 || c.GlobalSlots <= 0 || c.MaxTxSize == 0 {
		return errors.New("txpool: limits must be positive")
	}
	return nil
}

type poolTx struct {
	tx       *types.Transaction
	ready    time.Time // when it first became executable
	sent     time.Time // when it was last forwarded (admitted counts)
	from     common.Address
	cost     *big.Int
	inReady  bool // waiting in the ready queue
	inflight bool // handed to the block builder
	gone     bool // removed from the pool; a stale entry of the ready queue
}

type poolAccount struct {
	nonce  uint64             // account nonce in the head state
	next   uint64             // first nonce not filled contiguously from nonce
	txs    map[uint64]*poolTx // by nonce
	spent  *big.Int           // sum of the costs of txs
	queued int                // transactions at or above next
}

// TxPool holds transactions admitted on this node until they are committed.
// Executable transactions wait in arrival order (the block builder takes
// them first come, first served); transactions with a nonce gap wait until
// the gap is filled.
type TxPool struct {
	cfg    PoolConfig
	chain  *Chain
	signer types.Signer
	opts   *txpool.ValidationOptions

	mu       sync.Mutex
	all      map[common.Hash]*poolTx
	accounts map[common.Address]*poolAccount
	// gapped holds the accounts with transactions of which none is
	// executable from the account's nonce, the only ones besides those a
	// block touches that a new head may change; so the work after a block
	// does not grow with the number of accounts in the pool.
	gapped map[common.Address]*poolAccount
	ready  []*poolTx // executable, in arrival order; may hold stale entries
	nready int       // live entries of ready
	queued int       // transactions behind a nonce gap
	head   *types.Header
	state  *state.StateDB // head state, for balance and nonce checks

	wake   chan struct{} // signalled when ready grows
	txFeed event.Feed    // core.NewTxsEvent, for executable transactions
	scope  event.SubscriptionScope
}

// NewTxPool creates a pool on top of the chain's head.
func NewTxPool(cfg PoolConfig, chain *Chain) (*TxPool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &TxPool{
		cfg:      cfg,
		chain:    chain,
		signer:   types.LatestSigner(chain.Config()),
		all:      make(map[common.Hash]*poolTx),
		accounts: make(map[common.Address]*poolAccount),
		gapped:   make(map[common.Address]*poolAccount),
		wake:     make(chan struct{}, 1),
	}
	p.opts = &txpool.ValidationOptions{
		Config: chain.Config(),
		Accept: 1<<types.LegacyTxType | 1<<types.AccessListTxType |
			1<<types.DynamicFeeTxType | 1<<types.SetCodeTxType,
		MaxSize: cfg.MaxTxSize,
		MinTip:  new(big.Int).SetUint64(cfg.PriceLimit),
	}
	if err := p.reset(chain.CurrentHeader()); err != nil {
		return nil, err
	}
	return p, nil
}

// Signer is the signer admission uses (the latest fork's).
func (p *TxPool) Signer() types.Signer { return p.signer }

// Add admits one transaction. Errors carry geth's messages (nonce too low,
// insufficient funds, underpriced, intrinsic gas too low, exceeds block gas
// limit, oversized data, invalid sender/chain id, already known).
func (p *TxPool) Add(tx *types.Transaction) error {
	err := p.add(tx)
	if err != nil {
		poolRejectMeter.Mark(1)
	}
	return err
}

func (p *TxPool) add(tx *types.Transaction) error {
	if tx.Type() == types.BlobTxType {
		return fmt.Errorf("%w: blob transactions are not supported", core.ErrTxTypeNotSupported)
	}
	if !tx.Protected() {
		return errors.New("only replay-protected (EIP-155) transactions allowed over RPC")
	}
	if cid := tx.ChainId(); cid.Cmp(p.chain.Config().ChainID) != 0 {
		return fmt.Errorf("%w: %w: have %d want %d", txpool.ErrInvalidSender, types.ErrInvalidChainId, cid, p.chain.Config().ChainID)
	}
	p.mu.Lock()
	head := p.head
	p.mu.Unlock()
	// Stateless checks, including sender recovery, run outside the lock.
	if err := txpool.ValidateTransaction(tx, head, p.signer, p.opts); err != nil {
		return err
	}
	from, _ := types.Sender(p.signer, tx) // cached by ValidateTransaction
	p.mu.Lock()
	announce, err := p.addLocked(tx, from)
	p.mu.Unlock()
	// Subscribers are told outside the lock: a slow one must not stall
	// admission.
	if len(announce) > 0 {
		p.txFeed.Send(core.NewTxsEvent{Txs: announce})
	}
	return err
}

// addLocked admits tx from from and returns the transactions that became
// executable (to announce once the lock is released).
func (p *TxPool) addLocked(tx *types.Transaction, from common.Address) (announce []*types.Transaction, err error) {
	hash := tx.Hash()
	if _, ok := p.all[hash]; ok {
		return nil, txpool.ErrAlreadyKnown
	}
	if baseFee := p.chain.nextBaseFee(p.head); tx.GasFeeCapIntCmp(baseFee) < 0 {
		return nil, fmt.Errorf("%w: max fee per gas %v below base fee %v", txpool.ErrUnderpriced, tx.GasFeeCap(), baseFee)
	}
	if p.chain.spec.Coco.Governed() && !governance.MaySend(p.state, from) {
		return nil, fmt.Errorf("%w: %s is not an account of a member or participant of the network", ErrNotActor, from.Hex())
	}
	acct := p.account(from)
	var old *poolTx
	if o, ok := acct.txs[tx.Nonce()]; ok {
		old = o
	}
	err = txpool.ValidateTransactionWithState(tx, p.signer, &txpool.ValidationOptionsWithState{
		State: p.state,
		ExistingExpenditure: func(common.Address) *big.Int {
			return acct.spent
		},
		ExistingCost: func(common.Address, uint64) *big.Int {
			if old != nil {
				return old.cost
			}
			return nil
		},
		UsedAndLeftSlots: func(common.Address) (int, int) {
			return len(acct.txs), p.cfg.AccountSlots - len(acct.txs)
		},
	})
	if err != nil {
		p.dropIfEmpty(from, acct)
		return nil, err
	}
	if old != nil {
		if !bumped(old.tx, tx, p.cfg.PriceBump) {
			return nil, txpool.ErrReplaceUnderpriced
		}
		if old.inflight {
			return nil, fmt.Errorf("%w: transaction with nonce %d is being included in a block", txpool.ErrReplaceUnderpriced, tx.Nonce())
		}
	} else {
		if len(p.all) >= p.cfg.GlobalSlots {
			return nil, errPoolFull
		}
		if tx.Nonce() > acct.next && acct.queued >= p.cfg.AccountQueue {
			return nil, fmt.Errorf("%w: %d future transactions of %s are waiting for a nonce gap", txpool.ErrAccountLimitExceeded, acct.queued, from.Hex())
		}
	}
	ptx := &poolTx{tx: tx, from: from, cost: tx.Cost(), sent: time.Now()}
	p.all[tx.Hash()] = ptx
	acct.txs[tx.Nonce()] = ptx
	acct.spent = new(big.Int).Add(acct.spent, ptx.cost)
	if old != nil {
		// Replacement: the new transaction takes the old one's place.
		acct.spent.Sub(acct.spent, old.cost)
		delete(p.all, old.tx.Hash())
		old.gone = true
		if old.inReady {
			old.inReady = false
			p.nready--
		}
		if tx.Nonce() < acct.next {
			p.pushReady(ptx)
			return []*types.Transaction{tx}, nil
		}
		return nil, nil
	}
	promoted := p.promote(acct)
	p.setQueued(from, acct)
	return promoted, nil
}

// bumped reports whether replacement raises both the fee cap and the tip by
// at least bump percent over old.
func bumped(old, repl *types.Transaction, bump uint64) bool {
	need := func(x *big.Int) *big.Int {
		v := new(big.Int).Mul(x, big.NewInt(int64(100+bump)))
		return v.Div(v, big.NewInt(100))
	}
	return repl.GasFeeCapIntCmp(need(old.GasFeeCap())) >= 0 && repl.GasTipCapIntCmp(need(old.GasTipCap())) >= 0
}

func (p *TxPool) account(addr common.Address) *poolAccount {
	if a, ok := p.accounts[addr]; ok {
		return a
	}
	n := p.state.GetNonce(addr)
	a := &poolAccount{nonce: n, next: n, txs: make(map[uint64]*poolTx), spent: new(big.Int)}
	p.accounts[addr] = a
	return a
}

func (p *TxPool) dropIfEmpty(addr common.Address, a *poolAccount) {
	if len(a.txs) == 0 {
		delete(p.accounts, addr)
		delete(p.gapped, addr)
	}
}

// setQueued recounts the gapped transactions of a (of addr) and files the
// account as gapped or not. Every change of an account's run ends here.
func (p *TxPool) setQueued(addr common.Address, a *poolAccount) {
	if len(a.txs) > 0 && a.next <= a.nonce {
		p.gapped[addr] = a
	} else {
		delete(p.gapped, addr)
	}
	q := 0
	for nonce := range a.txs {
		if nonce >= a.next {
			q++
		}
	}
	p.queued += q - a.queued
	a.queued = q
	poolPendingGauge.Update(int64(len(p.all) - p.queued))
	poolQueuedGauge.Update(int64(p.queued))
}

// promote extends a's executable run from a.next, queueing transactions
// that are neither waiting nor in flight, and returns those.
func (p *TxPool) promote(a *poolAccount) []*types.Transaction {
	var out []*types.Transaction
	for {
		ptx, ok := a.txs[a.next]
		if !ok {
			return out
		}
		if !ptx.inReady && !ptx.inflight {
			p.pushReady(ptx)
			out = append(out, ptx.tx)
		}
		a.next++
	}
}

func (p *TxPool) pushReady(ptx *poolTx) {
	if ptx.ready.IsZero() {
		ptx.ready = time.Now()
	}
	ptx.inReady = true
	p.ready = append(p.ready, ptx)
	p.nready++
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Wake is signalled when executable transactions arrive.
func (p *TxPool) Wake() <-chan struct{} { return p.wake }

// ReadyCount is the number of executable transactions not yet taken.
func (p *TxPool) ReadyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nready
}

// OldestReady returns when the longest-waiting executable transaction
// became executable; false when none waits.
func (p *TxPool) OldestReady() (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// The queue is in arrival order (returned transactions go back to the
	// front), so its first live entry waited longest.
	for _, ptx := range p.ready {
		if !ptx.gone && ptx.inReady {
			return ptx.ready, true
		}
	}
	return time.Time{}, false
}

// Take hands up to max executable transactions, in arrival order, to the
// block builder. They stay in the pool, marked in flight, until a block
// includes them (reset) or the builder gives them back (Return).
func (p *TxPool) Take(max int) []*types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*types.Transaction, 0, min(max, p.nready))
	i := 0
	for ; i < len(p.ready) && len(out) < max; i++ {
		ptx := p.ready[i]
		if ptx.gone || !ptx.inReady {
			continue
		}
		ptx.inReady, ptx.inflight = false, true
		out = append(out, ptx.tx)
		p.nready--
	}
	p.ready = p.ready[i:]
	if len(p.ready) == 0 {
		p.ready = nil
	}
	return out
}

// Return gives transactions the builder could not include back to the
// pool: deferred ones wait for the next block; rejected ones are dropped
// unless their only fault is a nonce gap.
func (p *TxPool) Return(deferred []*types.Transaction, rejected []rejectedTx) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var back []*poolTx
	for _, tx := range deferred {
		if ptx, ok := p.all[tx.Hash()]; ok && ptx.inflight {
			ptx.inflight, ptx.inReady = false, true
			back = append(back, ptx)
		}
	}
	requeue := make(map[common.Address]*poolAccount)
	// (setQueued below files each requeued account.)
	for _, r := range rejected {
		ptx, ok := p.all[r.tx.Hash()]
		if !ok {
			continue
		}
		ptx.inflight = false
		if errors.Is(r.err, core.ErrNonceTooHigh) {
			// Out of order (a returned batch went back behind a later
			// one, or an earlier transaction of the sender failed): it
			// becomes gapped again and is re-queued in nonce order.
			if a := p.accounts[ptx.from]; a != nil {
				if n := r.tx.Nonce(); n < a.next {
					a.next = n
				}
				requeue[ptx.from] = a
			}
			continue
		}
		log.Debug("Dropped transaction that failed pre-checks", "hash", r.tx.Hash(), "from", ptx.from, "nonce", r.tx.Nonce(), "err", r.err)
		p.removeLocked(ptx)
	}
	for addr, a := range requeue {
		if a.next < a.nonce {
			a.next = a.nonce
		}
		// Transactions below a.next that wait or fly keep their place;
		// the run from a.next is queued again behind them.
		p.promote(a)
		p.setQueued(addr, a)
	}
	if len(back) > 0 {
		// Deferred transactions go first: they arrived before the rest.
		p.ready = append(back, p.ready...)
		p.nready += len(back)
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

func (p *TxPool) removeLocked(ptx *poolTx) {
	delete(p.all, ptx.tx.Hash())
	if ptx.inReady {
		ptx.inReady = false
		p.nready--
	}
	ptx.gone = true
	if a, ok := p.accounts[ptx.from]; ok {
		if cur, ok := a.txs[ptx.tx.Nonce()]; ok && cur == ptx {
			delete(a.txs, ptx.tx.Nonce())
			a.spent.Sub(a.spent, ptx.cost)
			if ptx.tx.Nonce() < a.next {
				a.next = ptx.tx.Nonce() // a gap: later ones wait
			}
			p.setQueued(ptx.from, a)
		}
		p.dropIfEmpty(ptx.from, a)
	}
}

// reset moves the pool onto a new head: committed transactions leave, each
// touched account's nonce and executable run are recomputed.
func (p *TxPool) reset(head *types.Header) error {
	st, err := p.chain.StateAt(head.Root)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.head, p.state = head, st
	return nil
}

// resetAll empties the pool onto the chain's head (after a snapshot
// replaced the chain).
func (p *TxPool) resetAll() {
	head := p.chain.CurrentHeader()
	st, err := p.chain.StateAt(head.Root)
	if err != nil {
		log.Error("Txpool cannot open head state", "number", head.Number, "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ptx := range p.all {
		ptx.gone = true
	}
	p.all = make(map[common.Hash]*poolTx)
	p.accounts = make(map[common.Address]*poolAccount)
	p.gapped = make(map[common.Address]*poolAccount)
	p.ready, p.nready, p.queued = nil, 0, 0
	p.head, p.state = head, st
	poolPendingGauge.Update(0)
	poolQueuedGauge.Update(0)
}

// onBlock updates the pool after a block is committed.
func (p *TxPool) onBlock(block *types.Block) {
	st, err := p.chain.StateAt(block.Root())
	if err != nil {
		log.Error("Txpool cannot open head state", "number", block.NumberU64(), "err", err)
		return
	}
	signer := types.MakeSigner(p.chain.Config(), block.Number(), block.Time())
	p.mu.Lock()
	promoted := p.onBlockLocked(block, st, signer)
	p.mu.Unlock()
	// Subscribers are told outside the lock.
	if len(promoted) > 0 {
		p.txFeed.Send(core.NewTxsEvent{Txs: promoted})
	}
}

// onBlockLocked drops what block included, moves the pool onto its state
// and returns the transactions that became executable.
func (p *TxPool) onBlockLocked(block *types.Block, st *state.StateDB, signer types.Signer) []*types.Transaction {
	p.head, p.state = block.Header(), st
	touched := make(map[common.Address]*poolAccount)
	for _, tx := range block.Transactions() {
		if ptx, ok := p.all[tx.Hash()]; ok {
			touched[ptx.from] = p.accounts[ptx.from]
			continue
		}
		from, err := types.Sender(signer, tx)
		if err != nil {
			continue
		}
		if a, ok := p.accounts[from]; ok {
			touched[from] = a
		}
	}
	// Accounts whose run was cut by a dropped transaction also need a look.
	for addr, a := range p.gapped {
		touched[addr] = a
	}
	var promoted []*types.Transaction
	for addr, a := range touched {
		if a == nil {
			continue
		}
		nonce := st.GetNonce(addr)
		for n, ptx := range a.txs {
			if n < nonce {
				delete(a.txs, n)
				delete(p.all, ptx.tx.Hash())
				a.spent.Sub(a.spent, ptx.cost)
				if ptx.inReady {
					ptx.inReady = false
					p.nready--
				}
				ptx.gone = true
			}
		}
		a.nonce = nonce
		if a.next < nonce {
			a.next = nonce
		}
		// A run cut by a dropped transaction, or a first transaction that
		// was gapped against an older nonce, may be executable now.
		promoted = append(promoted, p.promote(a)...)
		p.setQueued(addr, a)
		p.dropIfEmpty(addr, a)
	}
	return promoted
}

// Get returns a pooled transaction.
func (p *TxPool) Get(hash common.Hash) *types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ptx, ok := p.all[hash]; ok {
		return ptx.tx
	}
	return nil
}

// Nonce is the next nonce of addr counting pooled executable transactions,
// as wallets expect from eth_getTransactionCount(addr, "pending").
func (p *TxPool) Nonce(addr common.Address) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.accounts[addr]; ok {
		return a.next
	}
	return p.state.GetNonce(addr)
}

// Stats returns the number of executable and of gapped transactions.
func (p *TxPool) Stats() (pending, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.all) - p.queued, p.queued
}

// Content returns the pooled transactions by account, split into
// executable (pending) and gapped (queued) ones, sorted by nonce.
func (p *TxPool) Content() (pending, queued map[common.Address][]*types.Transaction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending = make(map[common.Address][]*types.Transaction)
	queued = make(map[common.Address][]*types.Transaction)
	for addr, a := range p.accounts {
		nonces := make([]uint64, 0, len(a.txs))
		for n := range a.txs {
			nonces = append(nonces, n)
		}
		sort.Slice(nonces, func(i, j int) bool { return nonces[i] < nonces[j] })
		for _, n := range nonces {
			if n < a.next {
				pending[addr] = append(pending[addr], a.txs[n].tx)
			} else {
				queued[addr] = append(queued[addr], a.txs[n].tx)
			}
		}
	}
	return pending, queued
}

// DueForResend returns the pooled transactions last forwarded more than
// age ago and marks them forwarded now. A follower resends them in case a
// frame to the leader was lost.
func (p *TxPool) DueForResend(age time.Duration) []*types.Transaction {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var out []*types.Transaction
	for _, ptx := range p.all {
		if now.Sub(ptx.sent) > age {
			ptx.sent = now
			out = append(out, ptx.tx)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Nonce() < out[j].Nonce() })
	return out
}

// Close ends every subscription to the pool's events.
func (p *TxPool) Close() { p.scope.Close() }

// SubscribeNewTxsEvent delivers transactions as they become executable.
func (p *TxPool) SubscribeNewTxsEvent(ch chan<- core.NewTxsEvent) event.Subscription {
	return p.scope.Track(p.txFeed.Subscribe(ch))
}

// ErrNotActor refuses transactions from accounts the constitution does not
// list, unless it allows open sending.
var ErrNotActor = errors.New("sender not allowed")

// errPoolFull is geth's message for a full pool.
var errPoolFull = errors.New("txpool is full")
