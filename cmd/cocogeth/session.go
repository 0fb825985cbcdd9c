package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cocogeth/cocogeth/confidential"
	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

var ttlFlag = &cli.DurationFlag{Name: "ttl", Usage: "How long the session lasts (at most the network's session lifetime, 24h by default)", Value: time.Hour}

var sessionCommand = &cli.Command{
	Name:  "session",
	Usage: "Sign in to a node with a keystore account and print a session token",
	Description: `Signs a Sign-In with Ethereum (EIP-4361) message for the node's chain with
the account (--keystore, --account, --password as for propose and vote),
exchanges it with coco_login and prints the token and a MetaMask-ready RPC
URL that carries it. Present the token as "Authorization: Bearer <token>"
or as ?session=<token>; commands that talk to a node take --session.`,
	Flags: []cli.Flag{rpcFlag, dataDirFlag, keystoreDir, accountFlag, passwordFlag, ttlFlag, jsonFlag},
	Action: func(ctx *cli.Context) error {
		endpoint := ctx.String(rpcFlag.Name)
		if !isURL(endpoint) {
			return fmt.Errorf("--rpc %q: a session is for an http(s):// or ws(s):// endpoint", endpoint)
		}
		ks, acc, err := unlockAccount(ctx)
		if err != nil {
			return err
		}
		c, err := dialNode(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		res, err := signIn(ctx.Context, c, ks, acc, endpoint, ctx.Duration(ttlFlag.Name))
		if err != nil {
			return err
		}
		sep := "?"
		if strings.Contains(endpoint, "?") {
			sep = "&"
		}
		if ctx.Bool(jsonFlag.Name) {
			fmt.Printf("{\"token\":%q,\"address\":%q,\"expires\":%d,\"url\":%q}\n", res.Token, res.Address.Hex(), res.Expires, endpoint+sep+"session="+res.Token)
			return nil
		}
		fmt.Printf("address  %s\nexpires  %s\ntoken    %s\nurl      %s%ssession=%s\n",
			res.Address.Hex(), time.Unix(int64(res.Expires), 0).UTC().Format(time.RFC3339), res.Token, endpoint, sep, res.Token)
		return nil
	},
}

// signIn opens a session at the node of c for acc (unlocked in ks):
// a Sign-In with Ethereum message for the node's chain, lasting ttl,
// exchanged with coco_login.
func signIn(ctx context.Context, c *rpc.Client, ks *keystore.KeyStore, acc accounts.Account, endpoint string, ttl time.Duration) (*confidential.LoginResult, error) {
	var chainID hexutil.Big
	if err := c.CallContext(ctx, &chainID, "eth_chainId"); err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
	}
	message := confidential.SignInMessage(endpoint, acc.Address, chainID.ToInt(), time.Now(), ttl)
	sig, err := ks.SignHash(acc, accounts.TextHash([]byte(message)))
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	var res confidential.LoginResult
	if err := callCoco(ctx, c, endpoint, &res, "coco_login", message, hexutil.Encode(sig)); err != nil {
		return nil, err
	}
	return &res, nil
}

// isURL reports whether endpoint is an http(s):// or ws(s):// URL (not
// IPC, which is local and takes no session).
func isURL(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "ws" || u.Scheme == "wss")
}
