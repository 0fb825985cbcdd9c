// Package testcontracts embeds the compiled Solidity test contracts used by
// cocogeth's Go and JavaScript end-to-end tests.
//
// The sources live in test/contracts/*.sol. They are compiled with solcjs
// (optimizer on, evmVersion "prague") by `cd test/js && npm ci && npm run
// compile`, which writes one JSON artifact per contract into
// internal/testcontracts/artifacts/<Name>.json with the fields contractName,
// abi, bytecode and deployedBytecode (0x-prefixed hex). The artifacts are
// committed so that Go tests need no Solidity toolchain.
//
// Available contracts: TestToken (OpenZeppelin ERC20, constructor(name,
// symbol, initialSupply) minting to the deployer), Events (indexed and
// non-indexed events, storage, reason-string / custom-error / panic reverts,
// payable deposit, multi-value view), BlockInfo (block context reads),
// Factory and Child (CREATE / CREATE2 deployments).
package testcontracts
