// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "eth/IRandom.sol";

/// A lottery drawn with enclave randomness (eth/IRandom.sol): players buy
/// tickets, and draw() picks the winner from the leader's random().
contract Lottery {
    IRandom constant RANDOM = IRandom(0x000000000000000000000000000000000000c0c1);

    address[] public players;
    address public winner;
    bytes32 public lastRandom;

    event Drawn(address winner, bytes32 random);

    function enter() external payable {
        require(msg.value > 0, "pay to play");
        players.push(msg.sender);
    }

    function draw() external returns (address) {
        require(players.length > 0, "no players");
        bytes32 r = RANDOM.random();
        lastRandom = r;
        winner = players[uint256(r) % players.length];
        delete players;
        payable(winner).transfer(address(this).balance);
        emit Drawn(winner, r);
        return winner;
    }

    function peek() external view returns (bytes32) {
        return RANDOM.random();
    }
}
