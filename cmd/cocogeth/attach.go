package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ethereum/go-ethereum/console"
	"github.com/urfave/cli/v2"
)

var (
	execFlag = &cli.StringFlag{Name: "exec", Usage: "Execute JavaScript statement"}
)

var attachCommand = &cli.Command{
	Name:      "attach",
	Usage:     "Start an interactive JavaScript console attached to a running node",
	ArgsUsage: "[endpoint]",
	Flags:     []cli.Flag{dataDirFlag, execFlag, sessionFlag},
	Description: `The console is go-ethereum's JavaScript console. The endpoint is an IPC
path, an http(s):// or ws(s):// URL; by default the IPC socket in --datadir.`,
	Action: func(ctx *cli.Context) error {
		script := ctx.String(execFlag.Name)
		session := ctx.String(sessionFlag.Name)
		// Flags after the endpoint are not parsed by the CLI library; accept
		// --exec and --session there too, as users type them.
		tail := ctx.Args().Tail()
		for len(tail) > 0 {
			switch a := tail[0]; {
			case (a == "--exec" || a == "-exec") && len(tail) > 1:
				script, tail = tail[1], tail[2:]
			case strings.HasPrefix(a, "--exec=") || strings.HasPrefix(a, "-exec="):
				script, tail = a[strings.Index(a, "=")+1:], tail[1:]
			case (a == "--session" || a == "-session") && len(tail) > 1:
				session, tail = tail[1], tail[2:]
			case strings.HasPrefix(a, "--session=") || strings.HasPrefix(a, "-session="):
				session, tail = a[strings.Index(a, "=")+1:], tail[1:]
			default:
				return fmt.Errorf("unexpected argument %q after the endpoint", a)
			}
		}
		endpoint := ctx.Args().First()
		if endpoint == "" {
			endpoint = filepath.Join(ctx.String(dataDirFlag.Name), clientName+".ipc")
		}
		client, err := dialWithSession(ctx.Context, endpoint, session)
		if err != nil {
			return fmt.Errorf("unable to attach to %s: %v", endpoint, err)
		}
		defer client.Close()
		cfg := console.Config{
			DataDir: os.TempDir(),
			DocRoot: ".",
			Client:  client,
		}
		preload, err := writeConsolePreload()
		if err != nil {
			return err
		}
		defer os.Remove(preload)
		cfg.Preload = []string{preload}
		if dir := ctx.String(dataDirFlag.Name); dir != "" && !strings.Contains(endpoint, "://") {
			cfg.DataDir = dir
		}
		c, err := console.New(cfg)
		if err != nil {
			return fmt.Errorf("failed to start the JavaScript console: %v", err)
		}
		defer c.Stop(false)
		if script != "" {
			c.Evaluate(script)
			return nil
		}
		c.Welcome()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		go func() { <-sig; c.Stop(false) }()
		c.Interactive()
		return nil
	},
}
