// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "../ICocoConfidential.sol";

/// A confidential supply chain: a manufacturer registers a shipment for a
/// carrier and a retailer; the carrier picks it up and delivers it; the
/// retailer confirms. Each shipment, its events and the transactions about
/// it are seen by its three parties only.
contract SupplyChain is ICocoConfidential {
    enum Status { Created, PickedUp, Delivered, Received }

    struct Shipment {
        address manufacturer;
        address carrier;
        address retailer;
        string goods;
        Status status;
    }

    mapping(uint256 => Shipment) private shipments;
    uint256 private count;

    event Created(uint256 indexed id, address indexed carrier, address indexed retailer, string goods);
    event StatusChanged(uint256 indexed id, Status status);

    function create(address carrier, address retailer, string calldata goods) external returns (uint256 id) {
        id = ++count;
        shipments[id] = Shipment(msg.sender, carrier, retailer, goods, Status.Created);
        emit Created(id, carrier, retailer, goods);
    }

    function pickUp(uint256 id) external { advance(id, Status.Created, Status.PickedUp, shipments[id].carrier); }
    function deliver(uint256 id) external { advance(id, Status.PickedUp, Status.Delivered, shipments[id].carrier); }
    function confirm(uint256 id) external { advance(id, Status.Delivered, Status.Received, shipments[id].retailer); }

    function advance(uint256 id, Status from, Status to, address who) private {
        Shipment storage s = shipments[id];
        require(msg.sender == who, "not your step");
        require(s.status == from, "wrong status");
        s.status = to;
        emit StatusChanged(id, to);
    }

    /// A shipment, for its parties only.
    function shipment(uint256 id) external view returns (Shipment memory) {
        require(isParty(id, msg.sender), "not a party");
        return shipments[id];
    }

    function isParty(uint256 id, address who) public view returns (bool) {
        Shipment storage s = shipments[id];
        return who != address(0) && (who == s.manufacturer || who == s.carrier || who == s.retailer);
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == type(ICocoConfidential).interfaceId || id == 0x01ffc9a7;
    }

    /// Every event names its shipment first: its parties may read it.
    function canReadLog(address reader, bytes32[] calldata topics, bytes calldata) external view returns (bool) {
        return topics.length >= 2 && isParty(uint256(topics[1]), reader);
    }

    /// create names the carrier and retailer; the other steps the shipment.
    function canReadTx(address reader, address, bytes calldata input) external view returns (bool) {
        if (input.length < 4 + 64) return input.length >= 36 && isParty(abi.decode(input[4:36], (uint256)), reader);
        bytes4 sel = bytes4(input[:4]);
        if (sel == this.create.selector) {
            (address carrier, address retailer) = abi.decode(input[4:68], (address, address));
            return reader == carrier || reader == retailer;
        }
        return isParty(abi.decode(input[4:36], (uint256)), reader);
    }
}
