// Package eth is the Ethereum adapter of a cocogeth validating node:
// transaction admission and pool, block building, EVM execution, the chain
// store, the state machine and snapshots. The JSON-RPC methods live in
// package ethapi; RPCBackend (rpcbackend.go) is what they read of a
// Service, and the only way they reach it.
//
// The path of a transaction through this package:
//
//	eth_sendRawTransaction ─► TxPool.Add (geth's validation and messages)
//	     ─► builder: Take up to maxTxs, or what arrived within blockTime
//	     ─► Chain.executeBlock: go-ethereum's EVM, once, on the leader;
//	        yields block, receipts and the state WriteSet (trie nodes, codes)
//	     ─► cocobackend.Ledger.Propose(entry) ─► fsm.Apply on every node
//	     ─► Chain.commitBlock: block, receipts, indexes, write set and the
//	        ledger index in one synced goleveldb batch; then head, pool and
//	        subscriptions move.
//
// Contracts:
//   - Nothing reaches the chain except through the ledger: the builder
//     proposes, the FSM applies. A block is applied once, in ledger order;
//     the applied index is stored in the block's batch, so after a crash the
//     chain is exactly at an entry boundary.
//   - A node that did not build a block applies its write set without
//     running the EVM or hashing the trie; it checks the transaction and
//     receipt roots and that the root trie node hashes to the header's state
//     root, and stops with ErrDivergence on any mismatch.
//   - The flat state (flat.go) is a cache of the trie for recent states,
//     never the state of record: a read it cannot answer goes to the
//     trie, and it is regenerated from the trie whenever it loses track.
//     Followers feed it from the entry's flat change.
//   - Pruning (prune.go, unless Config.GCMode is archive) deletes only
//     trie nodes that neither the last KeepStates states nor any node
//     written since its round began reach; the RPC answers a pruned
//     block's state with go-ethereum's missing trie node error.
//   - Committed blocks are final: "safe", "finalized" and "pending" resolve
//     to the head; there are no reorgs and no removed logs.
//   - Block timestamps are seconds and strictly increasing: when blocks come
//     faster than one per second the timestamp runs ahead of the wall clock
//     and catches up when load drops.
//   - Blocks are built only for transactions, plus one trailing empty block
//     3 s after a burst (builder.go says why: ethers' tx.wait()).
//   - The ledger is asked for capabilities by name (cocobackend.Forwarding,
//     Admission, Membership, DurableLog, LeadershipNotifier, Accepting); a
//     single node has none of the cluster ones. forward.go owns forwarding
//     to the leader and the trust in a forwarded sender (only from an
//     authenticated node the network lists); membership.go makes the
//     admitted nodes, that trust and the Raft configuration follow the
//     genesis or the constitution.
//   - Stateful precompiles (governance) are bound into every EVM through a
//     registry (precompiles.go) that chains, never replaces, a caller's
//     tracer.
//   - Key epochs (epoch.go): with Config.Storage.Keys set, the leader
//     registers the network's first ledger secret and starts a new epoch
//     when the epoch length passed or the actors changed, by an epoch
//     entry that carries the fresh secret (between attested nodes only)
//     and its M-of-N recovery record (package recovery, for the members'
//     recovery keys). Applying it seals the secret into the keyring before
//     the entry counts as applied; an entry for an epoch already passed is
//     skipped by every node alike. The epoch state and the records are in
//     the chain database and snapshots; the secrets travel in snapshots
//     after the chain and never enter the database.
//   - Service.Stop stops every goroutine Start started.
package eth
