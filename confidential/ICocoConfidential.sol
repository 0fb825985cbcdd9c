// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// A contract that answers ERC-165 supportsInterface(type(ICocoConfidential).interfaceId)
/// is confidential on cocogeth: its storage is not readable over JSON-RPC, calls to it
/// run as the proven caller (the zero address for an anonymous one), and its logs,
/// and the transactions sent to it with their receipts, are shown only to the readers
/// these functions admit. The node calls them statically, with bounded gas, at the
/// block of the data; a revert, an error or anything but true means "no".
interface ICocoConfidential {
    /// May `reader` see this log of the contract? topics and data are the log's own.
    function canReadLog(address reader, bytes32[] calldata topics, bytes calldata data) external view returns (bool);

    /// May `reader` see a transaction sent to the contract by `sender` with this input
    /// (and its receipt)? Its sender always may.
    function canReadTx(address reader, address sender, bytes calldata input) external view returns (bool);
}
