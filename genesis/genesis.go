package genesis

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/params"
)

// Defaults for the settings of config.coco.
const (
	DefaultBlockTime = 20 * time.Millisecond
	DefaultMaxTxs    = 2000
	// DefaultGasLimit is the block gas limit used when a genesis leaves
	// gasLimit at zero. It is large because one block carries a batch of
	// thousands of transactions.
	DefaultGasLimit = 1_000_000_000
	// DevChainID is the chain id of `cocogeth --dev`, as for geth --dev.
	DevChainID = 1337
)

// DevKeyHex is the private key of the prefunded account of `--dev`. It is
// public knowledge: never use it on a network that holds value.
const DevKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// DevAddress is the address of DevKeyHex.
var DevAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

// Duration is a time.Duration that reads "50ms" or a number of milliseconds.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %v", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("invalid duration %s: want a string like \"50ms\" or milliseconds", string(b))
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Coco holds cocogeth's own settings, read from config.coco of the genesis.
type Coco struct {
	// BlockTime is the longest a waiting transaction is held before a block
	// is cut. A block is cut earlier when MaxTxs transactions are waiting.
	BlockTime Duration `json:"blockTime,omitempty"`
	// MaxTxs is the most transactions one block carries.
	MaxTxs int `json:"maxTxs,omitempty"`
	// FixedBaseFee pins the base fee of every block (wei). When unset the
	// base fee follows EIP-1559 from the genesis baseFeePerGas.
	FixedBaseFee *math.HexOrDecimal256 `json:"fixedBaseFee,omitempty"`
	// Coinbase receives transaction fees; the zero address burns them.
	Coinbase common.Address `json:"coinbase,omitempty"`
	// Validators are the validating nodes of the first Raft cluster when
	// the network has no constitution. None means a single node ordering
	// alone.
	Validators []Validator `json:"validators,omitempty"`
	// Constitution is the genesis constitution (members, participants,
	// nodes, manifests, voting policy, settings); its nodes are then the
	// first Raft cluster. Without one, sending is open to every account.
	Constitution json.RawMessage `json:"constitution,omitempty"`

	// constitution is Constitution parsed.
	constitution *governance.Genesis
}

// Governed reports whether the network has a constitution.
func (c *Coco) Governed() bool { return c.constitution != nil }

// InitialValidators are the first Raft voters: the constitution's nodes,
// or config.coco.validators on a network without constitution.
func (c *Coco) InitialValidators() []Validator {
	if c.constitution == nil {
		return c.Validators
	}
	out := make([]Validator, len(c.constitution.Nodes))
	for i, n := range c.constitution.Nodes {
		out[i] = Validator{ID: n.ID, RaftAddr: n.RaftAddr, PublicKey: n.PublicKey}
	}
	return out
}

// Validator is one validating node of the initial cluster.
type Validator struct {
	ID        string        `json:"id"`        // Raft server id
	RaftAddr  string        `json:"raftAddr"`  // node-to-node host:port
	PublicKey hexutil.Bytes `json:"publicKey"` // secp256k1 node key (`cocogeth nodekey`)
}

// Key parses the validator's public key (65, 64 or 33 bytes).
func (v *Validator) Key() (*ecdsa.PublicKey, error) {
	b, err := governance.NormaliseNodeKey(v.PublicKey)
	if err != nil {
		return nil, err
	}
	return crypto.UnmarshalPubkey(b)
}

// Spec is a parsed genesis file: geth's genesis plus config.coco.
type Spec struct {
	Eth  *core.Genesis
	Coco Coco
	// Raw is the file as given, stored in the database so that a node
	// started later knows the settings it was initialised with.
	Raw []byte
}

// ChainConfig is the chain configuration of the spec.
func (s *Spec) ChainConfig() *params.ChainConfig { return s.Eth.Config }

