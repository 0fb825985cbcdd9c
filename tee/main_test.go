package tee

import (
	"os"
	"testing"

	"github.com/cocogeth/cocogeth/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
