package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
	"github.com/urfave/cli/v2"
)

// controlAPI is admin_shutdown, served on the node's IPC socket only (the
// operator's; never on HTTP or WebSocket, whatever --http.api says): a
// clean stop for nodes that get no OS signals, as in an SGX enclave.
type controlAPI struct {
	stop chan struct{}
	once sync.Once
}

func newControlAPI() *controlAPI { return &controlAPI{stop: make(chan struct{})} }

// Shutdown stops the node cleanly, as SIGTERM does; it answers before the
// node closes.
func (c *controlAPI) Shutdown() bool {
	c.once.Do(func() { close(c.stop) })
	return true
}

var stopTimeoutFlag = &cli.DurationFlag{Name: "timeout", Usage: "How long to wait for the node to close", Value: time.Minute}

var stopCommand = &cli.Command{
	Name:      "stop",
	Usage:     "Stop a running node cleanly through its IPC socket (no OS signal needed)",
	ArgsUsage: "[ipc path]",
	Description: `Calls admin_shutdown on the node's IPC socket (default: cocogeth.ipc in
--datadir) and waits until the node has closed. Nodes in an SGX enclave get
no OS signals: this is how operators stop them.`,
	Flags: []cli.Flag{dataDirFlag, stopTimeoutFlag},
	Action: func(ctx *cli.Context) error {
		endpoint := ctx.Args().First()
		if endpoint == "" {
			endpoint = filepath.Join(ctx.String(dataDirFlag.Name), clientName+".ipc")
		}
		if _, err := os.Stat(endpoint); err != nil {
			return fmt.Errorf("no node IPC socket at %s: %v", endpoint, err)
		}
		c, err := rpc.DialContext(ctx.Context, endpoint)
		if err != nil {
			return fmt.Errorf("cannot reach the node at %s: %v", endpoint, err)
		}
		defer c.Close()
		var ok bool
		if err := c.CallContext(ctx.Context, &ok, "admin_shutdown"); err != nil {
			return fmt.Errorf("admin_shutdown at %s: %v", endpoint, err)
		}
		// The node removes its IPC socket when it has closed.
		deadline := time.Now().Add(ctx.Duration(stopTimeoutFlag.Name))
		for time.Now().Before(deadline) {
			if _, err := os.Stat(endpoint); errors.Is(err, os.ErrNotExist) {
				fmt.Println("Node stopped")
				return nil
			}
			select {
			case <-ctx.Context.Done():
				return ctx.Context.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		return fmt.Errorf("the node at %s did not close within %v", endpoint, ctx.Duration(stopTimeoutFlag.Name))
	},
}
