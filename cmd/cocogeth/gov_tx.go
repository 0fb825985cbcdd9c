package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/cocogeth/cocogeth/governance"
	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

// Flags of the commands that talk to a node.
var (
	rpcFlag = &cli.StringFlag{
		Name:  "rpc",
		Usage: "JSON-RPC endpoint of the node: http(s):// or ws(s):// URL, or IPC socket path",
		Value: "http://127.0.0.1:8545",
	}
	accountFlag  = &cli.StringFlag{Name: "account", Usage: "Account that signs: address or index in the keystore (default: the keystore's only account)"}
	nodeSignFlag = &cli.BoolFlag{Name: "node-sign", Usage: "Let the node sign with its unlocked account --account (eth_sendTransaction) instead of the local keystore"}
	timeoutFlag  = &cli.DurationFlag{Name: "timeout", Usage: "How long to wait for the transaction's receipt", Value: time.Minute}
	sessionFlag  = &cli.StringFlag{Name: "session", Usage: "Session token (cocogeth session) to present to the node over HTTP or WebSocket"}
	jsonFlag     = &cli.BoolFlag{Name: "json", Usage: "Print the node's JSON answer"}
)

// txFlags are the flags of the commands that send a transaction.
var txFlags = []cli.Flag{rpcFlag, sessionFlag, dataDirFlag, keystoreDir, accountFlag, passwordFlag, nodeSignFlag, timeoutFlag}

// dialNode connects to the node of --rpc.
func dialNode(ctx *cli.Context) (*rpc.Client, error) {
	endpoint := ctx.String(rpcFlag.Name)
	c, err := dialWithSession(ctx.Context, endpoint, ctx.String(sessionFlag.Name))
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
	}
	return c, nil
}

// dialWithSession connects to endpoint, presenting the session token (if
// any) as a bearer token over HTTP and in the WebSocket handshake.
func dialWithSession(ctx context.Context, endpoint, token string) (*rpc.Client, error) {
	if token == "" {
		return rpc.DialContext(ctx, endpoint)
	}
	if !strings.Contains(endpoint, "://") {
		return nil, errors.New("--session needs an http(s):// or ws(s):// endpoint (IPC is local and takes none)")
	}
	return rpc.DialOptions(ctx, endpoint, rpc.WithHeader("Authorization", "Bearer "+token))
}

// callCoco makes a coco_ call and explains a node that does not serve it.
func callCoco(ctx context.Context, c *rpc.Client, endpoint string, result any, method string, args ...any) error {
	err := c.CallContext(ctx, result, method, args...)
	var rerr rpc.Error
	if errors.As(err, &rerr) && rerr.ErrorCode() == -32601 {
		return fmt.Errorf("the node at %s does not serve %s: enable the coco API (--http.api …,coco) or use its IPC socket", endpoint, method)
	}
	if err != nil && strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
	}
	return err
}

// sender signs and sends transactions to the governance contract.
type sender struct {
	rpc     *rpc.Client
	ec      *ethclient.Client
	from    common.Address
	ks      *keystore.KeyStore // holds from unlocked; nil: the node signs (eth_sendTransaction)
	timeout time.Duration
	own     bool // rpc was dialed by the sender (with its session)
}

// newSender resolves the signing account: a key of the local keystore
// (decrypted with --password or a prompted password), or with --node-sign
// an account the node holds unlocked.
func newSender(ctx *cli.Context, c *rpc.Client) (*sender, error) {
	s := &sender{rpc: c, ec: ethclient.NewClient(c), timeout: ctx.Duration(timeoutFlag.Name)}
	want := ctx.String(accountFlag.Name)
	if ctx.Bool(nodeSignFlag.Name) {
		if !common.IsHexAddress(want) {
			return nil, errors.New("--node-sign needs --account ADDRESS: an account the node holds unlocked (see eth_accounts)")
		}
		s.from = common.HexToAddress(want)
		return s, nil
	}
	ks, acc, err := unlockAccount(ctx)
	if err != nil {
		return nil, err
	}
	s.ks, s.from = ks, acc.Address
	// Read as the signer: a governed network shows its data only to its
	// actors.
	if endpoint := ctx.String(rpcFlag.Name); ctx.String(sessionFlag.Name) == "" && isURL(endpoint) {
		res, err := signIn(ctx.Context, c, ks, acc, endpoint, time.Hour)
		if err != nil {
			return nil, fmt.Errorf("sign in as %s: %v", acc.Address.Hex(), err)
		}
		if s.rpc, err = dialWithSession(ctx.Context, endpoint, res.Token); err != nil {
			return nil, err
		}
		s.ec, s.own = ethclient.NewClient(s.rpc), true
	}
	return s, nil
}

// close closes the client the sender dialed itself.
func (s *sender) close() {
	if s.own {
		s.rpc.Close()
	}
}

