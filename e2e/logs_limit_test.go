package e2e

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// A node started with --rpc.logresultlimit 50 refuses log queries matching
// more than 50 logs with -32005, through ethclient, eth_getLogs and
// eth_getFilterLogs, and answers narrower ones in full.
func TestLogResultLimit(t *testing.T) {
	const limit = 50
	n := startDev(t, "--rpc.logresultlimit", "50")
	w := n.Wallet(t)
	c := n.Client()
	ev := testcontracts.MustLoad("Events")
	addr, _ := w.DeployEvents(t)
	// emitMany(k) emits k Ping logs and one anonymous log: 30, 20 and 10
	// logs in three blocks, 60 in all.
	var (
		blocks []*big.Int
		hashes []common.Hash
	)
	for _, k := range []int64{29, 19, 9} {
		r := w.Transact(t, addr, ev.ABI, "emitMany", big.NewInt(k))
		if len(r.Logs) != int(k)+1 {
			t.Fatalf("emitMany(%d) logged %d, want %d", k, len(r.Logs), k+1)
		}
		blocks, hashes = append(blocks, r.BlockNumber), append(hashes, r.BlockHash)
	}
	if blocks[0].Cmp(blocks[1]) == 0 || blocks[1].Cmp(blocks[2]) == 0 {
		t.Fatalf("the emitting transactions share blocks %v", blocks)
	}
	const msg = "query returned more than 50 results; narrow the block range or the addresses/topics"
	over := func(what string, err error) {
		t.Helper()
		wantErr(t, what, err, msg)
		if code := rpcCode(err); code != -32005 {
			t.Errorf("%s: error code %d, want -32005", what, code)
		}
	}
	addrs := []common.Address{addr}

	// Over the limit: everything from genesis, and the three blocks.
	logs, err := c.FilterLogs(ctx(t), ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: addrs})
	over("FilterLogs from genesis", err)
	if logs != nil {
		t.Errorf("FilterLogs over the limit returned %d logs", len(logs))
	}
	_, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{FromBlock: blocks[0], ToBlock: blocks[2]})
	over("FilterLogs of the three blocks", err)
	ping := ev.ABI.Events["Ping"].ID
	_, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{FromBlock: big.NewInt(0), Topics: [][]common.Hash{{ping}}})
	over("FilterLogs of every Ping (57)", err)

	// Narrowed: exactly the limit, fewer blocks, a topic, a block hash.
	for _, q := range []struct {
		what  string
		query ethereum.FilterQuery
		want  int
	}{
		{"first two blocks (exactly the limit)", ethereum.FilterQuery{FromBlock: blocks[0], ToBlock: blocks[1], Addresses: addrs}, limit},
		{"last two blocks", ethereum.FilterQuery{FromBlock: blocks[1], ToBlock: blocks[2], Addresses: addrs}, 30},
		{"Ping logs of the first two blocks", ethereum.FilterQuery{FromBlock: blocks[0], ToBlock: blocks[1], Topics: [][]common.Hash{{ping}}}, 48},
		{"Ping(7) in every block", ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: addrs,
			Topics: [][]common.Hash{{ping}, {common.BigToHash(big.NewInt(7))}}}, 3},
		{"Ping(20) and up", ethereum.FilterQuery{FromBlock: big.NewInt(0), Addresses: addrs,
			Topics: [][]common.Hash{{ping}, pingArgs(20, 29)}}, 9},
	} {
		logs, err := c.FilterLogs(ctx(t), q.query)
		if err != nil || len(logs) != q.want {
			t.Errorf("FilterLogs %s = %d logs, %v; want %d", q.what, len(logs), err, q.want)
		}
	}
	hash := hashes[0]
	logs, err = c.FilterLogs(ctx(t), ethereum.FilterQuery{BlockHash: &hash})
	if err != nil || len(logs) != 30 {
		t.Errorf("FilterLogs of block %v by hash = %d logs, %v; want 30", blocks[0], len(logs), err)
	}
	for i, l := range logs {
		if l.Address != addr || l.BlockHash != hash || l.Index != uint(i) {
			t.Errorf("log %d: %+v", i, l)
			break
		}
	}

	// eth_getFilterLogs: a filter over everything is refused, a narrower one
	// answers.
	var wide, narrow string
	if err := n.RPC().CallContext(ctx(t), &wide, "eth_newFilter", map[string]any{"fromBlock": "0x0", "address": addr}); err != nil {
		t.Fatalf("eth_newFilter: %v", err)
	}
	if err := n.RPC().CallContext(ctx(t), &narrow, "eth_newFilter", map[string]any{
		"fromBlock": hexBig(blocks[1]), "toBlock": hexBig(blocks[2]), "address": addr,
	}); err != nil {
		t.Fatalf("eth_newFilter: %v", err)
	}
	var raw json.RawMessage
	err = n.RPC().CallContext(ctx(t), &raw, "eth_getFilterLogs", wide)
	over("eth_getFilterLogs of a filter from genesis", err)
	var filterLogs []json.RawMessage
	if err := n.RPC().CallContext(ctx(t), &filterLogs, "eth_getFilterLogs", narrow); err != nil || len(filterLogs) != 30 {
		t.Errorf("eth_getFilterLogs of the last two blocks = %d logs, %v; want 30", len(filterLogs), err)
	}
}

// The log limits are flags with geth's names, shown by dumpconfig with
// their defaults.
func TestLogLimitFlags(t *testing.T) {
	bin := testnode.Build(t)
	res := testnode.Run(t, bin, cliTimeout, "dumpconfig", "--dev", "--ipcdisable")
	if res.ExitCode != 0 {
		t.Fatalf("dumpconfig: exit %d\n%s", res.ExitCode, res.Output)
	}
	for _, want := range []string{"LogQueryLimit = 1000", "RangeLimit = 0", "LogResultLimit = 10000"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("dumpconfig output lacks %q:\n%s", want, res.Stdout)
		}
	}
	res = testnode.Run(t, bin, cliTimeout, "dumpconfig", "--dev", "--ipcdisable",
		"--rpc.logquerylimit", "7", "--rpc.rangelimit", "9", "--rpc.logresultlimit", "0")
	if res.ExitCode != 0 {
		t.Fatalf("dumpconfig with log limits: exit %d\n%s", res.ExitCode, res.Output)
	}
	for _, want := range []string{"LogQueryLimit = 7", "RangeLimit = 9", "LogResultLimit = 0"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("dumpconfig output lacks %q:\n%s", want, res.Stdout)
		}
	}
	res = testnode.Run(t, bin, cliTimeout, "dumpconfig", "--dev", "--rpc.logresultlimit", "-1")
	if res.ExitCode == 0 {
		t.Errorf("dumpconfig --rpc.logresultlimit -1 succeeded:\n%s", res.Output)
	}
}

func hexBig(n *big.Int) string { return "0x" + n.Text(16) }

// pingArgs are the topics of Ping(from) to Ping(to-1).
func pingArgs(from, to int64) []common.Hash {
	var topics []common.Hash
	for i := from; i < to; i++ {
		topics = append(topics, common.BigToHash(big.NewInt(i)))
	}
	return topics
}
