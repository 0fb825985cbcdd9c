// Package governance is the network constitution of a cocogeth consortium
// and its change by member votes, served as a stateful precompiled contract
// at Address (0x…C0C0). It is pure Go over go-ethereum's vm.StateDB: the
// constitution and the proposals live in the storage of Address, so they
// are part of the state root, change only inside transactions, and follow
// every snapshot and revert of the EVM. Of cocogeth it imports only package
// recovery, to validate members' recovery keys.
//
// # Contract
//
//   - Genesis.Install writes the genesis constitution (version 1) into the
//     storage of Address; Load reads the whole constitution back; Version,
//     IsActor, IsMember, MaySend read one or two slots (for admission).
//   - The constitution changes only when a proposal passes. Every change
//     bumps Version by one and emits its events (below); no log of changes
//     is stored. The adapter re-reads the constitution after every block
//     whose Version moved and follows it (admitted nodes, Raft
//     membership). A reverted transaction leaves no change.
//   - Contract.Run serves calls to Address: ABI input and output (the ABI is
//     abi.json, compiled by solc from IGovernance.sol and embedded, so Go
//     and Solidity cannot drift), gas, logs through StateDB.AddLog, reverts
//     as Solidity Error(string) with vm.ErrExecutionReverted. Each call is
//     atomic: on any error the state and logs are as before it.
//   - Propose, Vote, Withdraw, Expire, GetProposal and OpenProposals are the
//     same operations for Go callers (no gas); they emit the same logs.
//   - The package owns the vocabulary of actions: ActionKind's Name is the
//     kebab-case name users and tools see ("add-member", "set-policy"),
//     ParseActionName its inverse, Method the ABI function that proposes
//     it, and ActionJSON the JSON form ({"action": …, "args": …}) the RPC
//     shows.
//
// # Model
//
// Members govern and transact; participants only transact. An actor has an
// id (1..64 printable ASCII characters, unique among members and
// participants) and 1..16 accounts; an account belongs to at most one
// actor. A member also has a public key or certificate (opaque, required)
// and may have a recovery public key: 32 bytes that recovery.ParsePublicKey
// accepts (an Ed25519 point of the prime-order subgroup), to which the
// member's shares of each epoch's ledger secret are encrypted. No two
// members have the same recovery key. It is given in the genesis, when the
// member is added, or by a set-recovery-key proposal, which also replaces
// or (with the zero key) removes it; zero on input means none.
// Constitution.RecoveryKeys lists the members' keys ordered by member id.
//
// The recovery threshold M (a setting, uint16) is how many of those keys
// recover an epoch's ledger secret; 0, the default, means a majority of
// the members with a recovery key. It is given in the genesis
// (settings.recoveryThreshold, at most the number of members with a
// recovery key) and changed only by a set-recovery-threshold proposal,
// refused when M is the value already stored or exceeds the members with a
// recovery key at the moment it is proposed or passes; set-settings leaves
// it as it is. Members or keys removed later may leave the stored M above
// their number: Constitution.RecoveryThreshold, the M in effect, is then
// that number (and n/2+1 for 0, 0 when no member has a key).
//
// Validating nodes have an id (the Raft server id), an owner (a member or a
// participant — the whitepaper lets both run VNs), a raft address host:port,
// a secp256k1 public key (stored as 65 uncompressed bytes) and a code
// identity (bytes32; zero means any identity of the code manifest, non-zero
// must be in the manifest). Ids, keys and raft addresses are unique.
//
// The code manifest is a set of bytes32 code identities; an empty manifest
// (possible only at genesis, for development) accepts any code, so its last
// entry cannot be removed. The TEE manifest is a non-empty set of "sgx" and
// "simulation". Settings: proposal lifetime in blocks (1..2^40), epoch
// length in blocks (≥ 1), open sending (any account may transact), the
// longest sign-in session, the recovery threshold (above).
//
// Voting policy among the n current members: unanimous (n approvals),
// m-of-n (M approvals, 1 ≤ M ≤ n), one-of-n (1 approval), majority
// (n/2+1 approvals). The constitution always has at least one member and a
// satisfiable policy: changes that would break this are refused.
//
// # Proposals
//
//   - Only members propose and vote, from any of their accounts; a member
//     casts one ballot per proposal whatever its number of accounts or
//     nodes, and a second ballot is refused. Participants and other
//     accounts are refused.
//   - Proposing counts as the proposer's approval. Ids are sequential from
//     1. A proposal made at block b expires at block b+lifetime (the first
//     block at which it no longer accepts ballots). A member may have at
//     most MaxOpenPerMember open proposals.
//   - A proposal is decided as soon as the policy in force decides it:
//     passed when its approvals reach the threshold, rejected when the
//     members who have not voted against can no longer reach it. Only
//     ballots of current members count. A change of voting policy is thus
//     decided under the policy in force before it.
//   - An action is checked when proposed (refused with a reason if it
//     cannot apply) and again when it passes: if it no longer applies (say
//     the member to remove has left meanwhile) the proposal ends Failed and
//     the constitution is unchanged.
//   - After every change of the constitution the other open proposals are
//     decided again (by increasing id, until none changes), since the
//     members or the policy they are judged by changed.
//   - The proposer may withdraw an open proposal.
//   - Expiry is lazy: views report an open proposal past its lifetime as
//     Expired; every write operation first stores the expiry of all such
//     proposals (emitting ProposalResolved), and expire() / Expire do only
//     that. A ballot on an expired proposal is refused.
//   - Removing a member removes the nodes it owns with it (NodeRemoved
//     events before MemberRemoved), withdraws its open proposals and
//     discards its ballots on the others, then re-decides them. The same
//     holds for the nodes of a removed participant. A removal that would
//     remove every validating node is refused, as is removing the last
//     node, the last member, or a member whose departure would make the
//     policy unsatisfiable (m-of-n with M = n).
//
// # Storage layout of Address
//
// Fixed slots: 0 version (uint64, 0 = no constitution), 1 policy (byte 31
// kind+1, bytes 16..23 M), 2 settings (bytes 0..7 lifetime, 8..15 epoch
// length, 16..23 session lifetime in seconds, 24..25 recovery threshold
// (uint16, 0 = majority; zero in constitutions written before it existed,
// which thus keep the majority), 26..30 zero, byte 31 open sending), 3
// next proposal id.
//
// Sets (enumerable, O(1) membership): slot 0x10 members, 0x11
// participants, 0x12 nodes, 0x13 code manifest, 0x14 TEE manifest
// (left-aligned ASCII), 0x15 open proposals (bytes 16..23 expiry, 24..31
// id). A set's slot holds its size, keccak256(slot)+i its i-th element,
// keccak256("coco.gov.index" ‖ slot ‖ element) the element's position+1.
//
// Hashed slots, H(tag ‖ key) = keccak256 of the concatenation:
//
//	account   H("coco.gov.account" ‖ address) = [0] kind (1 member, 2 participant), [1..31] actor key
//	actor key K = H("coco.gov.actorid" ‖ id) with byte 0 cleared
//	actor     blob at H("coco.gov.actor" ‖ K) = RLP(kind, id, accounts, publicKey, recoveryKey)
//	          (recoveryKey: 32 bytes, or empty for none and for participants)
//	node key  N = H("coco.gov.nodeid" ‖ id)
//	node      blob at H("coco.gov.node" ‖ N) = RLP(id, owner, raftAddr, publicKey, codeId)
//	node key index H("coco.gov.nodekey" ‖ keccak256(publicKey)) = N
//	recovery key index H("coco.gov.recovery" ‖ recoveryKey) = K of the member holding it (no slot for none)
//	open count H("coco.gov.openby" ‖ K) = open proposals of member K
//	proposal  blob at H("coco.gov.proposal" ‖ uint256 id) = RLP(record with action and ballots)
//
// A blob's slot holds its length in bytes, the following slots its bytes,
// 32 per slot. Removed entries are cleared to zero. IsActor and IsMember read
// the account slot only.
//
// # Gas
//
// GasBase (2,000) per call, plus GasRead (200) per slot read, per slot
// written GasWriteNew (20,000) zero → non-zero, GasWriteUpdate (5,000)
// changed or cleared, GasWriteSame (200) unchanged, plus per log 375 + 375
// per topic + 8 per data byte, as LOGn. Calldata is paid by the
// transaction's intrinsic gas. No refunds. Measured: a proposal 135k to
// 220k gas (add-node the most), a ballot about 22k, a deciding ballot 100k
// to 265k (it also writes the change: add-node the most), isMember 2.2k,
// members() about 5k.
//
// # Events
//
// ProposalCreated, ProposalVoted (also for the proposer's implicit
// approval), ProposalResolved (once per proposal: passed, rejected,
// expired, withdrawn or failed, with a reason); for each change, the
// change's own events (MemberAdded, NodeRemoved, RecoveryKeySet(id, key)
// with key zero for a removal, RecoveryThresholdSet(m) with m zero for a
// majority, …) then ConstitutionChanged(version, proposalId).
package governance
