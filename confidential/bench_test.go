package confidential

// Benchmarks of what confidentiality costs a reader, each against its
// public counterpart in the same run (go test -run - -bench . ./confidential):
//
//	eth_call with a session      vs  anonymous, through the node's HTTP stack
//	eth_getLogs of 10,000 logs   of a confidential contract vs a public one
//
// They run a real service on an in-memory chain behind the same handler
// and JSON-RPC server a node serves; not run by `make test`.

import (
	"context"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/eth"
	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/genesis"
	"github.com/cocogeth/cocogeth/internal/ethtest"
	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"
)

// benchNode is a service with the node's RPC stack over HTTP.
type benchNode struct {
	svc   *eth.Service
	url   string
	nonce uint64
	token string
}

func newBenchNode(b *testing.B) *benchNode {
	b.Helper()
	db := rawdb.NewMemoryDatabase()
	if _, err := eth.InitChain(db, genesis.Dev()); err != nil {
		b.Fatal(err)
	}
	svc, err := eth.NewService(nil, db, db, eth.DefaultConfig, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Stop() })
	backend := svc.RPCBackend()
	v := NewVerifier(backend.ChainConfig().ChainID, nil)
	gate := NewGate(v, backend)
	rpcs := ethapi.New(backend, ethapi.Config{GasCap: 50_000_000, EVMTimeout: 5 * time.Second, LogResultLimit: 100_000}, gate)
	b.Cleanup(func() { rpcs.Stop() })
	srv := rpc.NewServer()
	apis := append(rpcs.APIs(), rpc.API{Namespace: "coco", Service: NewAPI(v)})
	if err := node.RegisterApis(apis, []string{"eth", "coco"}, srv); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	hs := httptest.NewServer(v.Handler(srv))
	b.Cleanup(hs.Close)
	n := &benchNode{svc: svc, url: hs.URL}
	msg := siweMessage(ethtest.AddrA, genesis.DevChainID, time.Now().Add(-time.Minute), ptr(time.Now().Add(time.Hour)))
	sig, _ := crypto.Sign(accounts.TextHash([]byte(msg)), ethtest.KeyA)
	sig[64] += 27
	s, err := v.Login(msg, hexutil.Encode(sig))
	if err != nil {
		b.Fatal(err)
	}
	n.token = s.Token
	return n
}

func ptr[T any](v T) *T { return &v }

// send commits one block of calls from the dev account.
func (n *benchNode) send(b *testing.B, to *common.Address, datas ...[]byte) {
	b.Helper()
	var txs []*types.Transaction
	for _, data := range datas {
		tx, err := types.SignNewTx(ethtest.KeyA, ethtest.Signer, &types.DynamicFeeTx{
			ChainID: big.NewInt(genesis.DevChainID), Nonce: n.nonce, GasTipCap: ethtest.Gwei, GasFeeCap: ethtest.FeeCap,
			Gas: 5_000_000, To: to, Data: data,
		})
		if err != nil {
			b.Fatal(err)
		}
		n.nonce++
		txs = append(txs, tx)
	}
	if _, err := n.svc.CommitBlock(txs); err != nil {
		b.Fatal(err)
	}
}

func (n *benchNode) deploy(b *testing.B, name string) common.Address {
	b.Helper()
	addr := crypto.CreateAddress(ethtest.AddrA, n.nonce)
	n.send(b, nil, testcontracts.MustLoad(name).Bytecode)
	return addr
}

func (n *benchNode) client(b *testing.B, session bool) *rpc.Client {
	b.Helper()
	var opts []rpc.ClientOption
	if session {
		opts = append(opts, rpc.WithHeader("Authorization", "Bearer "+n.token))
	}
	c, err := rpc.DialOptions(context.Background(), n.url, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func BenchmarkCall(b *testing.B) {
	n := newBenchNode(b)
	token := n.deploy(b, "TestToken")
	input, err := testcontracts.MustLoad("TestToken").ABI.Pack("balanceOf", ethtest.AddrA)
	if err != nil {
		b.Fatal(err)
	}
	call := map[string]any{"to": token, "data": hexutil.Encode(input)}
	for _, c := range []struct {
		name    string
		session bool
	}{{"anonymous", false}, {"session", true}} {
		b.Run(c.name, func(b *testing.B) {
			client := n.client(b, c.session)
			var out string
			for i := 0; i < b.N; i++ {
				if err := client.Call(&out, "eth_call", call, "latest"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGetLogs(b *testing.B) {
	const logs = 10_000
	n := newBenchNode(b)
	events := n.deploy(b, "Events")
	shipments := n.deploy(b, "Shipments")
	emit := testcontracts.MustLoad("Events").ABI
	ship := testcontracts.MustLoad("Shipments").ABI
	for i := 0; i < 10; i++ {
		data, _ := emit.Pack("emitMany", big.NewInt(logs/10))
		n.send(b, &events, data)
	}
	for block := 0; block < 50; block++ {
		var datas [][]byte
		for i := 0; i < logs/50; i++ {
			data, _ := ship.Pack("ship", ethtest.AddrB, "tea")
			datas = append(datas, data)
		}
		n.send(b, &shipments, datas...)
	}
	pingTopic := crypto.Keccak256Hash([]byte("Ping(uint256)"))
	client := n.client(b, true)
	for _, c := range []struct {
		name  string
		query map[string]any
	}{
		{"public", map[string]any{"address": events, "fromBlock": "0x0", "topics": []any{pingTopic}}},
		{"confidential", map[string]any{"address": shipments, "fromBlock": "0x0"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var out []types.Log
				if err := client.Call(&out, "eth_getLogs", c.query); err != nil {
					b.Fatal(err)
				}
				if len(out) != logs {
					b.Fatalf("%d logs, want %d", len(out), logs)
				}
			}
		})
	}
}