// unlockAccount unlocks the account of --account (default: the keystore's
// only one) in the local keystore, with --password or a prompted one.
func unlockAccount(ctx *cli.Context) (*keystore.KeyStore, accounts.Account, error) {
	want := ctx.String(accountFlag.Name)
	ks, dir, err := openKeyStore(ctx)
	if err != nil {
		return nil, accounts.Account{}, err
	}
	var acc accounts.Account
	switch accs := ks.Accounts(); {
	case want != "":
		if acc, err = resolveAccount(ks, want); err != nil {
			return nil, acc, fmt.Errorf("account %s: %v (keystore %s)", want, err, dir)
		}
	case len(accs) == 1:
		acc = accs[0]
	case len(accs) == 0:
		return nil, acc, fmt.Errorf("no account in keystore %s: create one (cocogeth account new / import) or give --keystore, or sign on the node with --node-sign --account ADDRESS", dir)
	default:
		return nil, acc, fmt.Errorf("keystore %s holds %d accounts: choose one with --account", dir, len(accs))
	}
	var pw string
	if file := ctx.String(passwordFlag.Name); file != "" {
		lines, err := readPasswordFile(file)
		if err != nil {
			return nil, acc, err
		}
		pw = lines[0]
	} else if pw, err = readPassword(fmt.Sprintf("Password of %s: ", acc.Address.Hex()), false); err != nil {
		return nil, acc, err
	}
	if err := ks.Unlock(acc, pw); err != nil {
		return nil, acc, fmt.Errorf("account %s: %v", acc.Address.Hex(), err)
	}
	return ks, acc, nil
}

// revertReason returns the reason of a reverted call's error: the decoded
// Error(string) of its data, else the error's message.
func revertReason(err error) string {
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			if data, derr := hexutil.Decode(s); derr == nil {
				if reason, uerr := abi.UnpackRevert(data); uerr == nil {
					return reason
				}
			}
		}
	}
	return strings.TrimPrefix(err.Error(), "execution reverted: ")
}

// gasMargin is added to the estimate: a ballot that decides a proposal
// (or a proposal that another ballot makes decisive) costs several times
// what it cost when estimated, and unused gas is not charged.
const gasMargin = 300_000

// send sends data to the governance contract and waits for its receipt.
// A call the contract refuses fails before anything is sent, with the
// contract's reason.
func (s *sender) send(ctx context.Context, data []byte) (*types.Receipt, error) {
	to := governance.Address
	msg := ethereum.CallMsg{From: s.from, To: &to, Data: data}
	est, err := s.ec.EstimateGas(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("refused: %s", revertReason(err))
	}
	head, err := s.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	gas := est*2 + gasMargin
	if gas > head.GasLimit {
		gas = head.GasLimit
	}
	var hash common.Hash
	if s.ks == nil {
		args := map[string]any{"from": s.from, "to": to, "input": hexutil.Bytes(data), "gas": hexutil.Uint64(gas)}
		if err := s.rpc.CallContext(ctx, &hash, "eth_sendTransaction", args); err != nil {
			return nil, fmt.Errorf("eth_sendTransaction from %s: %v", s.from.Hex(), err)
		}
	} else {
		chainID, err := s.ec.ChainID(ctx)
		if err != nil {
			return nil, err
		}
		nonce, err := s.ec.PendingNonceAt(ctx, s.from)
		if err != nil {
			return nil, err
		}
		tip, err := s.ec.SuggestGasTipCap(ctx)
		if err != nil {
			return nil, err
		}
		feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
		tx, err := s.ks.SignTx(accounts.Account{Address: s.from}, types.NewTx(&types.DynamicFeeTx{
			ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Data: data,
		}), chainID)
		if err != nil {
			return nil, err
		}
		if err := s.ec.SendTransaction(ctx, tx); err != nil {
			return nil, fmt.Errorf("transaction from %s refused by the node: %v", s.from.Hex(), err)
		}
		hash = tx.Hash()
	}
	receipt, err := s.wait(ctx, hash)
	if err != nil {
		return nil, err
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		return receipt, s.failure(ctx, msg, receipt, gas)
	}
	return receipt, nil
}

// wait polls for the receipt of hash.
func (s *sender) wait(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := s.ec.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) && ctx.Err() == nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("transaction %s sent but no receipt within %v", hash.Hex(), s.timeout)
		case <-tick.C:
		}
	}
}

// failure explains a transaction that reverted in its block: the reason
// of the same call replayed on the block before, or running out of gas.
func (s *sender) failure(ctx context.Context, msg ethereum.CallMsg, r *types.Receipt, gas uint64) error {
	base := fmt.Sprintf("transaction %s failed in block %d", r.TxHash.Hex(), r.BlockNumber)
	if r.GasUsed >= gas {
		return fmt.Errorf("%s: out of gas (%d)", base, gas)
	}
	msg.Gas = gas
	parent := new(big.Int).Sub(r.BlockNumber, big.NewInt(1))
	if _, err := s.ec.CallContract(ctx, msg, parent); err != nil {
		return fmt.Errorf("%s: %s", base, revertReason(err))
	}
	return fmt.Errorf("%s (reverted)", base)
}

