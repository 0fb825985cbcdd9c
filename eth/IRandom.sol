// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Enclave randomness on cocogeth, at 0x000000000000000000000000000000000000c0c1
/// (IRandom(0x000000000000000000000000000000000000c0c1) in Solidity).
///
/// random() returns 32 bytes drawn inside the TEE of the node that executes
/// the transaction: the Raft leader, the only node that runs a block's
/// transactions (the others take its results). No one can compute it from
/// the chain beforehand, and it is not replayed: the block's state carries
/// whatever the leader drew. In eth_call it is the answering node's and
/// differs on every call. On a node running the simulation TEE it is the
/// host's randomness, as insecure as the label says.
interface IRandom {
    function random() external view returns (bytes32);
}
