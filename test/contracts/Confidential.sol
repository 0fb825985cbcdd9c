// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "confidential/ICocoConfidential.sol";

/// Shipments: each shipment is seen by its sender and its recipient only.
/// A confidential contract for the tests of confidential reads.
contract Shipments is ICocoConfidential {
    struct Shipment { address from; address to; string goods; }
    mapping(uint256 => Shipment) private shipments;
    uint256 public count;
    uint256 private secretTotal = 4242;

    event Shipped(uint256 indexed id, address indexed from, address indexed to, string goods);

    function ship(address to, string calldata goods) external returns (uint256 id) {
        id = ++count;
        shipments[id] = Shipment(msg.sender, to, goods);
        emit Shipped(id, msg.sender, to, goods);
    }

    /// The goods of a shipment, for its two parties only.
    function goods(uint256 id) external view returns (string memory) {
        Shipment storage s = shipments[id];
        require(msg.sender == s.from || msg.sender == s.to, "not a party");
        return s.goods;
    }

    function whoAmI() external view returns (address) { return msg.sender; }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == type(ICocoConfidential).interfaceId || id == 0x01ffc9a7;
    }

    function canReadLog(address reader, bytes32[] calldata topics, bytes calldata) external pure returns (bool) {
        return topics.length == 4 && (reader == address(uint160(uint256(topics[2]))) || reader == address(uint160(uint256(topics[3]))));
    }

    function canReadTx(address reader, address sender, bytes calldata input) external pure returns (bool) {
        if (reader == sender) return true;
        if (input.length < 4 + 32 || bytes4(input[:4]) != this.ship.selector) return false;
        return reader == abi.decode(input[4:36], (address));
    }
}

/// A confidential contract whose hooks misbehave: canReadLog loops forever,
/// canReadTx reverts, and the readable flag returns garbage.
contract Hostile is ICocoConfidential {
    event Ping(address indexed who);

    function ping() external { emit Ping(msg.sender); }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == type(ICocoConfidential).interfaceId || id == 0x01ffc9a7;
    }

    function canReadLog(address, bytes32[] calldata, bytes calldata) external pure returns (bool) {
        uint256 i;
        while (true) { i++; }
        return i == 0;
    }

    function canReadTx(address, address, bytes calldata) external pure returns (bool) {
        revert("no");
    }
}

/// A public contract that reads a confidential one: calls through it still
/// run as the proven caller at the top.
contract Relay {
    function whoDoesItSee(address target) external view returns (address) {
        return Shipments(target).whoAmI();
    }
}

/// A confidential contract whose hooks answer garbage: not an ABI-encoded
/// true, so "no".
contract Garbage is ICocoConfidential {
    event Ping(address indexed who);

    function ping() external { emit Ping(msg.sender); }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == type(ICocoConfidential).interfaceId || id == 0x01ffc9a7;
    }

    function canReadLog(address, bytes32[] calldata, bytes calldata) external pure returns (bool) {
        assembly { mstore(0, 2) return(0, 32) }
    }

    function canReadTx(address, address, bytes calldata) external pure returns (bool) {
        assembly { mstore(0, 0x0101) return(0, 64) }
    }
}
