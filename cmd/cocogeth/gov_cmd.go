package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cocogeth/cocogeth/ethapi"
	"github.com/cocogeth/cocogeth/governance"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/urfave/cli/v2"
)

// The governance commands: views through coco_ and transactions to the
// governance contract at 0x…C0C0, signed locally with a keystore account
// (or by the node with --node-sign).

var allFlag = &cli.BoolFlag{Name: "all", Usage: "List every proposal, not only the open ones"}

var constitutionCommand = &cli.Command{
	Name:   "constitution",
	Usage:  "Show the network's constitution (coco_constitution)",
	Flags:  []cli.Flag{rpcFlag, sessionFlag, jsonFlag},
	Action: showConstitution,
}

var proposalsCommand = &cli.Command{
	Name:      "proposals",
	Usage:     "List the open proposals, or every one with --all, or show one by id",
	ArgsUsage: "[id]",
	Flags:     []cli.Flag{rpcFlag, sessionFlag, allFlag, jsonFlag},
	Action:    showProposals,
}

var proposeCommand = &cli.Command{
	Name:      "propose",
	Usage:     "Propose a change of the constitution (members only)",
	ArgsUsage: "<action> [args…]",
	Flags:     txFlags,
	Description: `Sends a proposal to the governance contract; proposing counts as your
member's approval. Actions and their arguments:

` + actionUsage() + `
ACCOUNT is a 0x address (several separated by commas), PUBKEY 0x hex (a
node's key as printed by cocogeth nodekey), RECOVERYKEY and KEY a member's
recovery public key, 32 bytes of 0x hex as cocogeth recovery keygen prints
it (KEY none removes the member's key), HASH and CODEID 32 bytes of 0x hex,
KIND sgx or simulation, LIFETIME and EPOCH numbers of blocks. M of
set-policy is a number of approving members; M of set-recovery-threshold
the number of members' recovery keys that recover an epoch's ledger secret
(majority or 0: a majority of the members with a recovery key; at most the
number of those members). The transaction is signed with --account of the
keystore (password from --password FILE or asked) and sent to --rpc; the
command waits for its receipt and prints the proposal id.`,
	Action: propose,
}

var voteCommand = &cli.Command{
	Name:      "vote",
	Usage:     "Vote on an open proposal (members only)",
	ArgsUsage: "<id> yes|no",
	Flags:     txFlags,
	Action:    vote,
}

var withdrawCommand = &cli.Command{
	Name:      "withdraw",
	Usage:     "Withdraw an open proposal of your member",
	ArgsUsage: "<id>",
	Flags:     txFlags,
	Action:    withdraw,
}

// positional returns the command's arguments, applying the flags written
// after them (`cocogeth vote 3 yes --account 0x…`), which the CLI library
// leaves among the arguments. "--" ends the flags.
func positional(ctx *cli.Context) ([]string, error) {
	var out []string
	args := ctx.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || len(a) == 1 {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var flag cli.Flag
		for _, f := range ctx.Command.Flags {
			for _, n := range f.Names() {
				if n == name {
					flag = f
				}
			}
		}
		if flag == nil {
			return nil, fmt.Errorf("flag provided but not defined: %s", a)
		}
		if _, isBool := flag.(*cli.BoolFlag); isBool && !hasValue {
			value = "true"
		} else if !hasValue {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		if err := ctx.Set(name, value); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag %s: %v", value, a, err)
		}
	}
	return out, nil
}

func showConstitution(ctx *cli.Context) error {
	args, err := positional(ctx)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	c, err := dialNode(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw json.RawMessage
	if err := callCoco(ctx.Context, c, ctx.String(rpcFlag.Name), &raw, "coco_constitution"); err != nil {
		return err
	}
	if ctx.Bool(jsonFlag.Name) {
		return printJSON(os.Stdout, raw)
	}
	var cons ethapi.RPCConstitution
	if err := json.Unmarshal(raw, &cons); err != nil {
		return fmt.Errorf("unexpected answer of coco_constitution: %v", err)
	}
	printConstitution(os.Stdout, &cons)
	return nil
}

// printJSON prints a JSON answer indented, in the node's field order.
func printJSON(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, b.String())
	return err
}

