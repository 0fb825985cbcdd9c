// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Child
/// @notice Deployed by Factory.
contract Child {
    address public parent;
    uint256 public value;

    constructor(uint256 v) payable {
        parent = msg.sender;
        value = v;
    }
}

/// @title Factory
/// @notice Deploys Child contracts with CREATE and CREATE2.
contract Factory {
    event Created(address indexed child, uint256 value, bool salted);

    address[] public children;

    function create(uint256 v) external payable returns (address c) {
        c = address(new Child{value: msg.value}(v));
        children.push(c);
        emit Created(c, v, false);
    }

    function create2(uint256 v, bytes32 salt) external returns (address c) {
        c = address(new Child{salt: salt}(v));
        children.push(c);
        emit Created(c, v, true);
    }

    function predict(uint256 v, bytes32 salt) external view returns (address) {
        bytes32 h = keccak256(
            abi.encodePacked(bytes1(0xff), address(this), salt, keccak256(abi.encodePacked(type(Child).creationCode, abi.encode(v))))
        );
        return address(uint160(uint256(h)));
    }

    function count() external view returns (uint256) {
        return children.length;
    }
}
