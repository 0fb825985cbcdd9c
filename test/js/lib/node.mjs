// Helpers to run a real cocogeth process for the end-to-end tests.
//
// Every test file starts its own node on a fresh temporary datadir with free
// ports, and always kills it and removes the directory at the end (also when
// a test fails or the runner is interrupted). The node's stdout/stderr go to a
// log file; when a test fails its tail is printed and the whole log is copied
// to $COCOGETH_E2E_LOGDIR (default: <os tmp>/cocogeth-e2e-logs).
//
// Environment:
//   COCOGETH_BIN          path of the cocogeth binary (default ../../build/bin/cocogeth)
//   COCOGETH_EXTRA_ARGS   extra command line arguments, split on whitespace
//   COCOGETH_E2E_LOGDIR   where logs of failed files are kept
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after, test as nodeTest } from 'node:test';
import { ethers } from 'ethers';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..', '..');

export const CHAIN_ID = 1337n;
export const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

const READY_TIMEOUT_MS = Number(process.env.COCOGETH_READY_TIMEOUT_MS || 30000);

/** Returns the cocogeth binary path. */
export function binaryPath() {
  const bin = process.env.COCOGETH_BIN || path.join(REPO_ROOT, 'build', 'bin', 'cocogeth');
  if (!fs.existsSync(bin)) {
    throw new Error(`cocogeth binary not found at ${bin}: run 'make build' or set COCOGETH_BIN`);
  }
  return path.resolve(bin);
}