// Parse reads and validates a genesis file. Forks the file leaves unset are
// activated at genesis up to Osaka; forks that go-ethereum has not released
// to mainnet are refused, since their gas schedule is not final.
func Parse(data []byte) (*Spec, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("genesis: empty file")
	}
	var probe struct {
		Config *struct {
			Coco    *json.RawMessage `json:"coco"`
			ChainID *json.RawMessage `json:"chainId"`
		} `json:"config"`
	}
	if data[0] != '{' {
		return nil, errors.New("genesis: the file must hold a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&probe); err != nil {
		return nil, fmt.Errorf("genesis: invalid JSON: %v", err)
	}
	if probe.Config == nil {
		return nil, errors.New("genesis: missing \"config\" object")
	}
	if probe.Config.ChainID == nil {
		return nil, errors.New("genesis: missing config.chainId")
	}
	// geth's format requires gasLimit and difficulty; cocogeth defaults them.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("genesis: invalid JSON: %v", err)
	}
	if _, ok := top["gasLimit"]; !ok {
		top["gasLimit"] = json.RawMessage(fmt.Sprintf(`"%#x"`, uint64(DefaultGasLimit)))
	}
	if _, ok := top["difficulty"]; !ok {
		top["difficulty"] = json.RawMessage(`"0x0"`)
	}
	if _, ok := top["alloc"]; !ok {
		top["alloc"] = json.RawMessage(`{}`)
	}
	filled, err := json.Marshal(top)
	if err != nil {
		return nil, err
	}
	g := new(core.Genesis)
	if err := json.Unmarshal(filled, g); err != nil {
		return nil, fmt.Errorf("genesis: %v", err)
	}
	spec := &Spec{Eth: g, Raw: append([]byte(nil), data...)}
	if probe.Config.Coco != nil {
		cdec := json.NewDecoder(bytes.NewReader(*probe.Config.Coco))
		cdec.DisallowUnknownFields()
		if err := cdec.Decode(&spec.Coco); err != nil {
			return nil, fmt.Errorf("genesis: config.coco: %v", err)
		}
	}
	if err := spec.normalise(); err != nil {
		return nil, err
	}
	return spec, nil
}

func (s *Spec) normalise() error {
	g := s.Eth
	cfg := g.Config
	if cfg.ChainID == nil || cfg.ChainID.Sign() <= 0 {
		return errors.New("genesis: config.chainId must be a positive integer")
	}
	if cfg.Ethash != nil || cfg.Clique != nil {
		// A geth genesis may name a proof-of-work or clique engine; ordering
		// here is Raft's, so the engine section is ignored.
		cfg.Ethash, cfg.Clique = nil, nil
	}
	for name, t := range map[string]*uint64{
		"bpo1Time": cfg.BPO1Time, "bpo2Time": cfg.BPO2Time, "bpo3Time": cfg.BPO3Time,
		"bpo4Time": cfg.BPO4Time, "bpo5Time": cfg.BPO5Time, "amsterdamTime": cfg.AmsterdamTime,
		"bogotaTime": cfg.BogotaTime, "ubtTime": cfg.UBTTime,
	} {
		if t != nil {
			return fmt.Errorf("genesis: config.%s: fork not supported (only forks through Osaka are)", name)
		}
	}
	if cfg.EnableUBTAtGenesis {
		return errors.New("genesis: config.enableUBTAtGenesis is not supported")
	}
	zero := big.NewInt(0)
	for _, b := range []**big.Int{
		&cfg.HomesteadBlock, &cfg.EIP150Block, &cfg.EIP155Block, &cfg.EIP158Block,
		&cfg.ByzantiumBlock, &cfg.ConstantinopleBlock, &cfg.PetersburgBlock,
		&cfg.IstanbulBlock, &cfg.MuirGlacierBlock, &cfg.BerlinBlock, &cfg.LondonBlock,
		&cfg.ArrowGlacierBlock, &cfg.GrayGlacierBlock,
	} {
		if *b == nil {
			*b = new(big.Int)
		} else if (*b).Sign() != 0 {
			return errors.New("genesis: block-numbered forks must be active at block 0 (cocogeth starts post-merge)")
		}
	}
	cfg.DAOForkBlock, cfg.DAOForkSupport, cfg.MergeNetsplitBlock = nil, false, nil
	cfg.TerminalTotalDifficulty = zero
	for _, t := range []**uint64{&cfg.ShanghaiTime, &cfg.CancunTime, &cfg.PragueTime, &cfg.OsakaTime} {
		if *t == nil {
			*t = new(uint64)
		}
	}
	if cfg.BlobScheduleConfig == nil {
		cfg.BlobScheduleConfig = &params.BlobScheduleConfig{}
	}
	if cfg.BlobScheduleConfig.Cancun == nil {
		cfg.BlobScheduleConfig.Cancun = params.DefaultCancunBlobConfig
	}
	if cfg.BlobScheduleConfig.Prague == nil {
		cfg.BlobScheduleConfig.Prague = params.DefaultPragueBlobConfig
	}
	if err := cfg.CheckConfigForkOrder(); err != nil {
		return fmt.Errorf("genesis: %v", err)
	}
	if g.GasLimit == 0 {
		g.GasLimit = DefaultGasLimit
	}
	if g.GasLimit < params.MinGasLimit {
		return fmt.Errorf("genesis: gasLimit %d below the minimum %d", g.GasLimit, params.MinGasLimit)
	}
	if g.BaseFee == nil {
		g.BaseFee = big.NewInt(params.InitialBaseFee)
	}
	if g.BaseFee.Sign() < 0 {
		return errors.New("genesis: baseFeePerGas must not be negative")
	}
	if s.Coco.FixedBaseFee != nil {
		g.BaseFee = new(big.Int).Set((*big.Int)(s.Coco.FixedBaseFee))
	}
	g.Difficulty = zero
	g.Number = 0
	if s.Coco.BlockTime < 0 {
		return errors.New("genesis: config.coco.blockTime must not be negative")
	}
	if s.Coco.BlockTime == 0 {
		s.Coco.BlockTime = Duration(DefaultBlockTime)
	}
	if s.Coco.MaxTxs < 0 {
		return errors.New("genesis: config.coco.maxTxs must not be negative")
	}
	if s.Coco.MaxTxs == 0 {
		s.Coco.MaxTxs = DefaultMaxTxs
	}
	if len(s.Coco.Constitution) > 0 {
		if len(s.Coco.Validators) > 0 {
			return errors.New("genesis: config.coco has both validators and a constitution: list the nodes in constitution.nodes")
		}
		cg, err := governance.ParseGenesis(s.Coco.Constitution)
		if err != nil {
			return fmt.Errorf("genesis: config.coco.constitution: %v", err)
		}
		s.Coco.constitution = cg
		if err := installConstitution(g, cg); err != nil {
			return fmt.Errorf("genesis: config.coco.constitution: %v", err)
		}
	}
	ids, addrs, keys := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, v := range s.Coco.InitialValidators() {
		if v.ID == "" || strings.ContainsAny(v.ID, " \t\n") {
			return fmt.Errorf("genesis: config.coco.validators[%d]: id must be a non-empty word", i)
		}
		if _, _, err := net.SplitHostPort(v.RaftAddr); err != nil {
			return fmt.Errorf("genesis: config.coco.validators[%d] (%s): raftAddr %q: %v", i, v.ID, v.RaftAddr, err)
		}
		key, err := v.Key()
		if err != nil {
			return fmt.Errorf("genesis: config.coco.validators[%d] (%s): publicKey: %v", i, v.ID, err)
		}
		pk := string(crypto.FromECDSAPub(key))
		if ids[v.ID] || addrs[v.RaftAddr] || keys[pk] {
			return fmt.Errorf("genesis: config.coco.validators[%d] (%s): duplicate id, address or key", i, v.ID)
		}
		ids[v.ID], addrs[v.RaftAddr], keys[pk] = true, true, true
	}
	for addr, acc := range g.Alloc {
		if acc.Balance != nil && acc.Balance.Sign() < 0 {
			return fmt.Errorf("genesis: alloc %s: negative balance", addr.Hex())
		}
		if acc.Balance == nil {
			acc.Balance = new(big.Int)
			g.Alloc[addr] = acc
		}
	}
	return nil
}

