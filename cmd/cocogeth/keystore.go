package main

import (
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
)

// Keystores are go-ethereum's (accounts/keystore): key files in the Web3
// Secret Storage format named UTC--<time>--<address>, so key files move
// freely between geth, clef, other wallets and cocogeth. This file only
// opens them with geth's settings and resolves accounts as geth's flags
// name them.

// newKeyStore opens the keystore directory dir with geth's scrypt
// parameters: standard, or light with --lightkdf.
func newKeyStore(dir string, light bool) *keystore.KeyStore {
	n, p := keystore.StandardScryptN, keystore.StandardScryptP
	if light {
		n, p = keystore.LightScryptN, keystore.LightScryptP
	}
	return keystore.NewKeyStore(dir, n, p)
}

// resolveAccount reads an account of the keystore given by address or by
// index (in the order of `cocogeth account list`), as geth's --unlock.
func resolveAccount(ks *keystore.KeyStore, s string) (accounts.Account, error) {
	if common.IsHexAddress(s) {
		return ks.Find(accounts.Account{Address: common.HexToAddress(s)})
	}
	index, err := strconv.Atoi(s)
	if err != nil || index < 0 {
		return accounts.Account{}, fmt.Errorf("invalid account address or index %q", s)
	}
	accs := ks.Accounts()
	if index >= len(accs) {
		return accounts.Account{}, fmt.Errorf("index %d higher than number of accounts %d", index, len(accs))
	}
	return accs[index], nil
}
