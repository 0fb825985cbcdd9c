package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"
)

// The account command manages the keystore as geth's does: key files in
// the Web3 Secret Storage format, by default in DATADIR/keystore.

var lightKDFFlag = &cli.BoolFlag{Name: "lightkdf", Usage: "Reduce key-derivation RAM & CPU usage at some expense of KDF strength"}

var accountCommand = &cli.Command{
	Name:  "account",
	Usage: "Manage accounts of the keystore (geth's key file format)",
	Description: `Accounts are key files in the keystore directory (--keystore, by default
DATADIR/keystore), encrypted with a password, in the format of geth, so
they move freely between geth and cocogeth. The node signs with them once
unlocked (--unlock); the governance commands sign with them locally.`,
	Subcommands: []*cli.Command{
		{
			Name:   "new",
			Usage:  "Create a new account",
			Flags:  []cli.Flag{dataDirFlag, keystoreDir, passwordFlag, lightKDFFlag},
			Action: accountNew,
			Description: `Creates a random key, encrypts it with a password (the first line of
--password FILE, else asked twice on the terminal) and prints its address.`,
		},
		{
			Name:   "list",
			Usage:  "Print the accounts of the keystore",
			Flags:  []cli.Flag{dataDirFlag, keystoreDir},
			Action: accountList,
		},
		{
			Name:      "import",
			Usage:     "Import a private key into a new key file",
			ArgsUsage: "<keyFile>",
			Flags:     []cli.Flag{dataDirFlag, keystoreDir, passwordFlag, lightKDFFlag},
			Action:    accountImport,
			Description: `Imports an unencrypted private key from <keyFile> (one line of hex, as
geth account import takes it) and stores it encrypted with a password.`,
		},
	},
}

// keystorePath is --keystore, else DATADIR/keystore.
func keystorePath(ctx *cli.Context) (string, error) {
	dir := ctx.String(keystoreDir.Name)
	if dir == "" {
		dir = filepath.Join(ctx.String(dataDirFlag.Name), "keystore")
	}
	return filepath.Abs(dir)
}

// openKeyStore opens the keystore of --keystore / --datadir and returns
// it with its directory.
func openKeyStore(ctx *cli.Context) (*keystore.KeyStore, string, error) {
	dir, err := keystorePath(ctx)
	if err != nil {
		return nil, "", err
	}
	return newKeyStore(dir, ctx.Bool(lightKDFFlag.Name)), dir, nil
}

// newPassword is the password of a new key file: the first line of
// --password, else asked twice.
func newPassword(ctx *cli.Context) (string, error) {
	if file := ctx.String(passwordFlag.Name); file != "" {
		lines, err := readPasswordFile(file)
		if err != nil {
			return "", err
		}
		return lines[0], nil
	}
	fmt.Fprintln(os.Stderr, "Your new account is locked with a password. Please give a password. Do not forget this password.")
	return readPassword("Password: ", true)
}

func accountNew(ctx *cli.Context) error {
	if ctx.Args().Present() {
		return fmt.Errorf("unexpected argument %q", ctx.Args().First())
	}
	ks, _, err := openKeyStore(ctx)
	if err != nil {
		return err
	}
	pw, err := newPassword(ctx)
	if err != nil {
		return err
	}
	a, err := ks.NewAccount(pw)
	if err != nil {
		return fmt.Errorf("failed to create account: %v", err)
	}
	fmt.Printf("\nYour new key was generated\n\n")
	fmt.Printf("Public address of the key:   %s\n", a.Address.Hex())
	fmt.Printf("Path of the secret key file: %s\n\n", a.URL.Path)
	fmt.Printf("- You can share your public address with anyone. Others need it to interact with you.\n")
	fmt.Printf("- You must NEVER share the secret key with anyone! The key controls access to your funds!\n")
	fmt.Printf("- You must BACKUP your key file! Without the key, it's impossible to access account funds!\n")
	fmt.Printf("- You must REMEMBER your password! Without the password, it's impossible to decrypt the key!\n\n")
	return nil
}

func accountList(ctx *cli.Context) error {
	if ctx.Args().Present() {
		return fmt.Errorf("unexpected argument %q", ctx.Args().First())
	}
	ks, dir, err := openKeyStore(ctx)
	if err != nil {
		return err
	}
	accs := ks.Accounts()
	if len(accs) == 0 {
		fmt.Fprintf(os.Stderr, "No accounts in %s\n", dir)
	}
	for i, a := range accs {
		fmt.Printf("Account #%d: {%x} %s\n", i, a.Address, a.URL)
	}
	return nil
}

func accountImport(ctx *cli.Context) error {
	if ctx.Args().Len() != 1 {
		return errors.New("need exactly one argument: the file holding the private key in hex")
	}
	key, err := crypto.LoadECDSA(ctx.Args().First())
	if err != nil {
		return fmt.Errorf("failed to load the private key: %v", err)
	}
	ks, _, err := openKeyStore(ctx)
	if err != nil {
		return err
	}
	pw, err := newPassword(ctx)
	if err != nil {
		return err
	}
	a, err := ks.ImportECDSA(key, pw)
	if err != nil {
		return fmt.Errorf("could not create the account: %v", err)
	}
	fmt.Printf("Address: {%x}\n", a.Address)
	fmt.Printf("Path of the secret key file: %s\n", a.URL.Path)
	return nil
}
