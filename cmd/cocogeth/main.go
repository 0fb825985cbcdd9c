// Command cocogeth runs a validating node of a Coco network and offers the
// tools around it: init, attach, dumpconfig, version.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"

	"github.com/urfave/cli/v2"
)

func newApp() *cli.App {
	app := &cli.App{
		Name:    clientName,
		Usage:   "the validating node of a confidential consortium Ethereum network",
		Version: versionString(),
		Flags:   nodeFlags,
		Action:  runNode,
		Commands: []*cli.Command{
			initCommand,
			nodeKeyCommand,
			attachCommand,
			dumpConfigCommand,
			versionCommand,
			accountCommand,
			constitutionCommand,
			proposalsCommand,
			proposeCommand,
			voteCommand,
			withdrawCommand,
			sessionCommand,
			stopCommand,
			verifyCommand,
			recoveryCommand,
		},
		Before: func(ctx *cli.Context) error {
			return setupLogging(ctx)
		},
		HideVersion:          false,
		EnableBashCompletion: false,
	}
	sort.Sort(cli.CommandsByName(app.Commands))
	return app
}

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "Fatal:", err)
		os.Exit(1)
	}
}

var versionCommand = &cli.Command{
	Name:  "version",
	Usage: "Print version numbers",
	Action: func(ctx *cli.Context) error {
		fmt.Println(clientName)
		fmt.Println("Version:", clientVersion)
		if rev := vcsRevision(); rev != "" {
			fmt.Println("Git Commit:", rev)
		}
		fmt.Println("Architecture:", runtime.GOARCH)
		fmt.Println("Go Version:", runtime.Version())
		fmt.Println("Operating System:", runtime.GOOS)
		fmt.Println("TEE:", "none (no enclave support in this build)")
		return nil
	},
}
