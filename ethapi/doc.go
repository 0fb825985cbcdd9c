// Package ethapi is the JSON-RPC layer of a cocogeth node: the eth_, net_,
// txpool_ and coco_ namespaces with go-ethereum's method names, arguments,
// errors and JSON shapes, over one narrow interface, Backend.
//
// Contracts:
//   - Everything a client reads or does goes through Backend (state at a
//     block, blocks, transactions, receipts, logs and filters through
//     go-ethereum's filter system, the pool, the node's role). The Ethereum
//     adapter (package eth, eth.RPCBackend) implements it; this package
//     never imports eth.
//   - Who a caller is and what it may see is the Gate's (package
//     confidential): every method that reveals a transaction, receipt,
//     log or storage of a contract asks it, with the request's context,
//     which carries the caller. A call that touches a confidential
//     contract runs as the proven caller (the zero address when
//     anonymous) and refuses overrides. Without a gate everything is
//     public and every request anonymous.
//   - Reads are of the committed chain only; "pending", "safe" and
//     "finalized" are the head (commits are final).
//   - Calls and estimates run on Backend.NewEVM, the node's EVM with its
//     stateful precompiles (governance) bound, never a bare go-ethereum EVM
//     where governance matters.
//   - With Config.LogResultLimit set, eth_getLogs and log filters answer
//     what geth answers but refuse (-32005) a query matching more than the
//     limit, in bounded memory (logs.go).
//   - Service is a node.Lifecycle; registered after the chain's, it stops
//     first and leaves no goroutine of its own.
package ethapi
