// Package e2e holds end-to-end tests that run real cocogeth processes
// started by internal/testnode: JSON-RPC behaviour checked with
// go-ethereum's clients (ethclient, rpc, abi), the command line (init,
// version, dumpconfig, attach, flags, metrics) and crash recovery (kill -9
// under load, clean SIGTERM/SIGINT restarts, state across restarts); Raft
// clusters behind fault-injecting proxies (cluster_*_test.go: leader killed
// under load, snapshot catch-up after 10,000+ blocks, partitions); and
// governance on a 3-member cluster (governance_*_test.go) through
// ethclient with the published ABI and through the CLI and console.
//
// Run them with
//
//	go test ./e2e
//
// The node binary is built once per run from ./cmd/cocogeth, or taken from
// the COCOGETH_BIN environment variable. The single-node tests take under
// a minute on two cores, the cluster and governance tests about two more;
// -short skips the cluster and governance tests. Go's -v flag shows each admission error and
// revert message the node returned.
package e2e
