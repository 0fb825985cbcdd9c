package main

import (
	"fmt"

	"github.com/cocogeth/cocogeth/recovery"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/urfave/cli/v2"
)

// The recovery commands: a member's recovery key (package recovery), whose
// public half the member registers in the constitution
// (`cocogeth propose set-recovery-key ID KEY`, or RECOVERYKEY of
// add-member) so that the node encrypts the member's shares of each
// epoch's ledger secret to it.

var (
	recoveryOutFlag = &cli.StringFlag{
		Name:     "out",
		Usage:    "File to write the new private recovery key to (mode 0600; must not exist)",
		Required: true,
	}
	recoveryKeyFlag = &cli.StringFlag{
		Name:     "key",
		Usage:    "Private recovery key file (as written by cocogeth recovery keygen)",
		Required: true,
	}
)

var recoveryCommand = &cli.Command{
	Name:  "recovery",
	Usage: "Members' recovery keys, shares for a node in recovery mode, offline audits",
	Description: `A member's recovery key lets the members recover the ledger secret of an
epoch together: the node encrypts one share of it to each member's recovery
public key, and any M of the members' shares recover it. Create a key with
keygen, keep the file private, and propose its public key for your member:

   cocogeth propose set-recovery-key MEMBER 0x…

When every node lost its ledger secrets, each member runs share against
each node started with --recovery; for an audit, share --records and audit
decrypt a copy offline (docs/operators.md).`,
	Subcommands: []*cli.Command{recoveryKeygenCommand, recoveryPubkeyCommand, recoveryShareCommand, recoveryAuditCommand},
}

var recoveryKeygenCommand = &cli.Command{
	Name:      "keygen",
	Usage:     "Create a recovery key: write the private key to --out and print the public key",
	ArgsUsage: " ",
	Flags:     []cli.Flag{recoveryOutFlag},
	Description: `Writes a new private recovery key to the file --out (mode 0600; an
existing file is never overwritten) and prints its public key, 32 bytes of
0x hex, on standard output: the KEY of cocogeth propose set-recovery-key.`,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", ctx.Args().First())
		}
		out := ctx.String(recoveryOutFlag.Name)
		if out == "" {
			return fmt.Errorf("--%s FILE is required", recoveryOutFlag.Name)
		}
		k, err := recovery.GenerateKey(nil)
		if err != nil {
			return err
		}
		if err := recovery.WriteKeyFile(out, k); err != nil {
			return err
		}
		_, err = fmt.Fprintln(ctx.App.Writer, hexutil.Encode(k.Public()))
		return err
	},
}

var recoveryPubkeyCommand = &cli.Command{
	Name:      "pubkey",
	Usage:     "Print the public key of a recovery key file",
	ArgsUsage: " ",
	Flags:     []cli.Flag{recoveryKeyFlag},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("unexpected argument %q", ctx.Args().First())
		}
		k, err := recovery.ReadKeyFile(ctx.String(recoveryKeyFlag.Name))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(ctx.App.Writer, hexutil.Encode(k.Public()))
		return err
	},
}
