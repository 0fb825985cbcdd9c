// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title IGovernance: the network constitution of a cocogeth consortium.
/// @notice Served natively by every validating node at
///         0x000000000000000000000000000000000000C0C0 (package governance).
///         abi.json beside this file is this interface compiled by solc
///         (`node governance/abigen.mjs`); the node parses that JSON, so the
///         two cannot drift.
///
/// Rules, in short (governance/doc.go has them in full):
///  - Only members propose and vote, one ballot per member whatever the
///    number of its accounts or nodes. Proposing counts as the proposer's
///    "yes". A proposal is decided as soon as the voting policy in force
///    decides it, and expires `proposalLifetime` blocks after it was made.
///  - Failures revert with Error(string) and a readable reason.
///  - Functions that write refuse to run in a read-only call (STATICCALL).
interface IGovernance {
    enum PolicyKind { Unanimous, MOfN, OneOfN, Majority }
    enum ActionKind {
        AddMember, RemoveMember, AddParticipant, RemoveParticipant,
        AddNode, RemoveNode, SetPolicy, AddCode, RemoveCode,
        AddTEE, RemoveTEE, SetSettings, SetRecoveryKey, SetRecoveryThreshold
    }
    enum ProposalState { Open, Passed, Rejected, Expired, Withdrawn, Failed }
    enum ActorKind { None, Member, Participant }

    struct Member {
        string id;
        address[] accounts;
        bytes publicKey;   // public key or X.509 certificate (opaque)
        /// Recovery public key (32 bytes: an Ed25519 point, see package
        /// recovery) to which the member's shares of each epoch's ledger
        /// secret are encrypted; empty if the member has none.
        bytes recoveryKey;
    }

    struct Participant {
        string id;
        address[] accounts;
    }

    struct Node {
        string id;        // Raft server id
        string owner;     // id of the member or participant running it
        string raftAddr;  // host:port of the node-to-node endpoint
        bytes publicKey;  // secp256k1 node key, 65 bytes uncompressed
        bytes32 codeId;   // pinned code identity, zero = any in the manifest
    }

    struct Ballot {
        string member;
        bool approve;
        uint64 blockNumber;
    }

    struct Proposal {
        uint256 id;
        string proposer;
        ActionKind action;
        /// ABI encoding of the arguments of the propose function of
        /// `action` (without selector): decode with that function's inputs.
        bytes args;
        string description;
        uint64 createdAt;
        uint64 expiresAt; // first block at which it is expired
        ProposalState state;
        string reason;    // why it failed, was rejected, expired or withdrawn
        Ballot[] ballots;
    }

    // ---- proposal lifecycle -------------------------------------------

    event ProposalCreated(uint256 indexed id, string proposer, ActionKind action, string description);
    event ProposalVoted(uint256 indexed id, string member, bool approve);
    /// Emitted once per proposal when it leaves the Open state, whatever
    /// the way: passed, rejected, expired, withdrawn or failed.
    event ProposalResolved(uint256 indexed id, ProposalState state, string reason);

    // ---- constitution changes -----------------------------------------

    /// Emitted after the changes of one passed proposal are applied.
    event ConstitutionChanged(uint64 indexed version, uint256 indexed proposalId);
    event MemberAdded(string id);
    event MemberRemoved(string id);
    event ParticipantAdded(string id);
    event ParticipantRemoved(string id);
    event NodeAdded(string id, string owner, string raftAddr, bytes publicKey, bytes32 codeId);
    event NodeRemoved(string id, string owner, string raftAddr);
    event PolicyChanged(PolicyKind kind, uint64 m);
    event CodeAdded(bytes32 indexed codeId);
    event CodeRemoved(bytes32 indexed codeId);
    event TEEAdded(string kind);
    event TEERemoved(string kind);
    event SettingsChanged(uint64 proposalLifetime, uint64 epochLength, bool openSending, uint64 sessionLifetime);
    /// key is zero when the member's recovery key was removed.
    event RecoveryKeySet(string id, bytes32 key);
    /// m is 0 when the threshold was set to a majority.
    event RecoveryThresholdSet(uint16 m);

    // ---- proposals (members only; each returns the new proposal id) ---

    /// recoveryKey: empty (or 32 zero bytes) for none, else a valid
    /// recovery public key of 32 bytes no other member holds.
    function proposeAddMember(string calldata id, address[] calldata accounts, bytes calldata publicKey, bytes calldata recoveryKey) external returns (uint256);
    function proposeRemoveMember(string calldata id) external returns (uint256);
    function proposeAddParticipant(string calldata id, address[] calldata accounts) external returns (uint256);
    function proposeRemoveParticipant(string calldata id) external returns (uint256);
    function proposeAddNode(string calldata id, string calldata owner, string calldata raftAddr, bytes calldata publicKey, bytes32 codeId) external returns (uint256);
    function proposeRemoveNode(string calldata id) external returns (uint256);
    function proposeSetPolicy(PolicyKind kind, uint64 m) external returns (uint256);
    function proposeAddCode(bytes32 codeId) external returns (uint256);
    function proposeRemoveCode(bytes32 codeId) external returns (uint256);
    function proposeAddTEE(string calldata kind) external returns (uint256);
    function proposeRemoveTEE(string calldata kind) external returns (uint256);
    /// sessionLifetime: seconds a sign-in session may last (0: the default, 24 h).
    /// The recovery threshold is left as it is (proposeSetRecoveryThreshold sets it).
    function proposeSetSettings(uint64 proposalLifetime, uint64 epochLength, bool openSending, uint64 sessionLifetime) external returns (uint256);
    /// Sets or replaces the recovery public key of member memberId (a valid
    /// recovery key no other member holds); key zero removes it.
    function proposeSetRecoveryKey(string calldata memberId, bytes32 key) external returns (uint256);
    /// Sets the recovery threshold: how many of the members' recovery keys
    /// recover an epoch's ledger secret; 0 means a majority of the members
    /// with a recovery key. Refused if it is the current value, or more than
    /// the members with a recovery key (when proposed and when it passes).
    function proposeSetRecoveryThreshold(uint16 m) external returns (uint256);

    // ---- ballots ------------------------------------------------------

    /// One ballot per member and proposal; a second one reverts.
    function vote(uint256 id, bool approve) external;
    /// Only the proposing member, while the proposal is open.
    function withdraw(uint256 id) external;
    /// Marks every open proposal past its lifetime expired (anyone may
    /// call it); returns how many were.
    function expire() external returns (uint256 count);

    // ---- views ----------------------------------------------------------

    function members() external view returns (Member[] memory);
    function participants() external view returns (Participant[] memory);
    function nodes() external view returns (Node[] memory);
    function codeManifest() external view returns (bytes32[] memory);
    function teeManifest() external view returns (string[] memory);
    function policy() external view returns (PolicyKind kind, uint64 m);
    function settings() external view returns (uint64 proposalLifetime, uint64 epochLength, bool openSending, uint64 sessionLifetime);
    /// The stored recovery threshold, 0 for a majority of the members with a
    /// recovery key. In effect it is at most the number of those members
    /// (it may exceed it after members or their keys were removed).
    function recoveryThreshold() external view returns (uint16);
    function proposal(uint256 id) external view returns (Proposal memory);
    function openProposals() external view returns (Proposal[] memory);
    function isActor(address account) external view returns (bool);
    function isMember(address account) external view returns (bool);
    function actorOf(address account) external view returns (ActorKind kind, string memory id);
    /// Bumped by every change of the constitution (not by ballots).
    function version() external view returns (uint64);
}
