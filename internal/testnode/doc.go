// Package testnode starts real cocogeth processes for end-to-end tests.
//
// Build compiles ./cmd/cocogeth once per test binary (or uses the binary
// named by the COCOGETH_BIN environment variable). Start runs a node on free
// 127.0.0.1 ports with a fresh data directory, waits until it answers
// eth_chainId and stops it when the test ends. The node's output is kept in
// a file and its tail is printed when the test fails.
//
// A test package that uses Build should remove the build directory when it
// is done:
//
//	func TestMain(m *testing.M) { os.Exit(testnode.Main(m)) }
//
// Wallet is a small helper around the funded development key: it signs and
// sends transactions, polls for their receipts with a deadline and deploys
// the contracts of package testcontracts.
package testnode
