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
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ethers } from 'ethers';
import { CocoNode, freePorts, sleep, REPO_ROOT } from './node.mjs';

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

const APIS = 'eth,net,web3,txpool,raft,coco';
const LEADER_TIMEOUT_MS = 30000;
const BALANCE = '0x33b2e3c9fd0803ce8000000';

/** One validating node of a governed network. */
export class GovernedNode extends CocoNode {
  constructor({ name, id, owner, raftAddr, extraArgs = [] }) {
    super({ name, extraArgs });
    this.id = id;
    this.owner = owner;
    this.raftAddr = raftAddr;
  }

  args() {
    return [
      '--datadir', this.datadir,
      '--http', '--http.addr', '127.0.0.1', '--http.port', String(this.httpPort), '--http.api', APIS,
      '--ws', '--ws.addr', '127.0.0.1', '--ws.port', String(this.wsPort), '--ws.api', APIS,
      '--ipcdisable',
      ...this.extraArgs,
    ];
  }

  /** Runs a cocogeth subcommand and returns its stdout. */
  runCommand(...args) {
    return execFileSync(this.bin, args, { cwd: this.root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  }
}

/** Three governed validating nodes. */
export class GovernedNetwork {
  constructor({ name = 'governed', policy = { kind: 'm-of-n', m: 2 }, extraArgs = [] } = {}) {
    this.name = name;
    this.policy = policy;
    this.extraArgs = extraArgs;
    this.nodes = [];
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'cocogeth-governed-'));
    this.genesisPath = path.join(this.root, 'genesis.json');
    const root = this.root;
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }

  /** Writes keys, the constitution genesis and datadirs, starts every node and waits for a leader. */
  async start() {
    const ports = await freePorts(9); // all at once, so that they differ
    const owners = ['A', 'B', 'C'];
    for (let i = 0; i < 3; i++) {
      const n = new GovernedNode({
        name: `${this.name}-node${i + 1}`, id: `node${i + 1}`, owner: owners[i],
        raftAddr: `127.0.0.1:${ports[3 * i]}`, extraArgs: this.extraArgs,
      });
      [n.httpPort, n.wsPort] = [ports[3 * i + 1], ports[3 * i + 2]];
      this.nodes.push(n);
    }
    const nodes = this.nodes.map((n) => {
      const out = n.runCommand('nodekey', '--datadir', n.datadir).trim().split('\n');
      const publicKey = out[out.length - 1].trim();
      if (!publicKey.startsWith('0x04')) throw new Error(`cocogeth nodekey printed ${JSON.stringify(out)}`);
      return { id: n.id, owner: n.owner, raftAddr: n.raftAddr, publicKey };
    });
    const member = (id, publicKey) => ({ id, accounts: [govAddress(id)], publicKey });
    const constitution = {
      members: [member('A', '0x01'), member('B', '0x02'), member('C', '0x03')],
      participants: [{ id: 'D', accounts: [govAddress('D')] }],
      nodes,
      teeManifest: ['simulation'],
      policy: this.policy,
      settings: { proposalLifetime: 100000, epochLength: 100000, openSending: false },
    };
    const alloc = Object.fromEntries(Object.keys(GOV_KEYS).map((a) => [govAddress(a), { balance: BALANCE }]));
    const genesis = {
      config: { chainId: 1337, coco: { blockTime: '20ms', maxTxs: 2000, constitution } },
      gasLimit: '0x3b9aca00',
      baseFeePerGas: '0x3b9aca00',
      alloc,
    };
    fs.writeFileSync(this.genesisPath, JSON.stringify(genesis, null, 2));
    for (const n of this.nodes) n.runCommand('init', '--datadir', n.datadir, this.genesisPath);
    await Promise.all(this.nodes.map((n) => n.start()));
    return this.waitLeader();
  }

  /**
   * Polls raft_leader until a majority names the same running node and
   * that node orders blocks (coco_nodeInfo.leader). Returns it.
   */
  async waitLeader(timeoutMs = LEADER_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const votes = new Map();
      for (const n of this.nodes.filter((x) => x.proc)) {
        try {
          const l = await n.rpc('raft_leader');
          votes.set(l.id, (votes.get(l.id) || 0) + 1);
        } catch (e) {
          last = `${n.id}: ${e.message}`;
        }
      }
      for (const [id, v] of votes) {
        const leader = this.nodes.find((n) => n.id === id);
        if (v < 2 || !leader?.proc) continue;
        try {
          if ((await leader.rpc('coco_nodeInfo')).leader) return leader;
          last = `${id} is named leader but does not order blocks yet`;
        } catch (e) {
          last = `${id}: ${e.message}`;
        }
      }
      await sleep(25); // polling interval
    }
    throw new Error(`governed network ${this.name}: no leader within ${timeoutMs} ms (${last})`);
  }

  /** A follower (the node the tests talk to). */
  async follower() {
    const leader = await this.waitLeader();
    return this.nodes.find((n) => n !== leader && n.proc);
  }

  tails(lines = 40) {
    return this.nodes.map((n) => n.tail(lines)).join('\n');
  }

  keepLogs() {
    return this.nodes.map((n) => n.keepLog()).filter(Boolean);
  }

  async cleanup() {
    try {
      await Promise.all(this.nodes.map((n) => n.cleanup()));
    } finally {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }
}
