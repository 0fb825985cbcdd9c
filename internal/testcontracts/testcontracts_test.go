package testcontracts

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func TestLoadAll(t *testing.T) {
	want := []string{"BlockInfo", "Child", "Events", "Factory", "TestToken"}
	names := Names()
	for _, w := range want {
		found := false
		for _, n := range names {
			if n == w {
				found = true
			}
		}
		if !found {
			t.Fatalf("artifact %s missing; have %v", w, names)
		}
	}
	for _, n := range names {
		a, err := Load(n)
		if err != nil {
			t.Fatalf("Load(%s): %v", n, err)
		}
		if a.Name != n {
			t.Errorf("Load(%s).Name = %q", n, a.Name)
		}
		if len(a.Bytecode) == 0 || len(a.DeployedBytecode) == 0 {
			t.Errorf("%s: empty bytecode", n)
		}
		if len(a.RawABI) == 0 || a.RawABI[0] != '[' {
			t.Errorf("%s: bad raw ABI", n)
		}
		// Prague-targeted solc output must not be larger than the EIP-170 limit.
		if len(a.DeployedBytecode) > 24576 {
			t.Errorf("%s: deployed code %d bytes exceeds EIP-170", n, len(a.DeployedBytecode))
		}
	}
}

func TestTestTokenABI(t *testing.T) {
	a := MustLoad("TestToken")
	for _, m := range []string{"transfer", "approve", "transferFrom", "balanceOf", "totalSupply", "allowance", "name", "symbol", "decimals"} {
		if _, ok := a.ABI.Methods[m]; !ok {
			t.Errorf("TestToken lacks method %s", m)
		}
	}
	ev, ok := a.ABI.Events["Transfer"]
	if !ok {
		t.Fatal("TestToken lacks Transfer event")
	}
	if ev.ID != common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef") {
		t.Errorf("Transfer topic = %s", ev.ID)
	}
	data, err := a.DeployData("Test", "TST", big.NewInt(1000))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, a.Bytecode) || len(data) <= len(a.Bytecode) {
		t.Fatal("DeployData does not start with bytecode or lacks args")
	}
	input, err := a.ABI.Pack("transfer", common.HexToAddress("0x01"), big.NewInt(5))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(input[:4], common.FromHex("0xa9059cbb")) {
		t.Errorf("transfer selector = %x", input[:4])
	}
}

func TestEventsABI(t *testing.T) {
	a := MustLoad("Events")
	for _, m := range []string{"set", "get", "revertWithReason", "revertWithCustom", "panicAssert", "panicDivide", "deposit", "multi"} {
		if _, ok := a.ABI.Methods[m]; !ok {
			t.Errorf("Events lacks method %s", m)
		}
	}
	if !a.ABI.Methods["deposit"].IsPayable() {
		t.Error("deposit not payable")
	}
	if got := len(a.ABI.Methods["multi"].Outputs); got != 5 {
		t.Errorf("multi has %d outputs, want 5", got)
	}
	if _, ok := a.ABI.Errors["CustomError"]; !ok {
		t.Error("Events lacks CustomError")
	}
	ev := a.ABI.Events["ValueSet"]
	indexed := 0
	for _, in := range ev.Inputs {
		if in.Indexed {
			indexed++
		}
	}
	if indexed != 2 || len(ev.Inputs) != 4 {
		t.Errorf("ValueSet: %d inputs, %d indexed", len(ev.Inputs), indexed)
	}
}

func TestLoadUnknown(t *testing.T) {
	if _, err := Load("NoSuchContract"); err == nil {
		t.Fatal("expected error for unknown contract")
	}
	if _, err := Load("../go"); err == nil {
		t.Fatal("expected error for path-like name")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustLoad did not panic")
		}
	}()
	MustLoad("NoSuchContract")
}
