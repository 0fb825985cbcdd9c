package e2e

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/cocogeth/cocogeth/internal/testnode"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// The attacks on confidential reads, with go-ethereum's clients against a
// follower of a 3-VN cluster: spoofed from, forged, expired and wrong-chain
// sessions, signed calls with a wrong block hash or by another key, an
// outsider's and an anonymous client's reads of a confidential contract's
// logs, receipts, transactions, storage and proofs, and state overrides.
// Every one yields nothing private and an error where one is due; the
// parties see their data.
func TestConfidentialAttacksOnFollower(t *testing.T) {
	c := testnode.StartCluster(t, 3, testnode.ClusterOptions{})
	lead := c.Leader()
	f := c.Nodes[(lead+1)%3]
	ctx := context.Background()

	// login opens a session of key on the follower.
	login := func(key *ecdsa.PrivateKey, ttl time.Duration) string {
		t.Helper()
		msg, sig, err := confidential.SignIn(key, testnode.DevChainID, f.HTTPURL(), ttl)
		if err != nil {
			t.Fatal(err)
		}
		var res confidential.LoginResult
		if err := f.RPC().CallContext(ctx, &res, "coco_login", msg, sig); err != nil {
			t.Fatalf("coco_login: %v", err)
		}
		return res.Token
	}
	dial := func(token string) *rpc.Client {
		t.Helper()
		var opts []rpc.ClientOption
		if token != "" {
			opts = append(opts, rpc.WithHeader("Authorization", "Bearer "+token))
		}
		cl, err := rpc.DialOptions(ctx, f.HTTPURL(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	devKey := testnode.DevKey()
	outsiderKey, _ := crypto.GenerateKey()
	recipient := common.HexToAddress("0x00000000000000000000000000000000000000b0")
	party := dial(login(devKey, time.Hour))
	outsider := dial(login(outsiderKey, time.Hour))
	anon := dial("")

	// The dev account deploys Shipments and ships through the follower,
	// reading as itself (so the follower has the blocks).
	w := testnode.NewWallet(ethclient.NewClient(party), devKey, testnode.DevChainID)
	art := testcontracts.MustLoad("Shipments")
	deploy := w.SendAndWait(t, w.DynamicTx(t, nil, nil, 2_000_000, art.Bytecode))
	shipments := deploy.ContractAddress
	shipData, _ := art.ABI.Pack("ship", recipient, "forty pallets of tea")
	shipped := w.SendAndWait(t, w.DynamicTx(t, &shipments, nil, 500_000, shipData))
	if shipped.Status != 1 || len(shipped.Logs) != 1 {
		t.Fatalf("ship: status %d, %d logs seen by the sender", shipped.Status, len(shipped.Logs))
	}

	t.Run("logs, receipts and transactions are the parties' only", func(t *testing.T) {
		q := ethereum.FilterQuery{Addresses: []common.Address{shipments}, FromBlock: big.NewInt(0)}
		for name, cl := range map[string]*rpc.Client{"party": party, "outsider": outsider, "anonymous": anon} {
			ec := ethclient.NewClient(cl)
			logs, err := ec.FilterLogs(ctx, q)
			if err != nil {
				t.Fatalf("%s: eth_getLogs: %v", name, err)
			}
			var raw map[string]any
			if err := cl.CallContext(ctx, &raw, "eth_getTransactionReceipt", shipped.TxHash); err != nil {
				t.Fatal(err)
			}
			var tx map[string]any
			if err := cl.CallContext(ctx, &tx, "eth_getTransactionByHash", shipped.TxHash); err != nil {
				t.Fatal(err)
			}
			want := name == "party"
			if (len(logs) == 1) != want || (raw != nil) != want || (tx != nil) != want {
				t.Errorf("%s: %d logs, receipt %v, transaction %v; want visible %v", name, len(logs), raw != nil, tx != nil, want)
			}
		}
	})

	t.Run("spoofed from runs as the zero address or the proven caller", func(t *testing.T) {
		who, _ := art.ABI.Pack("whoAmI")
		for name, cl := range map[string]*rpc.Client{"anonymous": anon, "outsider": outsider} {
			var out hexutil.Bytes
			if err := cl.CallContext(ctx, &out, "eth_call", map[string]any{"from": testnode.DevAddress, "to": shipments, "data": hexutil.Bytes(who)}, "latest"); err != nil {
				t.Fatal(err)
			}
			want := common.Address{}
			if name == "outsider" {
				want = crypto.PubkeyToAddress(outsiderKey.PublicKey)
			}
			if got := common.BytesToAddress(out); got != want {
				t.Errorf("%s claiming the dev account runs as %v, want %v", name, got, want)
			}
		}
		goods, _ := art.ABI.Pack("goods", big.NewInt(1))
		var out hexutil.Bytes
		err := anon.CallContext(ctx, &out, "eth_call", map[string]any{"from": testnode.DevAddress, "to": shipments, "data": hexutil.Bytes(goods)}, "latest")
		var de rpc.DataError
		if !errors.As(err, &de) {
			t.Errorf("a spoofed read of the goods: %v, want a revert", err)
		}
		if err := party.CallContext(ctx, &out, "eth_call", map[string]any{"to": shipments, "data": hexutil.Bytes(goods)}, "latest"); err != nil {
			t.Errorf("the party's read of the goods: %v", err)
		}
	})

	t.Run("storage, proofs and overrides are refused", func(t *testing.T) {
		for _, cl := range []*rpc.Client{party, anon} {
			var out any
			if err := cl.CallContext(ctx, &out, "eth_getStorageAt", shipments, "0x0", "latest"); err == nil || !strings.Contains(err.Error(), "confidential contract") {
				t.Errorf("eth_getStorageAt: %v", err)
			}
			if err := cl.CallContext(ctx, &out, "eth_getProof", shipments, []string{}, "latest"); err == nil || !strings.Contains(err.Error(), "confidential contract") {
				t.Errorf("eth_getProof: %v", err)
			}
		}
		who, _ := art.ABI.Pack("whoAmI")
		var out hexutil.Bytes
		err := party.CallContext(ctx, &out, "eth_call", map[string]any{"to": shipments, "data": hexutil.Bytes(who)}, "latest",
			map[common.Address]any{shipments: map[string]any{"code": "0x00"}})
		if err == nil || !strings.Contains(err.Error(), "overrides are refused") {
			t.Errorf("override of a confidential contract: %v", err)
		}
	})

	t.Run("bad sessions and signed calls are errors, never anonymity", func(t *testing.T) {
		var n hexutil.Uint64
		// A token signed by another key than its message names.
		msg, _, _ := confidential.SignIn(devKey, testnode.DevChainID, f.HTTPURL(), time.Hour)
		_, forgedSig, _ := confidential.SignIn(outsiderKey, testnode.DevChainID, f.HTTPURL(), time.Hour)
		if err := f.RPC().CallContext(ctx, &n, "coco_login", msg, forgedSig); err == nil || !strings.Contains(err.Error(), "not by") {
			t.Errorf("forged login: %v", err)
		}
		// Another chain's session.
		m2, s2, _ := confidential.SignIn(devKey, big.NewInt(1), f.HTTPURL(), time.Hour)
		if err := f.RPC().CallContext(ctx, &n, "coco_login", m2, s2); err == nil || !strings.Contains(err.Error(), "chain id 1") {
			t.Errorf("wrong-chain login: %v", err)
		}
		// A session replayed after it expired.
		short := login(devKey, 2*time.Second)
		time.Sleep(3 * time.Second)
		if err := dial(short).CallContext(ctx, &n, "eth_blockNumber"); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("expired session: %v", err)
		}
		if err := dial("bm90IGEgdG9rZW4").CallContext(ctx, &n, "eth_blockNumber"); err == nil || !strings.Contains(err.Error(), "malformed session token") {
			t.Errorf("mangled session: %v", err)
		}
		// Signed calls: good, wrong block hash, another signer.
		who, _ := art.ABI.Pack("whoAmI")
		head, err := ethclient.NewClient(anon).HeaderByNumber(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		call := confidential.Call{From: testnode.DevAddress, To: shipments, Data: who}
		expiry := uint64(time.Now().Add(time.Minute).Unix())
		signed := func(key *ecdsa.PrivateKey, hash common.Hash) map[string]any {
			sig, err := confidential.SignCall(key, testnode.DevChainID, call, head.Number.Uint64(), hash, expiry)
			if err != nil {
				t.Fatal(err)
			}
			return map[string]any{"from": call.From, "to": shipments, "data": hexutil.Bytes(who), "auth": map[string]any{
				"blockNumber": hexutil.Uint64(head.Number.Uint64()), "blockHash": hash, "expiry": hexutil.Uint64(expiry), "signature": hexutil.Bytes(sig)}}
		}
		var out hexutil.Bytes
		if err := anon.CallContext(ctx, &out, "eth_call", signed(devKey, head.Hash()), "latest"); err != nil || common.BytesToAddress(out) != testnode.DevAddress {
			t.Errorf("signed call: %x %v", out, err)
		}
		if err := anon.CallContext(ctx, &out, "eth_call", signed(devKey, common.Hash{1}), "latest"); err == nil || !strings.Contains(err.Error(), "not the canonical block") {
			t.Errorf("signed call with a wrong block hash: %v", err)
		}
		if err := anon.CallContext(ctx, &out, "eth_call", signed(outsiderKey, head.Hash()), "latest"); err == nil || !strings.Contains(err.Error(), "not by from") {
			t.Errorf("signed call by another key: %v", err)
		}
	})
}
