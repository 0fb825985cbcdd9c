// Package e2e holds end-to-end tests that run real cocogeth processes
// started by internal/testnode: JSON-RPC behaviour checked with
// go-ethereum's clients (ethclient, rpc, abi), the command line (init,
// version, dumpconfig, attach, flags, metrics) and crash recovery (kill -9
// under load, clean SIGTERM/SIGINT restarts, state across restarts).
//
// Run them with
//
//	go test ./e2e
//
// The node binary is built once per run from ./cmd/cocogeth, or taken from
// the COCOGETH_BIN environment variable. The whole package takes well under
// a minute on two cores. Go's -v flag shows each admission error and
// revert message the node returned.
package e2e
