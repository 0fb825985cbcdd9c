package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/console/prompt"
	"github.com/ethereum/go-ethereum/log"
	"github.com/urfave/cli/v2"
)

// Node-side signing, as geth had it: the node serves the accounts of its
// keystore (eth_accounts) and signs eth_sendTransaction with those
// unlocked at start by --unlock. Unlocking is refused while HTTP or
// WebSocket RPC is enabled unless --allow-insecure-unlock is given (IPC
// only is safe).
var (
	unlockFlag         = &cli.StringFlag{Name: "unlock", Usage: "Comma separated list of accounts to unlock (addresses or keystore indexes)"}
	passwordFlag       = &cli.StringFlag{Name: "password", Usage: "Password file to use for non-interactive password input (one password per line)"}
	insecureUnlockFlag = &cli.BoolFlag{Name: "allow-insecure-unlock", Usage: "Allow insecure account unlocking when account-related RPCs are exposed by http"}
)

// nodeKeystore opens go-ethereum's keystore of the node's keystore
// directory (as geth registers it), nil when the node has none, and
// unlocks the --unlock accounts in it. It runs before the node is built,
// so that a refused unlock or a wrong password stops the command before
// anything is opened; the caller adds the keystore to the node's account
// manager.
func nodeKeystore(ctx *cli.Context, cfg *Config) (*keystore.KeyStore, error) {
	wanted := splitList(ctx.String(unlockFlag.Name))
	if len(wanted) > 0 && cfg.Node.ExtRPCEnabled() && !cfg.Node.InsecureUnlockAllowed && !ctx.Bool(insecureUnlockFlag.Name) {
		return nil, errors.New("account unlock with HTTP access is forbidden: serve RPC over IPC only (no --http, --ws), or pass --allow-insecure-unlock")
	}
	dir, err := cfg.Node.KeyDirConfig()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		if len(wanted) > 0 {
			return nil, errors.New("--unlock needs a --datadir or --keystore")
		}
		return nil, nil
	}
	ks := newKeyStore(dir, cfg.Node.UseLightweightKDF)
	if len(wanted) == 0 {
		return ks, nil
	}
	var passwords []string
	if file := ctx.String(passwordFlag.Name); file != "" {
		if passwords, err = readPasswordFile(file); err != nil {
			return nil, err
		}
	}
	for i, w := range wanted {
		a, err := resolveAccount(ks, w)
		if err != nil {
			return nil, fmt.Errorf("could not unlock %q: %v", w, err)
		}
		if passwords != nil {
			if err := ks.Unlock(a, passwordAt(passwords, i)); err != nil {
				return nil, fmt.Errorf("failed to unlock account %s (%v)", a.Address.Hex(), err)
			}
		} else if err := unlockInteractively(ks, a); err != nil {
			return nil, err
		}
		log.Info("Unlocked account", "address", a.Address.Hex())
	}
	return ks, nil
}

// unlockInteractively asks for the password of a, three times at most.
func unlockInteractively(ks *keystore.KeyStore, a accounts.Account) error {
	const tries = 3
	var err error
	for try := 1; try <= tries; try++ {
		var pw string
		pw, err = readPassword(fmt.Sprintf("Unlocking account %s | Attempt %d/%d\nPassword: ", a.Address.Hex(), try, tries), false)
		if err != nil {
			return err
		}
		if err = ks.Unlock(a, pw); err == nil {
			return nil
		}
		if !errors.Is(err, keystore.ErrDecrypt) {
			break
		}
	}
	return fmt.Errorf("failed to unlock account %s (%v)", a.Address.Hex(), err)
}

// readPasswordFile returns the passwords of a password file, one per line
// (as geth reads --password; a final newline adds no empty password).
func readPasswordFile(path string) ([]string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read password file: %v", err)
	}
	lines := strings.Split(string(text), "\n")
	if len(lines) > 1 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	return lines, nil
}

// passwordAt is the password of the i-th account: the i-th line, or the
// last line for the accounts after it.
func passwordAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return lines[len(lines)-1]
}

// stdinIsTerminal reports whether standard input is a terminal.
func stdinIsTerminal() bool {
	fi, err := os.Stdin.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

var stdinLines = bufio.NewReader(os.Stdin)

// readPassword asks for a password on the terminal (without echo); when
// standard input is not a terminal it reads one line from it. With
// confirm the password is asked twice.
func readPassword(msg string, confirm bool) (string, error) {
	read := func(msg string) (string, error) {
		if stdinIsTerminal() {
			return prompt.Stdin.PromptPassword(msg)
		}
		fmt.Fprint(os.Stderr, msg)
		line, err := stdinLines.ReadString('\n')
		if err != nil && line == "" {
			return "", errors.New("no password given: use --password FILE or type it on a terminal")
		}
		fmt.Fprintln(os.Stderr)
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := read(msg)
	if err != nil || !confirm {
		return pw, err
	}
	again, err := read("Repeat password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("passwords do not match")
	}
	return pw, nil
}
