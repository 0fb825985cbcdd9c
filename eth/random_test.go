package eth

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/core/vm"
)

func TestRandomPrecompile(t *testing.T) {
	p := randomPrecompile{}
	a, used, err := p.Run(PrecompileCall{Gas: 10_000}, randomSelector)
	if err != nil || used != randomGas || len(a) != 32 {
		t.Fatalf("random(): %x, gas %d, %v", a, used, err)
	}
	b, _, _ := p.Run(PrecompileCall{Gas: 10_000}, randomSelector)
	if string(a) == string(b) {
		t.Fatal("two draws are equal")
	}
	if _, _, err := p.Run(PrecompileCall{Gas: randomGas - 1}, randomSelector); !errors.Is(err, vm.ErrOutOfGas) {
		t.Errorf("too little gas: %v", err)
	}
	if _, _, err := p.Run(PrecompileCall{Gas: 10_000}, []byte{1, 2, 3, 4}); !errors.Is(err, vm.ErrExecutionReverted) {
		t.Errorf("unknown selector: %v", err)
	}
}
