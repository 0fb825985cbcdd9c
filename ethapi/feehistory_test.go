package ethapi

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
)

// rpctFeeChain builds blocks 10, 11 and 12 of a chain with config cfg:
// block 10 holds three transactions with effective tips of 2, 1 and 4.5 gwei,
// block 11 is empty, block 12 holds one transaction. With London active the
// base fee is 1 gwei at block 10; with Cancun active the blocks carry blob
// gas fields.
func rpctFeeChain(t testing.TB, cfg *params.ChainConfig) ([]*types.Header, []types.Receipts, []*types.Block) {
	t.Helper()
	signer := types.LatestSigner(cfg)
	london := cfg.IsLondon(big.NewInt(10))
	cancun := cfg.IsCancun(big.NewInt(10), 1_700_000_000)

	sign := func(d types.TxData) *types.Transaction { return types.MustSignNewTx(rpctKey1, signer, d) }
	var bodies [][]*types.Transaction
	var gasUsed [][]uint64
	if london {
		bodies = [][]*types.Transaction{{
			sign(&types.LegacyTx{Nonce: 0, GasPrice: big.NewInt(3 * rpctGwei), Gas: 21000, To: &rpctTo}),
			sign(&types.DynamicFeeTx{ChainID: cfg.ChainID, Nonce: 1, GasTipCap: big.NewInt(1 * rpctGwei), GasFeeCap: big.NewInt(10 * rpctGwei), Gas: 100000, To: &rpctTo}),
			sign(&types.DynamicFeeTx{ChainID: cfg.ChainID, Nonce: 2, GasTipCap: big.NewInt(5 * rpctGwei), GasFeeCap: big.NewInt(5_500_000_000), Gas: 50000, To: &rpctTo}),
		}, {}, {
			sign(&types.DynamicFeeTx{ChainID: cfg.ChainID, Nonce: 3, GasTipCap: big.NewInt(2 * rpctGwei), GasFeeCap: big.NewInt(50 * rpctGwei), Gas: 21000, To: &rpctTo}),
		}}
	} else {
		bodies = [][]*types.Transaction{{
			sign(&types.LegacyTx{Nonce: 0, GasPrice: big.NewInt(3 * rpctGwei), Gas: 21000, To: &rpctTo}),
			sign(&types.LegacyTx{Nonce: 1, GasPrice: big.NewInt(1 * rpctGwei), Gas: 100000, To: &rpctTo}),
			sign(&types.LegacyTx{Nonce: 2, GasPrice: big.NewInt(4_500_000_000), Gas: 50000, To: &rpctTo}),
		}, {}, {
			sign(&types.LegacyTx{Nonce: 3, GasPrice: big.NewInt(2 * rpctGwei), Gas: 21000, To: &rpctTo}),
		}}
	}
	gasUsed = [][]uint64{{21000, 100000, 50000}, {}, {21000}}

	var (
		headers  []*types.Header
		receipts []types.Receipts
		blocks   []*types.Block
		parent   *types.Header
	)
	for i, txs := range bodies {
		h := &types.Header{
			Number:     big.NewInt(int64(10 + i)),
			Time:       1_700_000_000 + uint64(i)*12,
			GasLimit:   30_000_000,
			Difficulty: big.NewInt(0),
		}
		if parent != nil {
			h.ParentHash = parent.Hash()
		}
		var rs types.Receipts
		for j := range txs {
			h.GasUsed += gasUsed[i][j]
			rs = append(rs, &types.Receipt{Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: h.GasUsed, GasUsed: gasUsed[i][j]})
		}
		if london {
			if parent == nil {
				h.BaseFee = big.NewInt(1 * rpctGwei)
			} else {
				h.BaseFee = new(big.Int).Set(parent.BaseFee) // not derived: the history reports what headers say
				h.BaseFee.Sub(h.BaseFee, big.NewInt(int64(i)*100_000_000))
			}
		}
		if cancun {
			excess := []uint64{10_000_000, 20_000_000, 0}[i]
			used := []uint64{786432, 131072, 0}[i]
			h.ExcessBlobGas, h.BlobGasUsed = &excess, &used
		}
		block := types.NewBlock(h, &types.Body{Transactions: txs}, rs, trie.NewStackTrie(nil))
		headers = append(headers, block.Header())
		receipts = append(receipts, rs)
		blocks = append(blocks, block)
		parent = block.Header()
	}
	return headers, receipts, blocks
}

