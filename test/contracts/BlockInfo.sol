// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BlockInfo
/// @notice Reads block context values, both in calls and recorded by transactions.
contract BlockInfo {
    event Recorded(uint256 indexed number, uint256 timestamp, uint256 basefee, uint256 chainid);

    uint256 public recordedNumber;
    uint256 public recordedTimestamp;

    function info()
        external
        view
        returns (
            uint256 number,
            uint256 timestamp,
            uint256 basefee,
            uint256 chainid,
            address coinbase,
            uint256 gaslimit,
            uint256 prevrandao
        )
    {
        return (block.number, block.timestamp, block.basefee, block.chainid, block.coinbase, block.gaslimit, block.prevrandao);
    }

    function blockHashOf(uint256 n) external view returns (bytes32) {
        return blockhash(n);
    }

    function balanceOf(address a) external view returns (uint256) {
        return a.balance;
    }

    function record() external {
        recordedNumber = block.number;
        recordedTimestamp = block.timestamp;
        emit Recorded(block.number, block.timestamp, block.basefee, block.chainid);
    }
}
