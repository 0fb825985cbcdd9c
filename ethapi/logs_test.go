package ethapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/filtermaps"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/rpc"
)

// The chain of the log limit tests: blocks 1..12 hold five logs each (a
// contract emitting three tagged tagA, another two tagged tagB), block 13
// one contract emitting 25 tagA logs. Every log's second topic is its
// index within its transaction. 85 logs in all.
var (
	tagA = common.HexToHash("0xaaaa")
	tagB = common.HexToHash("0xbbbb")
)

const (
	testLogLimit = 20
	smallBlocks  = 12
	bigBlockLogs = 25
)

// emitCode is init code emitting n LOG2s (topics tag and the log's index,
// no data) and deploying nothing.
func emitCode(tag common.Hash, n int) []byte {
	var code []byte
	for i := 0; i < n; i++ {
		code = append(code, 0x60, byte(i), 0x7f) // PUSH1 i, PUSH32 tag
		code = append(code, tag.Bytes()...)
		code = append(code, 0x60, 0, 0x60, 0, 0xa2) // size 0, offset 0, LOG2
	}
	return append(code, 0x00) // STOP
}

func emitTx(t testing.TB, nonce uint64, tag common.Hash, n int) *types.Transaction {
	t.Helper()
	tx, err := types.SignNewTx(keyA, testSig, &types.DynamicFeeTx{
		ChainID: big.NewInt(genesis.DevChainID), Nonce: nonce, GasTipCap: gwei, GasFeeCap: feeCap,
		Gas: 1_000_000, Data: emitCode(tag, n),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// logsNode is a started service on the test chain and the RPC
// configuration its APIs get.
type logsNode struct {
	chain *eth.Service
	cfg   Config
}

// newLogsService starts a service on the test chain and waits until the
// log index covers it.
func newLogsService(t *testing.T, cfg Config) (*logsNode, []*types.Block) {
	t.Helper()
	s := newDevChain(t)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var blocks []*types.Block
	nonce := uint64(0)
	for i := 0; i < smallBlocks; i++ {
		blocks = append(blocks, commit(t, s, emitTx(t, nonce, tagA, 3), emitTx(t, nonce+1, tagB, 2)))
		nonce += 2
	}
	blocks = append(blocks, commit(t, s, emitTx(t, nonce, tagA, bigBlockLogs)))
	b := s.RPCBackend()
	for _, block := range blocks {
		if r, _ := b.GetReceipts(context.Background(), block.Hash()); len(r) == 0 || r[0].Status != types.ReceiptStatusSuccessful {
			t.Fatalf("block %d: emitting transactions failed", block.NumberU64())
		}
	}
	waitIndexed(t, s)
	return &logsNode{chain: s, cfg: cfg}, blocks
}

// waitIndexed waits until the log index covers the head.
func waitIndexed(t *testing.T, s *eth.Service) {
	t.Helper()
	b := s.RPCBackend()
	head := b.CurrentHeader().Number.Uint64()
	waitFor(t, "the log index to reach the head", func() bool {
		mb := b.NewMatcherBackend()
		defer mb.Close()
		r, err := mb.SyncLogIndex(context.Background())
		return err == nil && !r.IndexedBlocks.IsEmpty() && r.IndexedBlocks.Last() >= head
	})
}

// logsServers serves the service's APIs as a node does (the bounded API,
// adjusted by mod, registered after geth's) and, beside it, go-ethereum's
// FilterAPI alone over the same filter system: the reference.
func logsServers(t *testing.T, n *logsNode, mod func(*logsAPI)) (ours, geth *rpc.Client, api *logsAPI) {
	t.Helper()
	s := New(n.chain.RPCBackend(), n.cfg, nil)
	t.Cleanup(func() { s.Stop() })
	srv := rpc.NewServer()
	for _, a := range s.APIs() {
		if l, ok := a.Service.(*logsAPI); ok {
			api = l
			if mod != nil {
				mod(l)
			}
		}
		if err := srv.RegisterName(a.Namespace, a.Service); err != nil {
			t.Fatal(err)
		}
	}
	if api == nil {
		t.Fatal("APIs() has no bounded log API")
	}
	ref := rpc.NewServer()
	if err := ref.RegisterName("eth", filters.NewFilterAPI(s.filters)); err != nil {
		t.Fatal(err)
	}
	ours, geth = rpc.DialInProc(srv), rpc.DialInProc(ref)
	t.Cleanup(func() {
		ours.Close()
		geth.Close()
		srv.Stop()
		ref.Stop()
	})
	return ours, geth, api
}

// answer is one JSON-RPC answer: the raw result or the error.
type answer struct {
	result json.RawMessage
	err    error
}

func call(c *rpc.Client, method string, params ...any) answer {
	var a answer
	a.err = c.CallContext(context.Background(), &a.result, method, params...)
	return a
}

func errCode(err error) int {
	var e rpc.Error
	if errors.As(err, &e) {
		return e.ErrorCode()
	}
	return 0
}

// Expected outcomes of a query.
const (
	wantLogs  = iota // under or at the limit: geth's logs, at least one
	wantNone         // geth's empty answer
	wantOver         // over the limit: refused
	wantError        // geth's error
)

var outcomeNames = []string{"logs", "no logs", "over the limit", "an error"}

// compare checks our answer against geth's and that the case is the kind
// of case it claims to be.
func compare(t *testing.T, what string, want int, ours, geth answer) {
	t.Helper()
	var gethLogs []json.RawMessage
	if geth.err == nil {
		if err := json.Unmarshal(geth.result, &gethLogs); err != nil {
			t.Fatalf("%s: geth answered %s: %v", what, geth.result, err)
		}
	}
	got := wantError
	switch {
	case geth.err != nil:
	case len(gethLogs) > testLogLimit:
		got = wantOver
	case len(gethLogs) == 0:
		got = wantNone
	default:
		got = wantLogs
	}
	if got != want {
		t.Fatalf("%s: geth answers %s (%d logs, err %v), the case expects %s", what, outcomeNames[got], len(gethLogs), geth.err, outcomeNames[want])
	}
	if want == wantOver {
		msg := fmt.Sprintf("query returned more than %d results; narrow the block range or the addresses/topics", testLogLimit)
		if ours.err == nil || ours.err.Error() != msg || errCode(ours.err) != -32005 {
			t.Errorf("%s: geth returns %d logs; got %s, %v (code %d), want error -32005 %q", what, len(gethLogs), ours.result, ours.err, errCode(ours.err), msg)
		}
		return
	}
	if geth.err != nil {
		if ours.err == nil || ours.err.Error() != geth.err.Error() || errCode(ours.err) != errCode(geth.err) {
			t.Errorf("%s: got %s, %v (code %d), want geth's error %v (code %d)", what, ours.result, ours.err, errCode(ours.err), geth.err, errCode(geth.err))
		}
		return
	}
	if ours.err != nil || string(ours.result) != string(geth.result) {
		t.Errorf("%s: got %.200s, %v; want geth's %d logs %.200s", what, ours.result, ours.err, len(gethLogs), geth.result)
	}
}

type logsCase struct {
	name  string
	query string // JSON criteria; %A is the first tagA contract, %2, %13 block hashes
	want  int
}

func (c logsCase) criteria(blocks []*types.Block) json.RawMessage {
	q := strings.NewReplacer(
		"%A", crypto.CreateAddress(addrA, 0).Hex(),
		"%13", blocks[12].Hash().Hex(),
		"%2", blocks[1].Hash().Hex(),
	).Replace(c.query)
	return json.RawMessage(q)
}

var hashB = tagB.Hex()

// getLogsCases run with LogQueryLimit 3 and no range limit.
var getLogsCases = []logsCase{
	{"range 3..5", `{"fromBlock":"0x3","toBlock":"0x5"}`, wantLogs},
	{"tagB in 1..10: exactly the limit", `{"fromBlock":"0x1","toBlock":"0xa","topics":["` + hashB + `"]}`, wantLogs},
	{"tagB in 1..11: one block more", `{"fromBlock":"0x1","toBlock":"0xb","topics":["` + hashB + `"]}`, wantOver},
	{"tagB from 0: over", `{"fromBlock":"0x0","topics":["` + hashB + `"]}`, wantOver},
	{"everything", `{"fromBlock":"0x0","toBlock":"latest"}`, wantOver},
	{"everything from earliest", `{"fromBlock":"earliest"}`, wantOver},
	{"latest: the big block", `{}`, wantOver},
	{"finalized: the big block", `{"fromBlock":"finalized","toBlock":"safe"}`, wantOver},
	{"tagB at safe", `{"fromBlock":"safe","topics":["` + hashB + `"]}`, wantNone},
	{"one address", `{"fromBlock":"0x0","address":"%A"}`, wantLogs},
	{"one address, list", `{"fromBlock":"earliest","toBlock":"latest","address":["%A"]}`, wantLogs},
	{"second topic only", `{"fromBlock":"0x0","topics":[null,"0x0000000000000000000000000000000000000000000000000000000000000001"]}`, wantOver},
	{"tag alternatives, second topic 1", `{"fromBlock":"0x0","toBlock":"0xc","topics":[["` + hashB + `","` + tagA.Hex() + `"],"0x0000000000000000000000000000000000000000000000000000000000000001"]}`, wantOver},
	{"tagB, second topic 1", `{"fromBlock":"0x0","topics":["` + hashB + `","0x0000000000000000000000000000000000000000000000000000000000000001"]}`, wantLogs},
	{"no match", `{"fromBlock":"0x0","topics":["0x00000000000000000000000000000000000000000000000000000000000000cc"]}`, wantNone},
	{"earliest to 2", `{"fromBlock":"earliest","toBlock":"0x2"}`, wantLogs},
	{"genesis only", `{"fromBlock":"0x0","toBlock":"0x0"}`, wantNone},
	{"block hash", `{"blockHash":"%2"}`, wantLogs},
	{"block hash, tagB", `{"blockHash":"%2","topics":["` + hashB + `"]}`, wantLogs},
	{"block hash of the big block", `{"blockHash":"%13"}`, wantOver},
	{"block hash of the big block, one topic", `{"blockHash":"%13","topics":[null,"0x0000000000000000000000000000000000000000000000000000000000000001"]}`, wantLogs},
	{"unknown block hash", `{"blockHash":"0x00000000000000000000000000000000000000000000000000000000000000cc"}`, wantError},
	{"block hash and range", `{"blockHash":"%2","fromBlock":"0x1"}`, wantError},
	{"from after to", `{"fromBlock":"0x5","toBlock":"0x3"}`, wantError},
	{"from after the head", `{"fromBlock":"0x100"}`, wantError},
	{"to after the head", `{"fromBlock":"0x1","toBlock":"0x100"}`, wantError},
	{"from latest to 2", `{"fromBlock":"latest","toBlock":"0x2"}`, wantError},
	{"pending from", `{"fromBlock":"pending"}`, wantError},
	{"pending to", `{"fromBlock":"0x1","toBlock":"pending"}`, wantError},
	{"five topics", `{"topics":[null,null,null,null,null]}`, wantError},
	{"four addresses over the query limit", `{"address":["%A","%A","%A","%A"]}`, wantError},
	{"four alternatives over the query limit", `{"topics":[null,["` + hashB + `","` + hashB + `","` + hashB + `","` + hashB + `"]]}`, wantError},
	{"three addresses at the query limit", `{"fromBlock":"0x0","address":["%A","%A","%A"]}`, wantLogs},
	{"bad address", `{"address":"0x12"}`, wantError},
	{"bad topic", `{"topics":["0x12"]}`, wantError},
}

// rangeLimitCases run with RangeLimit 8.
var rangeLimitCases = []logsCase{
	{"range 3", `{"fromBlock":"0x1","toBlock":"0x4"}`, wantLogs},
	{"range of 8 blocks, tagB", `{"fromBlock":"0x1","toBlock":"0x9","topics":["` + hashB + `"]}`, wantLogs},
	{"range 9", `{"fromBlock":"0x1","toBlock":"0xa","topics":["` + hashB + `"]}`, wantError},
	{"from 1 to latest (geth counts latest as 2^64-1)", `{"fromBlock":"0x1","topics":["` + hashB + `"]}`, wantError},
	{"latest", `{"topics":[null,"0x0000000000000000000000000000000000000000000000000000000000000001"]}`, wantLogs},
	{"block hash", `{"blockHash":"%2"}`, wantLogs},
}

// chunkings are the ways the bounded search may cut a range; each must
// answer the same.
var chunkings = []struct {
	name string
	mod  func(*logsAPI)
}{
	{"defaults", nil},
	{"tiny indexed chunks", func(a *logsAPI) { a.chunkValues = 7 }},
	{"small indexed chunks", func(a *logsAPI) { a.chunkValues = 40 }},
	{"block chunks", func(a *logsAPI) { a.ignoreIndex, a.firstBlocks, a.maxBlocks = true, 1, 3 }},
}

// eth_getLogs answers exactly what geth answers unless geth would return
// more than the limit, which is refused with -32005: by range, tag, block
// hash, and for every error geth has; whatever the chunks.
func TestGetLogsLimit(t *testing.T) {
	for _, cs := range []struct {
		name  string
		mod   func(*Config)
		cases []logsCase
	}{
		{"query limit 3", func(c *Config) { c.LogQueryLimit = 3 }, getLogsCases},
		{"range limit 8", func(c *Config) { c.RangeLimit = 8 }, rangeLimitCases},
	} {
		cfg := testConfig()
		cfg.LogResultLimit = testLogLimit
		cs.mod(&cfg)
		s, blocks := newLogsService(t, cfg)
		for _, ch := range chunkings {
			ours, geth, _ := logsServers(t, s, ch.mod)
			for _, c := range cs.cases {
				q := c.criteria(blocks)
				compare(t, cs.name+", "+ch.name+": "+c.name, c.want, call(ours, "eth_getLogs", q), call(geth, "eth_getLogs", q))
			}
		}
	}
}

// The search stops at the chunk that passes the limit and no chunk holds
// more logs than the index says it may.
func TestGetLogsStopsEarly(t *testing.T) {
	cfg := testConfig()
	cfg.LogResultLimit = testLogLimit
	s, _ := newLogsService(t, cfg)
	type chunk struct {
		from, to uint64
		logs     int
	}
	for _, ch := range chunkings[1:] {
		var chunks []chunk
		ours, _, api := logsServers(t, s, func(a *logsAPI) {
			if ch.mod != nil {
				ch.mod(a)
			}
			a.onChunk = func(from, to uint64, logs int) { chunks = append(chunks, chunk{from, to, logs}) }
		})
		a := call(ours, "eth_getLogs", json.RawMessage(`{"fromBlock":"0x0"}`))
		if errCode(a.err) != -32005 {
			t.Fatalf("%s: everything: %s, %v; want the limit error", ch.name, a.result, a.err)
		}
		if len(chunks) < 2 {
			t.Fatalf("%s: searched in %d chunks %v, want several", ch.name, len(chunks), chunks)
		}
		total, next := 0, uint64(0)
		for _, c := range chunks {
			if c.from != next || c.to < c.from {
				t.Fatalf("%s: chunks %v do not follow each other from block 0", ch.name, chunks)
			}
			next = c.to + 1
			total += c.logs
			if !api.ignoreIndex && c.to > c.from && uint64(c.logs) > api.chunkValues {
				t.Errorf("%s: chunk %v holds more logs than its %d log values", ch.name, c, api.chunkValues)
			}
		}
		// 21 logs are in blocks 1..5: the search ends there, far from the head.
		last := chunks[len(chunks)-1]
		if total <= testLogLimit || total-last.logs > testLogLimit || last.to > 6 {
			t.Errorf("%s: searched %v (%d logs); want it to stop at the chunk passing %d logs, by block 6", ch.name, chunks, total, testLogLimit)
		}
		t.Logf("%s: %v", ch.name, chunks)
	}
}

// eth_getFilterLogs is bounded as eth_getLogs; the log filters behave as
// geth's (changes, uninstall, unknown ids) and geth's block filters still
// answer through the same methods.
func TestFilterLogsLimit(t *testing.T) {
	cfg := testConfig()
	cfg.LogResultLimit = testLogLimit
	s, blocks := newLogsService(t, cfg)
	ours, geth, _ := logsServers(t, s, func(a *logsAPI) { a.chunkValues = 7 })

	for _, c := range []logsCase{
		{"tagB in 1..10", `{"fromBlock":"0x1","toBlock":"0xa","topics":["` + hashB + `"]}`, wantLogs},
		{"tagB from 1 to latest", `{"fromBlock":"0x1","topics":["` + hashB + `"]}`, wantOver},
		{"everything", `{"fromBlock":"0x0"}`, wantOver},
		{"latest", `{}`, wantOver},
		{"earliest to 1", `{"fromBlock":"earliest","toBlock":"0x1"}`, wantLogs},
		{"block hash", `{"blockHash":"%2"}`, wantLogs},
		{"block hash of the big block", `{"blockHash":"%13"}`, wantOver},
	} {
		q := c.criteria(blocks)
		var oursID, gethID string
		if err := ours.Call(&oursID, "eth_newFilter", q); err != nil {
			t.Fatalf("%s: eth_newFilter: %v", c.name, err)
		}
		if err := geth.Call(&gethID, "eth_newFilter", q); err != nil {
			t.Fatalf("%s: geth's eth_newFilter: %v", c.name, err)
		}
		compare(t, "eth_getFilterLogs "+c.name, c.want, call(ours, "eth_getFilterLogs", oursID), call(geth, "eth_getFilterLogs", gethID))
	}
	// eth_newFilter refuses what geth refuses.
	for _, q := range []string{`{"fromBlock":"0x5","toBlock":"0x3"}`, `{"fromBlock":"pending"}`, `{"topics":[null,null,null,null,null]}`} {
		compare(t, "eth_newFilter "+q, wantError, call(ours, "eth_newFilter", json.RawMessage(q)), call(geth, "eth_newFilter", json.RawMessage(q)))
	}
	// Unknown ids, and block filters, which are not log filters.
	var blockFilter string
	if err := ours.Call(&blockFilter, "eth_newBlockFilter"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"0x1234", blockFilter} {
		compare(t, "eth_getFilterLogs of "+id, wantError, call(ours, "eth_getFilterLogs", id), call(geth, "eth_getFilterLogs", "0x1234"))
	}

	// New logs reach a log filter's changes once; the block filter sees the block.
	var logFilter string
	if err := ours.Call(&logFilter, "eth_newFilter", json.RawMessage(`{"topics":["`+hashB+`"]}`)); err != nil {
		t.Fatal(err)
	}
	if a := call(ours, "eth_getFilterChanges", logFilter); a.err != nil || string(a.result) != "[]" {
		t.Fatalf("eth_getFilterChanges before a block = %s, %v; want []", a.result, a.err)
	}
	b := commit(t, s.chain, emitTx(t, smallBlocks*2+1, tagB, 4))
	var changes []*types.Log
	waitFor(t, "the new block's logs in the filter", func() bool {
		var more []*types.Log
		if err := ours.Call(&more, "eth_getFilterChanges", logFilter); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, more...)
		return len(changes) >= 4
	})
	want := call(geth, "eth_getLogs", json.RawMessage(`{"blockHash":"`+b.Hash().Hex()+`"}`))
	if got, _ := json.Marshal(changes); want.err != nil || string(got) != string(want.result) {
		t.Errorf("eth_getFilterChanges = %s, want the block's logs %s (%v)", got, want.result, want.err)
	}
	if a := call(ours, "eth_getFilterChanges", logFilter); a.err != nil || string(a.result) != "[]" {
		t.Errorf("second eth_getFilterChanges = %s, %v; want []", a.result, a.err)
	}
	var hashes []common.Hash
	waitFor(t, "the new block in the block filter", func() bool {
		var more []common.Hash
		if err := ours.Call(&more, "eth_getFilterChanges", blockFilter); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, more...)
		return len(hashes) > 0
	})
	if len(hashes) != 1 || hashes[0] != b.Hash() {
		t.Errorf("block filter changes = %v; want %s", hashes, b.Hash())
	}
	for _, id := range []string{logFilter, blockFilter} {
		var ok bool
		if err := ours.Call(&ok, "eth_uninstallFilter", id); err != nil || !ok {
			t.Errorf("eth_uninstallFilter(%s) = %v, %v; want true", id, ok, err)
		}
		if err := ours.Call(&ok, "eth_uninstallFilter", id); err != nil || ok {
			t.Errorf("second eth_uninstallFilter(%s) = %v, %v; want false", id, ok, err)
		}
		compare(t, "eth_getFilterChanges after uninstall", wantError, call(ours, "eth_getFilterChanges", id), call(geth, "eth_getFilterChanges", id))
	}
}

// A log filter not polled for the filter timeout is removed, as geth's.
func TestLogFilterExpires(t *testing.T) {
	cfg := testConfig()
	cfg.LogResultLimit = testLogLimit
	cfg.FilterTimeout = 50 * time.Millisecond
	s, _ := newLogsService(t, cfg)
	ours, _, api := logsServers(t, s, nil)
	var polled, idle string
	start := time.Now()
	for _, id := range []*string{&polled, &idle} {
		if err := ours.Call(id, "eth_newFilter", json.RawMessage(`{"fromBlock":"0x1","toBlock":"0x2"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if a := call(ours, "eth_getFilterLogs", idle); a.err != nil {
		t.Fatalf("eth_getFilterLogs of a new filter: %v", a.err)
	}
	waitFor(t, "the idle filter to expire", func() bool {
		call(ours, "eth_getFilterChanges", polled)
		return call(ours, "eth_getFilterLogs", idle).err != nil
	})
	if a := call(ours, "eth_getFilterLogs", idle); a.err == nil || a.err.Error() != "filter not found" {
		t.Errorf("expired filter: %v, want filter not found", a.err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("filter expired after %v, before the timeout", d)
	}
	if a := call(ours, "eth_getFilterLogs", polled); a.err != nil {
		t.Errorf("polled filter: %v", a.err)
	}
	api.mu.Lock()
	n := len(api.filters)
	api.mu.Unlock()
	if n != 1 {
		t.Errorf("%d log filters kept, want 1", n)
	}
}

// Without a result limit geth's FilterAPI serves alone; negative limits
// are refused.
func TestLogResultLimitOff(t *testing.T) {
	cfg := testConfig()
	cfg.LogResultLimit = 0
	s := New(newDevChain(t).RPCBackend(), cfg, nil)
	t.Cleanup(func() { s.Stop() })
	for _, a := range s.APIs() {
		if _, ok := a.Service.(*logsAPI); ok {
			t.Fatal("bounded log API registered with LogResultLimit 0")
		}
	}
	for _, mod := range []func(*eth.Config){
		func(c *eth.Config) { c.LogResultLimit = -1 },
		func(c *eth.Config) { c.LogQueryLimit = -1 },
	} {
		c := eth.DefaultConfig
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("config %+v validates", c)
		}
	}
}

// lvBackend answers log value pointers from a list of values per block;
// blocks past the list are an error.
type lvBackend struct {
	filtermaps.MatcherBackend
	values []uint64
}

func (b *lvBackend) GetBlockLvPointer(_ context.Context, n uint64) (uint64, error) {
	if n > uint64(len(b.values)) {
		return 0, errors.New("not indexed")
	}
	var p uint64
	for _, v := range b.values[:n] {
		p += v
	}
	return p, nil
}

// Chunks covered by the index hold at most chunkValues log values, or one
// block; elsewhere they are counted in blocks and end where the index
// begins.
func TestChunkEnd(t *testing.T) {
	a := &logsAPI{chunkValues: 40, maxBlocks: 4096}
	mb := &lvBackend{values: []uint64{1, 16, 16, 100, 1, 1, 1, 1, 1, 1, 1, 1}}
	all := common.NewRange[uint64](0, 12) // first, count
	for _, c := range []struct {
		indexed    common.Range[uint64]
		from, last uint64
		blocks     uint64
		to         uint64
		byIndex    bool
	}{
		{indexed: all, from: 0, last: 11, blocks: 8, to: 2, byIndex: true},             // 33 values; block 3 would make 133
		{indexed: all, from: 3, last: 11, blocks: 8, to: 3, byIndex: true},             // block 3 alone holds 100
		{indexed: all, from: 4, last: 11, blocks: 8, to: 10, byIndex: true},            // up to the last indexed block but one
		{indexed: all, from: 4, last: 6, blocks: 8, to: 6, byIndex: true},              // up to last
		{indexed: all, from: 11, last: 20, blocks: 8, to: 18},                          // the last indexed block: counted in blocks
		{indexed: common.NewRange[uint64](5, 2), from: 0, last: 11, blocks: 8, to: 4},  // below the index: stops where it begins
		{indexed: common.NewRange[uint64](5, 2), from: 7, last: 11, blocks: 3, to: 9},  // above it
		{indexed: common.Range[uint64]{}, from: 0, last: 11, blocks: 64, to: 11},       // no index
		{indexed: common.NewRange[uint64](0, 20), from: 0, last: 19, blocks: 5, to: 4}, // pointers unavailable
	} {
		to, byIndex := a.chunkEnd(context.Background(), mb, c.indexed, c.from, c.last, c.blocks)
		if to != c.to || byIndex != c.byIndex {
			t.Errorf("indexed %v, from %d to %d by %d blocks: chunk ends at %d (by index %v), want %d (%v)",
				c.indexed, c.from, c.last, c.blocks, to, byIndex, c.to, c.byIndex)
		}
	}
	// Unindexed chunks double while empty, up to the most, and shrink to what
	// the room left takes at the density just seen.
	a.firstBlocks, a.maxBlocks = 128, 4096
	for _, c := range []struct {
		blocks, span uint64
		found, room  int
		want         uint64
	}{
		{128, 128, 0, 100, 256},
		{4096, 4096, 0, 100, 4096},
		{256, 256, 1000, 11, 2},
		{256, 256, 1000, 1, 1},
		{256, 256, 10, 10001, 512},
	} {
		if got := a.nextBlocks(c.blocks, c.span, c.found, c.room); got != c.want {
			t.Errorf("nextBlocks(%d, %d, %d, %d) = %d, want %d", c.blocks, c.span, c.found, c.room, got, c.want)
		}
	}
}

// A log filter that gathers more logs than the result limit between two
// polls keeps none of them: the next poll answers -32005 and the filter is
// gone, so an abandoned filter on a busy chain costs bounded memory.
func TestLogFilterOverflow(t *testing.T) {
	cfg := testConfig()
	cfg.LogResultLimit = testLogLimit
	s, _ := newLogsService(t, cfg)
	ours, _, api := logsServers(t, s, nil)
	var id string
	if err := ours.Call(&id, "eth_newFilter", json.RawMessage(`{"topics":["`+tagA.Hex()+`"]}`)); err != nil {
		t.Fatal(err)
	}
	nonce := uint64(smallBlocks*2 + 1)
	commit(t, s.chain, emitTx(t, nonce, tagA, testLogLimit+1))
	waitFor(t, "the filter to overflow", func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		f := api.filters[rpc.ID(id)]
		return f != nil && f.overflow && f.logs == nil
	})
	a := call(ours, "eth_getFilterChanges", id)
	if errCode(a.err) != errCodeLimitExceeded || !strings.Contains(a.err.Error(), fmt.Sprintf("more than %d logs", testLogLimit)) {
		t.Fatalf("eth_getFilterChanges of an overflowed filter = %s, %v; want -32005", a.result, a.err)
	}
	if a := call(ours, "eth_getFilterChanges", id); a.err == nil || !strings.Contains(a.err.Error(), "filter not found") {
		t.Errorf("the overflowed filter was not removed: %s, %v", a.result, a.err)
	}
	// A filter polled in time keeps working: at the limit exactly.
	if err := ours.Call(&id, "eth_newFilter", json.RawMessage(`{"topics":["`+tagA.Hex()+`"]}`)); err != nil {
		t.Fatal(err)
	}
	commit(t, s.chain, emitTx(t, nonce+1, tagA, testLogLimit))
	var logs []types.Log
	waitFor(t, "the block's logs in the filter", func() bool {
		var more []types.Log
		if err := ours.Call(&more, "eth_getFilterChanges", id); err != nil {
			t.Fatal(err)
		}
		logs = append(logs, more...)
		return len(logs) >= testLogLimit
	})
	if len(logs) != testLogLimit {
		t.Errorf("%d logs, want %d", len(logs), testLogLimit)
	}
}