/** Picks `n` distinct free TCP ports on 127.0.0.1 (bind to :0, then close). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const liveNodes = new Set();
let anyFailure = false;

function cleanupAllSync() {
  for (const n of liveNodes) n.cleanupSync();
}
process.once('exit', cleanupAllSync);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    cleanupAllSync();
    process.exit(130);
  });
}

/** A cocogeth process plus its temporary datadir. */
export class CocoNode {
  constructor({ name = 'node', extraArgs = [] } = {}) {
    this.name = name;
    this.bin = binaryPath();
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'cocogeth-e2e-'));
    this.datadir = path.join(this.root, 'data');
    this.logFile = path.join(this.root, 'node.log');
    const envArgs = (process.env.COCOGETH_EXTRA_ARGS || '').split(/\s+/).filter(Boolean);
    this.extraArgs = [...extraArgs, ...envArgs];
    this.proc = null;
    this.exitInfo = null;
    this.starts = 0;
    this.providers = [];
    liveNodes.add(this);
  }

  get httpUrl() {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  args() {
    return [
      '--dev',
      '--datadir', this.datadir,
      '--http.port', String(this.httpPort),
      '--ws.port', String(this.wsPort),
      ...this.extraArgs,
    ];
  }

  /** Starts the process (ports are picked on first start and kept). */
  async start() {
    if (this.proc) throw new Error('node already running');
    if (!this.httpPort) [this.httpPort, this.wsPort] = await freePorts(2);
    this.starts++;
    fs.appendFileSync(this.logFile, `\n===== start #${this.starts}: ${this.bin} ${this.args().join(' ')}\n`);
    const fd = fs.openSync(this.logFile, 'a');
    try {
      this.proc = spawn(this.bin, this.args(), { stdio: ['ignore', fd, fd], cwd: this.root });
    } finally {
      fs.closeSync(fd);
    }
    this.exitInfo = null;
    const proc = this.proc;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        if (this.proc === proc) this.proc = null;
        resolve(this.exitInfo);
      });
      proc.once('error', (err) => {
        this.exitInfo = { code: null, signal: null, error: err };
        if (this.proc === proc) this.proc = null;
        resolve(this.exitInfo);
      });
    });
    await this.waitReady();
    if (this.signInAs && !this.session) await this.signIn(this.signInAs);
    return this;
  }

  /**
   * Signs in as the account of `privateKey` (coco_login is open to anyone):
   * from then on rpc, post and the providers present the session. A
   * governed network shows its data only to its actors.
   */
  async signIn(privateKey) {
    const wallet = new ethers.Wallet(privateKey);
    const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const now = new Date();
    const message = `127.0.0.1 wants you to sign in with your Ethereum account:\n${wallet.address}\n\n` +
      `Sign in to cocogeth\n\nURI: ${this.httpUrl}\nVersion: 1\nChain ID: ${CHAIN_ID}\n` +
      `Nonce: ${ethers.hexlify(ethers.randomBytes(8)).slice(2)}\nIssued At: ${iso(now)}\n` +
      `Expiration Time: ${iso(new Date(now.getTime() + 23 * 3600_000))}`;
    const { token } = await this.rpc('coco_login', [message, await wallet.signMessage(message)]);
    this.session = token;
    return token;
  }

  /** Polls eth_chainId until it answers, the process dies or the deadline passes. */
  async waitReady(timeoutMs = READY_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let lastErr = null;
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw new Error(`cocogeth exited during startup (${JSON.stringify(this.exitInfo)})\n${this.tail()}`);
      }
      try {
        const res = await fetch(this.httpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
          signal: AbortSignal.timeout(1000),
        });
        const body = await res.json();
        if (body.result) return;
        lastErr = new Error(`eth_chainId answered ${JSON.stringify(body)}`);
      } catch (e) {
        lastErr = e;
      }
      await sleep(50);
    }
    throw new Error(`cocogeth not ready after ${timeoutMs} ms (last error: ${lastErr?.message})\n${this.tail()}`);
  }

  /** Sends a signal (default SIGKILL) and waits for the process to exit. */
  async kill(signal = 'SIGKILL') {
    this.destroyProviders();
    const proc = this.proc;
    if (!proc) return this.exitInfo;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Graceful stop: SIGTERM, then SIGKILL after 15 s. */
  async stop() {
    return this.kill('SIGTERM');
  }

  /** Kills the process with `signal` and starts it again on the same datadir and ports. */
  async restart(signal = 'SIGKILL') {
    await this.kill(signal);
    await this.start();
    return this;
  }

  /** Last `lines` lines of the log file. */
  tail(lines = 60) {
    try {
      const text = fs.readFileSync(this.logFile, 'utf8');
      const all = text.split('\n');
      return `----- ${this.name}: last ${lines} lines of ${this.logFile}\n${all.slice(-lines).join('\n')}\n-----`;
    } catch (e) {
      return `(no log: ${e.message})`;
    }
  }

  /** Keeps a copy of the log outside the tmp dir (called when a test failed). */
  keepLog() {
    try {
      const dir = process.env.COCOGETH_E2E_LOGDIR || path.join(os.tmpdir(), 'cocogeth-e2e-logs');
      fs.mkdirSync(dir, { recursive: true });
      const dst = path.join(dir, `${this.name}-${Date.now()}-${process.pid}.log`);
      fs.copyFileSync(this.logFile, dst);
      return dst;
    } catch {
      return null;
    }
  }

  /** An ethers JsonRpcProvider with fast polling and no caching. */
  provider(opts = {}) {
    let url = this.httpUrl;
    if (this.session) {
      url = new ethers.FetchRequest(this.httpUrl);
      url.setHeader('Authorization', `Bearer ${this.session}`);
    }
    const p = new ethers.JsonRpcProvider(url, Number(CHAIN_ID), {
      staticNetwork: true,
      pollingInterval: 50,
      cacheTimeout: -1,
      ...opts,
    });
    this.providers.push(p);
    return p;
  }

  /** An ethers WebSocketProvider. Destroy it (or let cleanup do it). */
  wsProvider() {
    const ws = this.session
      ? () => new WebSocket(this.wsUrl, { headers: { Authorization: `Bearer ${this.session}` } })
      : this.wsUrl;
    const p = new ethers.WebSocketProvider(ws, Number(CHAIN_ID), { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
    this.providers.push(p);
    return p;
  }

  destroyProviders() {
    for (const p of this.providers.splice(0)) {
      try {
        p.destroy();
      } catch {
        // ignore
      }
    }
  }

  /** Raw JSON-RPC POST. `body` is an object/array (JSON encoded) or a string sent verbatim. */
  async post(body, { contentType = 'application/json' } = {}) {
    const res = await fetch(this.httpUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(this.session ? { Authorization: `Bearer ${this.session}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }

  /** Raw JSON-RPC call returning the whole response object ({result} or {error}). */
  async rpcRaw(method, params = []) {
    const { json, text, status } = await this.post({ jsonrpc: '2.0', id: 7, method, params });
    if (!json) throw new Error(`${method}: HTTP ${status}, non-JSON body: ${text.slice(0, 300)}`);
    return json;
  }

  /** Raw JSON-RPC call returning the result; throws an Error carrying .rpcError otherwise. */
  async rpc(method, params = []) {
    const resp = await this.rpcRaw(method, params);
    if (resp.error) {
      const e = new Error(`${method} failed: ${JSON.stringify(resp.error)}`);
      e.rpcError = resp.error;
      throw e;
    }
    return resp.result;
  }

  async cleanup() {
    liveNodes.delete(this);
    try {
      await this.kill('SIGKILL');
    } finally {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  cleanupSync() {
    liveNodes.delete(this);
    try {
      this.proc?.kill('SIGKILL');
    } catch {
      // ignore
    }
    try {
      fs.rmSync(this.root, { recursive: true, force: true });
    } catch {
      // ignore
    }
  }
}

/**
 * Registers before/after hooks that start one node for the whole test file and
 * always tear it down. Returns a holder whose `.node` is set once started.
 *
 * With COCO_CLUSTER=1 it starts a 3-node cluster instead (lib/cluster.mjs) and
 * `.node` is a follower, or the leader with COCO_TARGET=leader; `.cluster` is
 * the whole cluster.
 */
export function useNode(name, opts = {}) {
  const holder = { node: null, cluster: null };
  before(async () => {
    if (['1', 'true', 'yes'].includes((process.env.COCO_CLUSTER || '').toLowerCase())) {
      const { CocoCluster } = await import('./cluster.mjs');
      holder.cluster = new CocoCluster({ name, extraArgs: opts.extraArgs });
      try {
        await holder.cluster.start();
        holder.node = await holder.cluster.target();
      } catch (e) {
        anyFailure = true;
        for (const kept of holder.cluster.keepLogs()) console.error(`[${name}] node log kept at ${kept}`);
        throw e;
      }
      return;
    }
    holder.node = new CocoNode({ name, ...opts });
    try {
      await holder.node.start();
    } catch (e) {
      anyFailure = true;
      const kept = holder.node.keepLog();
      if (kept) console.error(`[${name}] node log kept at ${kept}`);
      throw e;
    }
  });
  after(async () => {
    if (holder.cluster) {
      if (anyFailure) for (const kept of holder.cluster.keepLogs()) console.error(`[${name}] node log kept at ${kept}`);
      await holder.cluster.cleanup();
      return;
    }
    if (!holder.node) return;
    if (anyFailure) {
      const kept = holder.node.keepLog();
      if (kept) console.error(`[${name}] node log kept at ${kept}`);
    }
    await holder.node.cleanup();
  });
  return holder;
}

/**
 * Like node:test's `test`, but on failure prints the tail of every running
 * node's log (and remembers to keep the log file).
 */
export function test(name, optsOrFn, maybeFn) {
  const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
  const opts = typeof optsOrFn === 'function' ? {} : optsOrFn;
  return nodeTest(name, { timeout: 60000, ...opts }, async (t) => {
    try {
      return await fn(t);
    } catch (e) {
      anyFailure = true;
      for (const n of liveNodes) console.error(`[${name}] failed; ${n.tail(40)}`);
      throw e;
    }
  });
}

/** Digs the JSON-RPC error object ({code, message, data}) out of an ethers error. */
export function rpcErrorOf(e) {
  const seen = new Set();
  const visit = (x, depth) => {
    if (!x || typeof x !== 'object' || seen.has(x) || depth > 6) return null;
    seen.add(x);
    if (Number.isInteger(x.code) && typeof x.message === 'string') return x;
    for (const k of ['error', 'info', 'rpcError']) {
      const r = visit(x[k], depth + 1);
      if (r) return r;
    }
    return null;
  };
  return visit(e, 0);
}

/** Asserts `promise` rejects with a JSON-RPC error; returns {code, message, data}. */
export async function expectRpcError(promise) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    const err = rpcErrorOf(e);
    if (!err) throw new Error(`rejected without a JSON-RPC error object: ${e.stack || e}`);
    return err;
  }
  throw new Error(`expected a JSON-RPC error, got result ${JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function waitFor(fn, { timeout = 10000, interval = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Polls eth_getTransactionReceipt over raw RPC until it is non-null. */
export async function waitReceipt(node, hash, timeout = 10000) {
  return waitFor(() => node.rpc('eth_getTransactionReceipt', [hash]), { timeout, what: `receipt of ${hash}` });
}