func printConstitution(w io.Writer, c *ethapi.RPCConstitution) {
	n := uint64(len(c.Members))
	fmt.Fprintf(w, "Constitution version %d (block %d)\n", c.Version, c.Block)
	fmt.Fprintf(w, "Voting policy: %s (%d of %d members approve)\n", c.Policy, c.Policy.Threshold(n), n)
	fmt.Fprintf(w, "Settings:      %s\n", c.Settings.BaseString())
	fmt.Fprintf(w, "Recovery:      %s\n", describeRecovery(c.Constitution))
	fmt.Fprintf(w, "\nMembers (%d):\n", len(c.Members))
	for _, m := range c.Members {
		fmt.Fprintf(w, "  %-12s accounts %s\n", m.ID, joinAddrs(m.Accounts))
		fmt.Fprintf(w, "  %-12s public key %s", "", shortHex(m.PublicKey))
		if len(m.RecoveryKey) > 0 {
			fmt.Fprintf(w, ", recovery key %s", shortHex(m.RecoveryKey))
		} else {
			fmt.Fprint(w, ", no recovery key")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nParticipants (%d):\n", len(c.Participants))
	for _, p := range c.Participants {
		fmt.Fprintf(w, "  %-12s accounts %s\n", p.ID, joinAddrs(p.Accounts))
	}
	fmt.Fprintf(w, "\nValidating nodes (%d):\n", len(c.Nodes))
	for _, nd := range c.Nodes {
		code := "any in the manifest"
		if nd.CodeID != (common.Hash{}) {
			code = nd.CodeID.Hex()
		}
		fmt.Fprintf(w, "  %-12s owner %-10s raft %-21s key %s  code %s\n", nd.ID, nd.Owner, nd.RaftAddr, shortHex(nd.PublicKey), code)
	}
	fmt.Fprintf(w, "\nCode manifest (%d):", len(c.CodeManifest))
	if len(c.CodeManifest) == 0 {
		fmt.Fprint(w, " empty, any code identity is accepted")
	}
	fmt.Fprintln(w)
	for _, h := range c.CodeManifest {
		fmt.Fprintf(w, "  %s\n", h.Hex())
	}
	fmt.Fprintf(w, "TEE manifest: %s\n", strings.Join(c.TEEManifest, ", "))
}

// describeRecovery tells how many of which members' recovery keys recover
// an epoch's ledger secret, and the stored threshold it comes from.
func describeRecovery(c *governance.Constitution) string {
	ids, _ := c.RecoveryKeys()
	stored := c.Settings.RecoveryThreshold
	setting := "threshold " + governance.RecoveryThresholdString(stored)
	if n := len(ids); n > 0 && int(stored) > n {
		setting += fmt.Sprintf(", more than the %d key(s) left", n)
	}
	if len(ids) == 0 {
		return fmt.Sprintf("no member has a recovery key (%s)", setting)
	}
	return fmt.Sprintf("any %d of the %d recovery key(s) of %s (%s)", c.RecoveryThreshold(), len(ids), strings.Join(ids, ", "), setting)
}

func joinAddrs(as []common.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.Hex()
	}
	return strings.Join(s, ", ")
}

// shortHex abbreviates long keys: 0x04a1b2…c3d4 (65 bytes).
func shortHex(b []byte) string {
	h := fmt.Sprintf("%#x", b)
	if len(b) <= 8 {
		return h
	}
	return fmt.Sprintf("%s…%s (%d bytes)", h[:8], h[len(h)-4:], len(b))
}

func showProposals(ctx *cli.Context) error {
	args, err := positional(ctx)
	if err != nil {
		return err
	}
	if len(args) > 1 {
		return fmt.Errorf("unexpected argument %q", args[1])
	}
	c, err := dialNode(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	endpoint := ctx.String(rpcFlag.Name)
	var raw json.RawMessage
	if len(args) == 1 {
		id, err := parseProposalID(args[0])
		if err != nil {
			return err
		}
		if err := callCoco(ctx.Context, c, endpoint, &raw, "coco_proposal", id); err != nil {
			return err
		}
		raw = append(append([]byte("["), raw...), ']')
	} else if err := callCoco(ctx.Context, c, endpoint, &raw, "coco_proposals", !ctx.Bool(allFlag.Name)); err != nil {
		return err
	}
	if ctx.Bool(jsonFlag.Name) {
		if len(args) == 1 {
			raw = raw[1 : len(raw)-1]
		}
		return printJSON(os.Stdout, raw)
	}
	var ps []ethapi.RPCProposal
	if err := json.Unmarshal(raw, &ps); err != nil {
		return fmt.Errorf("unexpected answer of the node: %v", err)
	}
	if len(ps) == 0 {
		if ctx.Bool(allFlag.Name) {
			fmt.Println("No proposals yet.")
		} else {
			fmt.Println("No open proposals (--all lists every proposal).")
		}
	}
	for i := range ps {
		printProposal(os.Stdout, &ps[i])
	}
	return nil
}

func printProposal(w io.Writer, p *ethapi.RPCProposal) {
	fmt.Fprintf(w, "#%d %s: %s\n", p.ID, p.Action, p.Description)
	fmt.Fprintf(w, "    proposed by %s at block %d, ", p.Proposer, p.CreatedAt)
	if p.State == governance.Open.String() {
		fmt.Fprintf(w, "open until block %d: %d of %d approvals", p.ExpiresAt, p.Approvals, p.Threshold)
		if p.Rejections > 0 {
			fmt.Fprintf(w, ", %d against", p.Rejections)
		}
	} else {
		fmt.Fprint(w, p.State)
		if p.Reason != "" {
			fmt.Fprintf(w, " (%s)", p.Reason)
		}
	}
	fmt.Fprintln(w)
	if len(p.Ballots) > 0 {
		ballots := make([]string, len(p.Ballots))
		for i, b := range p.Ballots {
			v := "no"
			if b.Approve {
				v = "yes"
			}
			ballots[i] = fmt.Sprintf("%s %s (block %d)", b.Member, v, b.Block)
		}
		fmt.Fprintf(w, "    ballots: %s\n", strings.Join(ballots, ", "))
	}
}

// sendGov signs and sends one call to the governance contract and prints
// what happened.
func sendGov(ctx *cli.Context, what string, data []byte) (*types.Receipt, error) {
	c, err := dialNode(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s, err := newSender(ctx, c)
	if err != nil {
		return nil, err
	}
	defer s.close()
	r, err := s.send(ctx.Context, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	fmt.Printf("Transaction %s from %s in block %d (gas used %d)\n", r.TxHash.Hex(), s.from.Hex(), r.BlockNumber, r.GasUsed)
	for _, e := range govEvents(r) {
		fmt.Println(describeEvent(e))
	}
	return r, nil
}

func propose(ctx *cli.Context) error {
	args, err := positional(ctx)
	if err != nil {
		return err
	}
	_, data, err := encodeProposal(args)
	if err != nil {
		return err
	}
	r, err := sendGov(ctx, "proposal", data)
	if err != nil {
		return err
	}
	for _, e := range govEvents(r) {
		if e.Name == "ProposalCreated" {
			return nil
		}
	}
	return errors.New("the transaction succeeded but created no proposal")
}

func vote(ctx *cli.Context) error {
	args, err := positional(ctx)
	if err != nil {
		return err
	}
	id, _, data, err := encodeVote(args)
	if err != nil {
		return err
	}
	_, err = sendGov(ctx, fmt.Sprintf("vote on proposal %d", id), data)
	return err
}

func withdraw(ctx *cli.Context) error {
	args, err := positional(ctx)
	if err != nil {
		return err
	}
	id, data, err := encodeWithdraw(args)
	if err != nil {
		return err
	}
	_, err = sendGov(ctx, fmt.Sprintf("withdrawal of proposal %d", id), data)
	return err
}
