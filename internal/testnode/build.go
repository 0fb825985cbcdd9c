package testnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinEnv names the environment variable that points at a prebuilt cocogeth
// binary; when it is set Build uses that binary instead of compiling one.
const BinEnv = "COCOGETH_BIN"

// modulePath is the module whose cmd/cocogeth Build compiles.
const modulePath = "github.com/cocogeth/cocogeth"

// buildTimeout bounds one `go build` of the node.
const buildTimeout = 10 * time.Minute

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string // temporary directory of a compiled binary, removed by Main
)

// Build returns the path of the cocogeth binary, compiling it on first use.
// The result (or the build error) is shared by every test of the test
// binary. If COCOGETH_BIN is set, that file is used as is.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildBin, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("testnode: %v", buildErr)
	}
	return buildBin
}

// Main runs the tests of m and then removes the directory Build compiled
// into. Use it as `func TestMain(m *testing.M) { os.Exit(testnode.Main(m)) }`.
func Main(m *testing.M) int {
	code := m.Run()
	Cleanup()
	return code
}

// Cleanup removes the directory Build compiled the binary into, if any.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

func build() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %v", BinEnv, p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %v", BinEnv, p, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%q is not an executable file", BinEnv, p)
		}
		return abs, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	goBin, err := goTool()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "cocogeth-testbin-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	out := filepath.Join(dir, "cocogeth")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/cocogeth")
	cmd.Dir = root
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cocogeth in %s: %v\n%s", root, err, output.String())
	}
	return out, nil
}

// moduleRoot finds the directory of the go.mod of modulePath, walking up
// from the working directory (go test runs in the package directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) == 2 && f[0] == "module" && f[1] == modulePath {
					return dir, nil
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the go.mod of " + modulePath + " above the working directory; set " + BinEnv)
		}
		dir = parent
	}
}

// goTool finds the go command: the one on PATH, else the one of the
// toolchain that built the test binary.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no go command on PATH or in GOROOT; set %s", BinEnv)
	}
	return p, nil
}
