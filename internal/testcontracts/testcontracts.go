package testcontracts

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

//go:embed artifacts/*.json
var artifactsFS embed.FS

// Artifact is one compiled contract.
type Artifact struct {
	// Name is the Solidity contract name, e.g. "TestToken".
	Name string
	// ABI is the parsed contract ABI.
	ABI abi.ABI
	// Bytecode is the creation (init) code, without constructor arguments.
	Bytecode []byte
	// DeployedBytecode is the runtime code stored at the contract address.
	DeployedBytecode []byte
	// RawABI is the ABI JSON as emitted by the compiler.
	RawABI json.RawMessage
}

type artifactJSON struct {
	ContractName     string          `json:"contractName"`
	ABI              json.RawMessage `json:"abi"`
	Bytecode         string          `json:"bytecode"`
	DeployedBytecode string          `json:"deployedBytecode"`
}

// Load returns the artifact of the contract with the given name.
func Load(name string) (Artifact, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return Artifact{}, fmt.Errorf("testcontracts: invalid contract name %q", name)
	}
	data, err := artifactsFS.ReadFile(path.Join("artifacts", name+".json"))
	if err != nil {
		return Artifact{}, fmt.Errorf("testcontracts: unknown contract %q (have %v)", name, Names())
	}
	var raw artifactJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return Artifact{}, fmt.Errorf("testcontracts: decode %s: %w", name, err)
	}
	parsed, err := abi.JSON(strings.NewReader(string(raw.ABI)))
	if err != nil {
		return Artifact{}, fmt.Errorf("testcontracts: parse ABI of %s: %w", name, err)
	}
	code, err := hexutil.Decode(raw.Bytecode)
	if err != nil {
		return Artifact{}, fmt.Errorf("testcontracts: decode bytecode of %s: %w", name, err)
	}
	deployed, err := hexutil.Decode(raw.DeployedBytecode)
	if err != nil {
		return Artifact{}, fmt.Errorf("testcontracts: decode deployedBytecode of %s: %w", name, err)
	}
	return Artifact{
		Name:             raw.ContractName,
		ABI:              parsed,
		Bytecode:         code,
		DeployedBytecode: deployed,
		RawABI:           raw.ABI,
	}, nil
}

// MustLoad is like Load but panics on error.
func MustLoad(name string) Artifact {
	a, err := Load(name)
	if err != nil {
		panic(err)
	}
	return a
}

// Names lists the embedded contract names in sorted order.
func Names() []string {
	entries, err := artifactsFS.ReadDir("artifacts")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// DeployData returns the creation code followed by the ABI-encoded
// constructor arguments, ready to be used as the data of a contract-creation
// transaction.
func (a Artifact) DeployData(args ...interface{}) ([]byte, error) {
	packed, err := a.ABI.Pack("", args...)
	if err != nil {
		return nil, fmt.Errorf("testcontracts: pack constructor args of %s: %w", a.Name, err)
	}
	out := make([]byte, 0, len(a.Bytecode)+len(packed))
	out = append(out, a.Bytecode...)
	return append(out, packed...), nil
}
