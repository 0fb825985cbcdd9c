// Cluster mode of the suite: with COCO_CLUSTER=1, useNode() starts three
// validating nodes (Raft) instead of one --dev node and hands the tests one
// of them, the target: a follower (COCO_TARGET=follower, the default) or the
// leader (COCO_TARGET=leader). Tests that kill or restart "the node" do it
// on the target; the other two keep running.
//
// The cluster: one key per node (`cocogeth nodekey`), one genesis listing
// them as validators (chain id 1337, the dev account funded, gas limit 1e9,
// blockTime 20ms), `cocogeth init` and a start on free ports. Every node
// serves eth,net,web3,txpool,raft,coco over HTTP and WebSocket.
//
// This module is loaded lazily by lib/node.mjs (import cycle).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CocoNode, freePorts, sleep, DEV_ADDRESS } from './node.mjs';

export const CLUSTER_SIZE = 3;
const APIS = 'eth,net,web3,txpool,raft,coco';
const LEADER_TIMEOUT_MS = 30000;

/** Whether the suite runs against a cluster (COCO_CLUSTER=1). */
export function clusterMode() {
  return ['1', 'true', 'yes'].includes((process.env.COCO_CLUSTER || '').toLowerCase());
}

/** 'follower' (default) or 'leader', from COCO_TARGET. */
export function clusterTarget() {
  const t = (process.env.COCO_TARGET || 'follower').toLowerCase();
  if (t !== 'follower' && t !== 'leader') throw new Error(`COCO_TARGET=${t}: want follower or leader`);
  return t;
}

/** One validating node of a cluster: a CocoNode started without --dev. */
export class ClusterMember extends CocoNode {
  constructor({ name, cluster, index, raftAddr, extraArgs = [] }) {
    super({ name, extraArgs });
    this.cluster = cluster;
    this.index = index;
    this.id = `node${index + 1}`;
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

  /**
   * Starts the process. After a restart it also waits until the node has
   * caught up with the cluster: a restarted node answers at once but serves
   * reads from what it has applied, and the others may have gone on while it
   * was down (the README's coco_waitForBlock rule).
   */
  async start() {
    await super.start();
    if (this.starts > 1) await this.cluster.waitCaughtUp(this);
    return this;
  }

  /** Runs a cocogeth subcommand on this node's datadir and returns its stdout. */
  runCommand(...args) {
    return execFileSync(this.bin, args, { cwd: this.root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  }
}

/** Three cocogeth processes forming one Raft cluster. */
export class CocoCluster {
  /**
   * genesis, if given, renders the genesis object from the validators
   * ({ id, raftAddr, publicKey }, one per member) instead of listing them in
   * config.coco.validators (lib/governed.mjs writes a constitution).
   */
  constructor({ name = 'cluster', size = CLUSTER_SIZE, extraArgs = [], genesis = null, signInAs = null } = {}) {
    this.name = name;
    this.signInAs = signInAs;
    this.size = size;
    this.extraArgs = extraArgs;
    this.genesisOf = genesis;
    this.members = [];
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'cocogeth-cluster-'));
    this.genesisPath = path.join(this.root, 'genesis.json');
    const root = this.root;
    process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }

  /** Creates keys, genesis and data directories, starts every node and waits for a leader. */
  async start() {
    // All ports at once, so that they differ.
    const ports = await freePorts(3 * this.size);
    for (let i = 0; i < this.size; i++) {
      const m = new ClusterMember({
        name: `${this.name}-node${i + 1}`, cluster: this, index: i,
        raftAddr: `127.0.0.1:${ports[3 * i]}`, extraArgs: this.extraArgs,
      });
      [m.httpPort, m.wsPort] = [ports[3 * i + 1], ports[3 * i + 2]];
      m.signInAs = this.signInAs;
      this.members.push(m);
    }
    const validators = this.members.map((m) => {
      const out = m.runCommand('nodekey', '--datadir', m.datadir).trim().split('\n');
      const publicKey = out[out.length - 1].trim();
      if (!publicKey.startsWith('0x04')) throw new Error(`cocogeth nodekey printed ${JSON.stringify(out)}`);
      return { id: m.id, raftAddr: m.raftAddr, publicKey };
    });
    const genesis = this.genesisOf ? this.genesisOf(validators) : {
      config: { chainId: 1337, coco: { blockTime: '20ms', maxTxs: 2000, validators } },
      gasLimit: '0x3b9aca00',
      alloc: { [DEV_ADDRESS]: { balance: '0x33b2e3c9fd0803ce8000000' } },
    };
    fs.writeFileSync(this.genesisPath, JSON.stringify(genesis, null, 2));
    for (const m of this.members) m.runCommand('init', '--datadir', m.datadir, this.genesisPath);
    await Promise.all(this.members.map((m) => m.start()));
    return this.waitLeader();
  }

  /** Members whose process runs. */
  live() {
    return this.members.filter((m) => m.proc);
  }

  /**
   * Polls raft_leader on the running members until a majority of the cluster
   * names the same running member, and that member orders blocks
   * (coco_nodeInfo.leader). Returns it.
   */
  async waitLeader(timeoutMs = LEADER_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      const votes = new Map();
      for (const m of this.live()) {
        try {
          const l = await m.rpc('raft_leader');
          votes.set(l.id, (votes.get(l.id) || 0) + 1);
        } catch (e) {
          last = `${m.id}: ${e.message}`;
        }
      }
      for (const [id, n] of votes) {
        const leader = this.members.find((m) => m.id === id);
        if (n < Math.floor(this.size / 2) + 1 || !leader?.proc) continue;
        try {
          const info = await leader.rpc('coco_nodeInfo');
          if (info.leader) return leader;
          last = `${id} is named leader but does not order blocks yet`;
        } catch (e) {
          last = `${id}: ${e.message}`;
        }
      }
      await sleep(25); // polling interval
    }
    throw new Error(`cluster ${this.name}: no leader within ${timeoutMs} ms (${last})`);
  }

  /** Waits until `member` has applied the leader's current head. */
  async waitCaughtUp(member, timeoutMs = LEADER_TIMEOUT_MS) {
    const leader = await this.waitLeader(timeoutMs);
    const head = await leader.rpc('eth_blockNumber');
    await member.rpc('coco_waitForBlock', [head, `0x${timeoutMs.toString(16)}`]);
  }

  /** The member the tests talk to: a follower or the leader, per COCO_TARGET. */
  async target(kind = clusterTarget()) {
    const leader = await this.waitLeader();
    if (kind === 'leader') return leader;
    return this.members.find((m) => m !== leader && m.proc);
  }

  tails(lines = 40) {
    return this.members.map((m) => m.tail(lines)).join('\n');
  }

  keepLogs() {
    return this.members.map((m) => m.keepLog()).filter(Boolean);
  }

  async cleanup() {
    try {
      await Promise.all(this.members.map((m) => m.cleanup()));
    } finally {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  cleanupSync() {
    for (const m of this.members) m.cleanupSync();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