// Dev returns the genesis of `cocogeth --dev`: chain id 1337, forks through
// Osaka, the system contracts geth's dev mode deploys, and DevAddress funded.
func Dev() *Spec {
	eg := core.DeveloperGenesisBlock(DefaultGasLimit, &DevAddress)
	cfg := *eg.Config
	cfg.BogotaTime, cfg.AmsterdamTime, cfg.UBTTime = nil, nil, nil
	eg.Config = &cfg
	eg.Timestamp = 0
	spec := &Spec{Eth: eg}
	if err := spec.normalise(); err != nil {
		panic(fmt.Sprintf("dev genesis invalid: %v", err)) // a programming error
	}
	raw, err := spec.MarshalJSON()
	if err != nil {
		panic(fmt.Sprintf("dev genesis: %v", err))
	}
	spec.Raw = raw
	return spec
}

// MarshalJSON renders the spec as a genesis file with config.coco inside.
func (s *Spec) MarshalJSON() ([]byte, error) {
	eth, err := json.Marshal(s.Eth)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(eth, &m); err != nil {
		return nil, err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(m["config"], &cfg); err != nil {
		return nil, err
	}
	coco, err := json.Marshal(s.Coco)
	if err != nil {
		return nil, err
	}
	cfg["coco"] = coco
	if m["config"], err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// GenesisConstitution returns the genesis constitution, nil on a network without
// one.
func (c *Coco) GenesisConstitution() *governance.Genesis { return c.constitution }