// govEvent is one decoded log of the governance contract.
type govEvent struct {
	Name string
	Args map[string]any
}

// govEvents decodes the governance logs of a receipt.
func govEvents(r *types.Receipt) []govEvent {
	a := governance.ABI()
	var out []govEvent
	for _, l := range r.Logs {
		if l.Address != governance.Address || len(l.Topics) == 0 {
			continue
		}
		ev, err := a.EventByID(l.Topics[0])
		if err != nil {
			continue
		}
		args := map[string]any{}
		if err := ev.Inputs.NonIndexed().UnpackIntoMap(args, l.Data); err != nil {
			continue
		}
		var indexed abi.Arguments
		for _, in := range ev.Inputs {
			if in.Indexed {
				indexed = append(indexed, in)
			}
		}
		if err := abi.ParseTopicsIntoMap(args, indexed, l.Topics[1:]); err != nil {
			continue
		}
		out = append(out, govEvent{Name: ev.Name, Args: args})
	}
	return out
}

// describeEvent renders a governance event for people.
func describeEvent(e govEvent) string {
	a := e.Args
	id := func() string { return fmt.Sprint(a["id"]) }
	switch e.Name {
	case "ProposalCreated":
		return fmt.Sprintf("Proposal %s created by %s: %s", id(), a["proposer"], a["description"])
	case "ProposalVoted":
		ballot := "no"
		if a["approve"] == true {
			ballot = "yes"
		}
		return fmt.Sprintf("Proposal %s: %s voted %s", id(), a["member"], ballot)
	case "ProposalResolved":
		st, _ := a["state"].(uint8)
		out := fmt.Sprintf("Proposal %s %s", id(), governance.ProposalState(st))
		if r, _ := a["reason"].(string); r != "" {
			out += ": " + r
		}
		return out
	case "ConstitutionChanged":
		return fmt.Sprintf("Constitution changed to version %v by proposal %v", a["version"], a["proposalId"])
	case "MemberAdded":
		return fmt.Sprintf("  member %q added", a["id"])
	case "MemberRemoved":
		return fmt.Sprintf("  member %q removed", a["id"])
	case "ParticipantAdded":
		return fmt.Sprintf("  participant %q added", a["id"])
	case "ParticipantRemoved":
		return fmt.Sprintf("  participant %q removed", a["id"])
	case "NodeAdded":
		return fmt.Sprintf("  node %q added (owner %s, raft %s)", a["id"], a["owner"], a["raftAddr"])
	case "NodeRemoved":
		return fmt.Sprintf("  node %q removed (owner %s, raft %s)", a["id"], a["owner"], a["raftAddr"])
	case "PolicyChanged":
		k, _ := a["kind"].(uint8)
		p := governance.Policy{Kind: governance.PolicyKind(k)}
		if m, ok := a["m"].(uint64); ok {
			p.M = m
		}
		return fmt.Sprintf("  voting policy set to %s", p)
	case "CodeAdded", "CodeRemoved":
		h, _ := a["codeId"].([32]byte)
		verb := "added"
		if e.Name == "CodeRemoved" {
			verb = "removed"
		}
		return fmt.Sprintf("  code identity %s %s", common.Hash(h).Hex(), verb)
	case "TEEAdded", "TEERemoved":
		verb := "added"
		if e.Name == "TEERemoved" {
			verb = "removed"
		}
		return fmt.Sprintf("  TEE kind %q %s", a["kind"], verb)
	case "SettingsChanged":
		open, _ := a["openSending"].(bool)
		lt, _ := a["proposalLifetime"].(uint64)
		ep, _ := a["epochLength"].(uint64)
		sl, _ := a["sessionLifetime"].(uint64)
		return fmt.Sprintf("  settings: %s", governance.Settings{ProposalLifetime: lt, EpochLength: ep, OpenSending: open, SessionLifetime: sl}.BaseString())
	case "RecoveryKeySet":
		k, _ := a["key"].([32]byte)
		if k == ([32]byte{}) {
			return fmt.Sprintf("  recovery key of member %q removed", a["id"])
		}
		return fmt.Sprintf("  recovery key of member %q set to %s", a["id"], hexutil.Encode(k[:]))
	case "RecoveryThresholdSet":
		m, _ := a["m"].(uint16)
		if m == 0 {
			return "  recovery threshold set to a majority of the members' recovery keys"
		}
		return fmt.Sprintf("  recovery threshold set to %s of the members' recovery keys", governance.RecoveryThresholdString(m))
	}
	return fmt.Sprintf("  %s %v", e.Name, a)
}
