// Package genesis reads genesis files: go-ethereum's format (config.chainId,
// alloc, gasLimit, baseFeePerGas, …) plus one config.coco object with
// cocogeth's settings (block time, transactions per block, base fee policy).
//
// Contract: Parse accepts any geth genesis whose block-numbered forks are at
// block 0; forks it leaves unset are activated at genesis through Osaka, and
// forks go-ethereum has not released to mainnet are refused. Dev returns the
// embedded genesis of `cocogeth --dev`. A parsed Spec keeps the raw file so
// the node can store it beside the chain and re-read its settings at start.
package genesis