func TestFeeHistory(t *testing.T) {
	prague := rpctConfig()
	legacy := &params.ChainConfig{ChainID: big.NewInt(1337), HomesteadBlock: big.NewInt(0), EIP150Block: big.NewInt(0),
		EIP155Block: big.NewInt(0), EIP158Block: big.NewInt(0), ByzantiumBlock: big.NewInt(0),
		ConstantinopleBlock: big.NewInt(0), PetersburgBlock: big.NewInt(0), IstanbulBlock: big.NewInt(0), BerlinBlock: big.NewInt(0)}
	// London from block 12: blocks 10 and 11 have no base fee, but block 11
	// already reports the base fee its successor starts with.
	londonAt12 := *legacy
	londonAt12.LondonBlock = big.NewInt(12)

	pH, pR, pB := rpctFeeChain(t, prague)
	lH, lR, lB := rpctFeeChain(t, legacy)
	sH, _, _ := rpctFeeChain(t, &londonAt12)

	for _, tc := range []struct {
		name        string
		headers     []*types.Header
		receipts    []types.Receipts
		blocks      []*types.Block
		percentiles []float64
		cfg         *params.ChainConfig
		want        string
	}{
		{
			name: "prague, rewards", cfg: prague,
			headers: pH, receipts: pR, blocks: pB, percentiles: []float64{0, 10, 25, 50, 75, 99.9, 100},
			want: `{
				"oldestBlock": "0xa",
				"reward": [
					["0x3b9aca00", "0x3b9aca00", "0x3b9aca00", "0x3b9aca00", "0x10c388d00", "0x10c388d00", "0x10c388d00"],
					["0x0", "0x0", "0x0", "0x0", "0x0", "0x0", "0x0"],
					["0x77359400", "0x77359400", "0x77359400", "0x77359400", "0x77359400", "0x77359400", "0x77359400"]
				],
				"baseFeePerGas": ["0x3b9aca00", "0x35a4e900", "0x29b92700", "0x2483e0a4"],
				"gasUsedRatio": [0.0057, 0, 0.0007],
				"baseFeePerBlobGas": ["0x7", "0x36", "0x1", "0x1"],
				"blobGasUsedRatio": [0.6666666666666666, 0.1111111111111111, 0]
			}`,
		},
		{
			name: "prague, no rewards requested", cfg: prague,
			headers: pH,
			want: `{
				"oldestBlock": "0xa",
				"baseFeePerGas": ["0x3b9aca00", "0x35a4e900", "0x29b92700", "0x2483e0a4"],
				"gasUsedRatio": [0.0057, 0, 0.0007],
				"baseFeePerBlobGas": ["0x7", "0x36", "0x1", "0x1"],
				"blobGasUsedRatio": [0.6666666666666666, 0.1111111111111111, 0]
			}`,
		},
		{
			name: "pre-London: zero base fees, tips are gas prices", cfg: legacy,
			headers: lH, receipts: lR, blocks: lB, percentiles: []float64{50},
			want: `{
				"oldestBlock": "0xa",
				"reward": [["0x3b9aca00"], ["0x0"], ["0x77359400"]],
				"baseFeePerGas": ["0x0", "0x0", "0x0", "0x0"],
				"gasUsedRatio": [0.0057, 0, 0.0007],
				"baseFeePerBlobGas": ["0x0", "0x0", "0x0", "0x0"],
				"blobGasUsedRatio": [0, 0, 0]
			}`,
		},
		{
			name: "London fork inside the range", cfg: &londonAt12,
			headers: sH[:2],
			want: `{
				"oldestBlock": "0xa",
				"baseFeePerGas": ["0x0", "0x0", "0x3b9aca00"],
				"gasUsedRatio": [0.0057, 0],
				"baseFeePerBlobGas": ["0x0", "0x0", "0x0"],
				"blobGasUsedRatio": [0, 0]
			}`,
		},
		{
			name: "missing block ends the range", cfg: prague,
			receipts: pR, blocks: []*types.Block{pB[0], nil, pB[2]}, percentiles: []float64{50},
			want: `{
				"oldestBlock": "0xa",
				"reward": [["0x3b9aca00"]],
				"baseFeePerGas": ["0x3b9aca00", "0x343d2f28"],
				"gasUsedRatio": [0.0057],
				"baseFeePerBlobGas": ["0x7", "0x7"],
				"blobGasUsedRatio": [0.6666666666666666]
			}`,
		},
		{
			name: "blocks only", cfg: prague,
			receipts: pR[2:], blocks: pB[2:], percentiles: []float64{100},
			want: `{
				"oldestBlock": "0xc",
				"reward": [["0x77359400"]],
				"baseFeePerGas": ["0x29b92700", "0x2483e0a4"],
				"gasUsedRatio": [0.0007],
				"baseFeePerBlobGas": ["0x1", "0x1"],
				"blobGasUsedRatio": [0]
			}`,
		},
		{
			name: "receipts missing: empty reward row", cfg: prague,
			blocks: pB[:1], percentiles: []float64{50},
			want: `{
				"oldestBlock": "0xa",
				"reward": [[]],
				"baseFeePerGas": ["0x3b9aca00", "0x343d2f28"],
				"gasUsedRatio": [0.0057],
				"baseFeePerBlobGas": ["0x7", "0x7"],
				"blobGasUsedRatio": [0.6666666666666666]
			}`,
		},
		{
			name: "missing header ends the range", cfg: prague,
			headers: []*types.Header{pH[0], nil, pH[2]},
			want: `{
				"oldestBlock": "0xa",
				"baseFeePerGas": ["0x3b9aca00", "0x343d2f28"],
				"gasUsedRatio": [0.0057],
				"baseFeePerBlobGas": ["0x7", "0x7"],
				"blobGasUsedRatio": [0.6666666666666666]
			}`,
		},
		{
			name: "rewards need blocks: headers alone give nothing", cfg: prague,
			headers: pH, percentiles: []float64{50},
			want: `{"oldestBlock": "0x0", "gasUsedRatio": null}`,
		},
		{
			name: "no blocks", cfg: prague,
			want: `{"oldestBlock": "0x0", "gasUsedRatio": null}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := feeHistory(tc.headers, tc.receipts, tc.blocks, tc.percentiles, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rpctAssertJSON(t, res, tc.want)
		})
	}
}

func TestFeeHistoryPercentileErrors(t *testing.T) {
	headers, receipts, blocks := rpctFeeChain(t, rpctConfig())
	tooMany := make([]float64, 101)
	for i := range tooMany {
		tooMany[i] = float64(i) / 2
	}
	for _, tc := range []struct {
		p    []float64
		want string
	}{
		{[]float64{101}, "invalid reward percentile: 101.000000"},
		{[]float64{-1}, "invalid reward percentile: -1.000000"},
		{[]float64{10, 50, 50}, "invalid reward percentile: #1:50.000000 >= #2:50.000000"},
		{[]float64{60, 40}, "invalid reward percentile: #0:60.000000 >= #1:40.000000"},
		{tooMany, "invalid reward percentile: over the query limit 100"},
	} {
		_, err := feeHistory(headers, receipts, blocks, tc.p, rpctConfig())
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: error %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestFeeHistoryRange(t *testing.T) {
	for _, tc := range []struct {
		count, newest, oldest, n uint64
	}{
		{4, 10, 7, 4},
		{20, 3, 0, 4}, // not before genesis
		{5000, 5000, 3977, 1024},
		{0, 10, 0, 0},
		{1, 0, 0, 1},
	} {
		oldest, n := feeHistoryRange(tc.count, tc.newest)
		if oldest != tc.oldest || n != tc.n {
			t.Errorf("feeHistoryRange(%d, %d) = %d, %d; want %d, %d", tc.count, tc.newest, oldest, n, tc.oldest, tc.n)
		}
	}
	if errRequestBeyondHead.Error() != "request beyond head block" {
		t.Error(errRequestBeyondHead)
	}
}
