package genesis

import (
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	spec, err := Parse([]byte(`{"config":{"chainId":99},"alloc":{"0x00000000000000000000000000000000000000aa":{"balance":"0x10"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := spec.ChainConfig()
	if cfg.OsakaTime == nil || *cfg.OsakaTime != 0 || cfg.LondonBlock.Sign() != 0 || cfg.TerminalTotalDifficulty.Sign() != 0 {
		t.Fatalf("forks not active at genesis: %+v", cfg)
	}
	if cfg.AmsterdamTime != nil || cfg.BogotaTime != nil {
		t.Fatal("unreleased fork enabled")
	}
	if spec.Coco.MaxTxs != DefaultMaxTxs || time.Duration(spec.Coco.BlockTime) != DefaultBlockTime {
		t.Fatalf("coco defaults: %+v", spec.Coco)
	}
	if spec.Eth.GasLimit != DefaultGasLimit || spec.Eth.BaseFee == nil {
		t.Fatalf("gas limit %d base fee %v", spec.Eth.GasLimit, spec.Eth.BaseFee)
	}
}

func TestParseCoco(t *testing.T) {
	spec, err := Parse([]byte(`{"config":{"chainId":7,"coco":{"blockTime":"250ms","maxTxs":10,"fixedBaseFee":"0x0"}},"gasLimit":"0x1000000"}`))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(spec.Coco.BlockTime) != 250*time.Millisecond || spec.Coco.MaxTxs != 10 {
		t.Fatalf("coco: %+v", spec.Coco)
	}
	if spec.Eth.BaseFee.Sign() != 0 {
		t.Fatalf("fixed base fee not applied: %v", spec.Eth.BaseFee)
	}
	// The spec round-trips through the stored form.
	raw, err := spec.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if again.Eth.ToBlock().Hash() != spec.Eth.ToBlock().Hash() || again.Coco.MaxTxs != 10 {
		t.Fatal("stored spec differs")
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"empty":          {``, "empty file"},
		"not json":       {`{"config":`, "invalid JSON"},
		"no config":      {`{"alloc":{}}`, "missing \"config\""},
		"no chain id":    {`{"config":{}}`, "missing config.chainId"},
		"zero chain id":  {`{"config":{"chainId":0}}`, "positive"},
		"unreleased":     {`{"config":{"chainId":5,"amsterdamTime":0}}`, "amsterdamTime"},
		"late fork":      {`{"config":{"chainId":5,"londonBlock":10}}`, "block 0"},
		"bad coco":       {`{"config":{"chainId":5,"coco":{"blockPeriod":"1s"}}}`, "unknown field"},
		"bad duration":   {`{"config":{"chainId":5,"coco":{"blockTime":"soon"}}}`, "invalid duration"},
		"negative txs":   {`{"config":{"chainId":5,"coco":{"maxTxs":-1}}}`, "maxTxs"},
		"tiny gas limit": {`{"config":{"chainId":5},"gasLimit":"0x10"}`, "below the minimum"},
		"bad alloc":      {`{"config":{"chainId":5},"alloc":{"0xzz":{"balance":"1"}}}`, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func TestDevGenesis(t *testing.T) {
	spec := Dev()
	if spec.ChainConfig().ChainID.Int64() != DevChainID {
		t.Fatal("dev chain id")
	}
	if acc, ok := spec.Eth.Alloc[DevAddress]; !ok || acc.Balance.Sign() <= 0 {
		t.Fatal("dev account not funded")
	}
	if _, err := Parse(spec.Raw); err != nil {
		t.Fatalf("dev genesis does not re-parse: %v", err)
	}
}
