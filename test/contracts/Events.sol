// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Events
/// @notice Exercises logs, storage, every kind of revert, payable calls and multi-value views.
contract Events {
    error CustomError(address who, uint256 code, string why);
    error Unauthorized();

    event ValueSet(address indexed setter, uint256 indexed key, uint256 value, string note);
    event Deposit(address indexed from, uint256 amount);
    event Anon(uint256 a, bytes32 b) anonymous;
    event Ping(uint256 indexed n);

    mapping(uint256 => uint256) public values;
    uint256 public lastValue;
    uint256 public counter;
    address public owner;

    constructor() {
        owner = msg.sender;
    }

    function set(uint256 key, uint256 value) external {
        values[key] = value;
        lastValue = value;
        counter += 1;
        emit ValueSet(msg.sender, key, value, "set");
    }

    function get(uint256 key) external view returns (uint256) {
        return values[key];
    }

    /// Emits `n` Ping events plus one anonymous event.
    function emitMany(uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit Ping(i);
        }
        emit Anon(n, keccak256(abi.encodePacked(n)));
    }

    function deposit() external payable {
        emit Deposit(msg.sender, msg.value);
    }

    function revertWithReason() external pure {
        require(false, "Events: reason string");
    }

    function revertWithReasonTx(uint256 x) external {
        counter += x;
        require(false, "Events: reason string");
    }

    function revertWithCustom(uint256 code) external view {
        revert CustomError(msg.sender, code, "custom");
    }

    function revertWithCustomTx(uint256 code) external {
        counter += 1;
        revert CustomError(msg.sender, code, "custom");
    }

    function revertEmpty() external pure {
        revert();
    }

    function onlyOwner() external view {
        if (msg.sender != owner) revert Unauthorized();
    }

    function panicAssert() external pure {
        assert(false);
    }

    function panicDivide(uint256 d) external pure returns (uint256) {
        return 100 / d;
    }

    function panicDivideTx(uint256 d) external returns (uint256) {
        counter += 1;
        return 100 / d;
    }

    function panicOverflow(uint256 x) external pure returns (uint256) {
        return type(uint256).max + x;
    }

    function multi() external view returns (uint256 a, bool b, string memory c, address d, bytes32 e) {
        return (lastValue, true, "hello", msg.sender, keccak256("multi"));
    }

    /// Burns roughly `iterations` loop rounds of gas, for gas estimation tests.
    function burn(uint256 iterations) external returns (uint256 acc) {
        for (uint256 i = 0; i < iterations; i++) {
            acc += i;
        }
        counter += 1;
    }

    receive() external payable {
        emit Deposit(msg.sender, msg.value);
    }
}
