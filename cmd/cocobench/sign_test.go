package main

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/cocogeth/cocogeth/internal/testcontracts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
)

func testSpec(mode string) *txSpec {
	return &txSpec{
		Mode:        mode,
		ChainID:     big.NewInt(1337),
		TipCap:      big.NewInt(params.GWei),
		FeeCap:      big.NewInt(100 * params.GWei),
		GasLimit:    transferGas,
		Value:       big.NewInt(1),
		TokenAmount: big.NewInt(1),
	}
}

func decodeRaw(t *testing.T, raw string) *types.Transaction {
	t.Helper()
	b, err := hexutil.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestPresignTransfers(t *testing.T) {
	senders := newSenders(deriveKeys("test", 7), 1)
	for i, s := range senders {
		s.nonce = uint64(i * 3) // senders start at different nonces
	}
	counts := splitCounts(50, len(senders))
	recipients := recipientAddresses("test", 16)
	isRecipient := make(map[common.Address]bool)
	for _, r := range recipients {
		isRecipient[r] = true
	}
	spec := testSpec(modeTransfer)
	per, err := presign(senders, counts, spec, recipients, seedNumber("test"), 3)
	if err != nil {
		t.Fatal(err)
	}
	signer := types.LatestSignerForChainID(big.NewInt(1337))
	wrong := types.LatestSignerForChainID(big.NewInt(1))
	total := 0
	for s, txs := range per {
		if len(txs) != counts[s] {
			t.Fatalf("sender %d: %d txs, want %d", s, len(txs), counts[s])
		}
		for k, st := range txs {
			total++
			tx := decodeRaw(t, st.raw)
			if tx.Hash() != st.hash {
				t.Fatalf("hash mismatch")
			}
			if tx.Type() != types.DynamicFeeTxType {
				t.Fatalf("type %d", tx.Type())
			}
			if tx.ChainId().Cmp(big.NewInt(1337)) != 0 {
				t.Fatalf("chain id %v", tx.ChainId())
			}
			from, err := types.Sender(signer, tx)
			if err != nil {
				t.Fatalf("signature: %v", err)
			}
			if from != senders[s].addr || st.sender != s {
				t.Fatalf("sender %s, want %s", from.Hex(), senders[s].addr.Hex())
			}
			if want := senders[s].nonce + uint64(k); tx.Nonce() != want || st.nonce != want {
				t.Fatalf("nonce %d, want %d", tx.Nonce(), want)
			}
			if tx.To() == nil || !isRecipient[*tx.To()] {
				t.Fatalf("recipient %v not in the set", tx.To())
			}
			if tx.Value().Cmp(big.NewInt(1)) != 0 || tx.Gas() != transferGas || len(tx.Data()) != 0 {
				t.Fatalf("unexpected transfer fields")
			}
			if tx.GasFeeCap().Cmp(spec.FeeCap) != 0 || tx.GasTipCap().Cmp(spec.TipCap) != 0 {
				t.Fatalf("fees")
			}
			// Another chain does not accept the signature.
			if _, err := types.Sender(wrong, tx); !errors.Is(err, types.ErrInvalidChainId) {
				t.Fatalf("signer for chain 1: err %v", err)
			}
		}
	}
	if total != 50 {
		t.Fatalf("total %d", total)
	}
}

func TestPresignDeterministic(t *testing.T) {
	senders := newSenders(deriveKeys("det", 5), 1)
	counts := splitCounts(40, 5)
	recipients := recipientAddresses("det", 100)
	a, err := presign(senders, counts, testSpec(modeTransfer), recipients, 42, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := presign(senders, counts, testSpec(modeTransfer), recipients, 42, 4)
	if err != nil {
		t.Fatal(err)
	}
	for s := range a {
		for k := range a[s] {
			if a[s][k].raw != b[s][k].raw {
				t.Fatalf("sender %d tx %d differs with the number of workers", s, k)
			}
		}
	}
}

func TestPresignERC20(t *testing.T) {
	art, err := testcontracts.Load("TestToken")
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec(modeERC20)
	spec.GasLimit = 65000
	spec.Value = new(big.Int)
	spec.Token = common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")
	spec.TokenAmount = big.NewInt(3)
	spec.TokenABI = &art.ABI
	senders := newSenders(deriveKeys("erc", 3), 1)
	recipients := recipientAddresses("erc", 10)
	per, err := presign(senders, splitCounts(9, 3), spec, recipients, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	signer := types.LatestSignerForChainID(big.NewInt(1337))
	method := art.ABI.Methods["transfer"]
	for s, txs := range per {
		for _, st := range txs {
			tx := decodeRaw(t, st.raw)
			if from, err := types.Sender(signer, tx); err != nil || from != senders[s].addr {
				t.Fatalf("sender %v err %v", from, err)
			}
			if *tx.To() != spec.Token || tx.Value().Sign() != 0 || tx.Gas() != 65000 {
				t.Fatalf("unexpected call fields")
			}
			data := tx.Data()
			if string(data[:4]) != string(method.ID) {
				t.Fatalf("selector %x, want %x", data[:4], method.ID)
			}
			args, err := method.Inputs.Unpack(data[4:])
			if err != nil {
				t.Fatal(err)
			}
			to, amount := args[0].(common.Address), args[1].(*big.Int)
			found := false
			for _, r := range recipients {
				found = found || r == to
			}
			if !found || amount.Cmp(big.NewInt(3)) != 0 {
				t.Fatalf("transfer(%s, %v)", to.Hex(), amount)
			}
		}
	}
}

func TestPlanBatches(t *testing.T) {
	const nodes = 2
	senders := newSenders(deriveKeys("plan", 5), nodes)
	counts := []int{3, 3, 2, 1, 0}
	per, err := presign(senders, counts, testSpec(modeTransfer), recipientAddresses("plan", 4), 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	flat, batches := planBatches(per, senders, nodes, 2)
	if len(flat) != 9 {
		t.Fatalf("flat has %d txs", len(flat))
	}
	seen := make(map[int]bool)
	lastNonce := make(map[int]int64)
	prevNode := -1
	for _, b := range batches {
		if len(b.txs) == 0 || len(b.txs) > 2 {
			t.Fatalf("batch of %d", len(b.txs))
		}
		if b.node == prevNode && nodes > 1 && len(batches) > 1 {
			// Node 0 has 3+2+0=5 txs (3 batches), node 1 has 3+1=4 (2 batches):
			// only the tail may repeat a node.
			if b != batches[len(batches)-1] {
				t.Fatalf("batches not alternating between nodes")
			}
		}
		prevNode = b.node
		var req []struct {
			JSONRPC string   `json:"jsonrpc"`
			ID      int      `json:"id"`
			Method  string   `json:"method"`
			Params  []string `json:"params"`
		}
		if err := json.Unmarshal(b.body, &req); err != nil {
			t.Fatalf("batch body is not JSON: %v", err)
		}
		if len(req) != len(b.txs) {
			t.Fatalf("body has %d calls for %d txs", len(req), len(b.txs))
		}
		for k, i := range b.txs {
			tx := flat[i]
			if req[k].ID != k || req[k].Method != "eth_sendRawTransaction" || req[k].JSONRPC != "2.0" || req[k].Params[0] != tx.raw {
				t.Fatalf("call %d of batch malformed: %+v", k, req[k])
			}
			if senders[tx.sender].node != b.node {
				t.Fatalf("tx of sender %d (node %d) in a batch for node %d", tx.sender, senders[tx.sender].node, b.node)
			}
			if seen[i] {
				t.Fatalf("tx %d in two batches", i)
			}
			seen[i] = true
			// Across the send order, each sender's nonces increase.
			if last, ok := lastNonce[tx.sender]; ok && int64(tx.nonce) <= last {
				t.Fatalf("sender %d: nonce %d after %d", tx.sender, tx.nonce, last)
			}
			lastNonce[tx.sender] = int64(tx.nonce)
		}
	}
	if len(seen) != len(flat) {
		t.Fatalf("%d of %d txs batched", len(seen), len(flat))
	}
	// Round-robin by nonce within a node: node 0 holds senders 0, 2, 4.
	order := []int{}
	for _, tx := range interleave(per, []int{0, 2, 4}) {
		order = append(order, tx.sender)
	}
	if want := []int{0, 2, 0, 2, 0}; !equalInts(order, want) {
		t.Fatalf("interleave order %v, want %v", order, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
