// A governed network for the ethers suite: three validating nodes whose
// genesis holds a constitution (config.coco.constitution), as
// scripts/devnet.sh GOVERNED=1 writes it: members A, B, C (one account
// each, public development keys), participant D, nodes node1..node3 owned
// by A, B, C, voting policy 2-of-3, TEE manifest "simulation", open sending
// off. Chain id 1337; A, B, C and D are funded.
//
// Each node gets `cocogeth nodekey`, `cocogeth init` with the shared genesis
// and a start on free 127.0.0.1 ports (HTTP, WebSocket and Raft), serving
// eth,net,web3,txpool,raft,coco. Everything is killed and removed at the end
// (cleanup(), also on process exit).
import fs from 'node:fs';
import path from 'node:path';
import { ethers } from 'ethers';
import crypto from 'node:crypto';
import { REPO_ROOT, binaryPath } from './node.mjs';

/** The simulation TEE's code identity of an executable: its SHA-256. */
export const codeId = (file) => '0x' + crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
import { CocoCluster } from './cluster.mjs';

/** Address of the governance precompile. */
export const GOVERNANCE_ADDRESS = '0x000000000000000000000000000000000000C0C0';

/** The published ABI of the governance precompile (governance/abi.json). */
export function governanceAbi() {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'governance', 'abi.json'), 'utf8'));
}

/** Public development keys of the governed devnet (never for value). */
export const GOV_KEYS = {
  A: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  B: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  C: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3d71ba1bbfd98a9b',
  D: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
};

/** Account address of actor A, B, C or D. */
export const govAddress = (actor) => new ethers.Wallet(GOV_KEYS[actor]).address;

const BALANCE = '0x33b2e3c9fd0803ce8000000';
const OWNERS = ['A', 'B', 'C'];

/** The constitution genesis for the validators (one per node, in order). */
function governedGenesis(validators, policy) {
  const member = (id, publicKey) => ({ id, accounts: [govAddress(id)], publicKey });
  const constitution = {
    members: [member('A', '0x01'), member('B', '0x02'), member('C', '0x03')],
    participants: [{ id: 'D', accounts: [govAddress('D')] }],
    nodes: validators.map((v, i) => ({ ...v, owner: OWNERS[i] })),
    teeManifest: ['simulation'],
    // The nodes attest to their code: the simulation's code identity is
    // the SHA-256 of the binary they run.
    codeManifest: [codeId(binaryPath())],
    policy,
    settings: { proposalLifetime: 100000, epochLength: 100000, openSending: false },
  };
  const alloc = Object.fromEntries(Object.keys(GOV_KEYS).map((a) => [govAddress(a), { balance: BALANCE }]));
  return {
    config: { chainId: 1337, coco: { blockTime: '20ms', maxTxs: 2000, constitution } },
    gasLimit: '0x3b9aca00',
    baseFeePerGas: '0x3b9aca00',
    alloc,
  };
}

/**
 * Three governed validating nodes: a CocoCluster whose genesis holds the
 * constitution. nodes are its members; node i is owned by A, B, C.
 */
export class GovernedNetwork extends CocoCluster {
  constructor({ name = 'governed', policy = { kind: 'm-of-n', m: 2 }, extraArgs = [] } = {}) {
    // Only actors read a governed network: the suite reads as member A.
    super({ name, size: 3, extraArgs, genesis: (validators) => governedGenesis(validators, policy), signInAs: GOV_KEYS.A });
  }

  async start() {
    const leader = await super.start();
    this.members.forEach((m, i) => { m.owner = OWNERS[i]; });
    return leader;
  }

  get nodes() {
    return this.members;
  }

  /** A follower (the node the tests talk to). */
  follower() {
    return this.target('follower');
  }
}
