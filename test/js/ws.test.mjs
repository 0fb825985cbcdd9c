// WebSocket subscriptions: ethers WebSocketProvider (block and contract
// events) and raw eth_subscribe for newHeads, logs and newPendingTransactions.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ethers } from 'ethers';
import { useNode, test, waitFor, sleep } from './lib/node.mjs';
import { deploy, devWallet } from './lib/contracts.mjs';
import { sortedKeys, HEADER_KEYS, LOG_KEYS, txKeys } from './lib/util.mjs';

const ctx = useNode('ws');
const st = {};

/** Minimal raw JSON-RPC-over-WebSocket client. */
class RawWs {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.nextId = 1;
    this.pending = new Map();
    this.notes = [];
    this.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.method === 'eth_subscription') this.notes.push(m);
      else if (this.pending.has(m.id)) {
        this.pending.get(m.id)(m);
        this.pending.delete(m.id);
      }
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
  }

  async call(method, params = []) {
    await this.opened;
    const id = this.nextId++;
    const p = new Promise((resolve) => this.pending.set(id, resolve));
    this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const m = await Promise.race([p, sleep(5000).then(() => { throw new Error(`${method}: no answer`); })]);
    assert.equal(m.jsonrpc, '2.0');
    assert.equal(m.id, id);
    return m;
  }

  of(sub) {
    return this.notes.filter((n) => n.params.subscription === sub).map((n) => n.params.result);
  }

  close() {
    this.ws.terminate();
  }
}

test('setup: deploy Events', async () => {
  st.provider = ctx.node.provider();
  st.wallet = devWallet(st.provider);
  st.events = await deploy(st.wallet, 'Events');
  st.address = await st.events.getAddress();
});

test('WebSocketProvider: getBlockNumber/chainId work and provider.on("block") fires for new blocks', async () => {
  const wsp = ctx.node.wsProvider();
  assert.equal((await wsp.getNetwork()).chainId, 1337n);
  assert.equal(await wsp.getBlockNumber(), await st.provider.getBlockNumber());
  const seen = [];
  await wsp.on('block', (n) => seen.push(n));
  await sleep(200);
  const r1 = await (await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait();
  const r2 = await (await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait();
  await waitFor(() => seen.includes(r1.blockNumber) && seen.includes(r2.blockNumber), { what: 'block events' });
  await wsp.removeAllListeners();
});

test('WebSocketProvider: contract.on(event) delivers decoded events; wallet over WS sends and waits', async () => {
  const wsp = ctx.node.wsProvider();
  const wallet = new ethers.Wallet(st.wallet.privateKey, wsp);
  const events = st.events.connect(wallet);
  const got = [];
  await events.on('ValueSet', (setter, key, value, note, ev) => got.push({ setter, key, value, note, tx: ev.log.transactionHash, block: ev.log.blockNumber }));
  const deposits = [];
  await events.on(events.filters.Deposit(wallet.address), (...args) => {
    const ev = args[args.length - 1];
    deposits.push({ from: ev.args[0], amount: ev.args[1] });
  });
  await sleep(200);
  const r = await (await events.set(5, 55)).wait();
  const d = await (await events.deposit({ value: 77n })).wait();
  await waitFor(() => got.length >= 1 && deposits.length >= 1, { what: 'contract events over ws' });
  assert.deepEqual(got[0], { setter: wallet.address, key: 5n, value: 55n, note: 'set', tx: r.hash, block: r.blockNumber });
  assert.deepEqual(deposits[0], { from: wallet.address, amount: 77n });
  assert.equal(d.status, 1);
  await events.removeAllListeners();
});

test('raw eth_subscribe newHeads: one notification per block, header shape as geth', async () => {
  const c = new RawWs(ctx.node.wsUrl);
  try {
    const sub = await c.call('eth_subscribe', ['newHeads']);
    assert.match(sub.result, /^0x[0-9a-f]+$/);
    const receipts = [];
    for (let i = 0; i < 3; i++) receipts.push(await (await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait());
    const last = receipts[receipts.length - 1].blockNumber;
    await waitFor(() => c.of(sub.result).some((h) => Number(h.number) === last), { what: 'newHeads notification' });
    const heads = c.of(sub.result);
    for (const h of heads) {
      // geth marshals types.Header here: every header field, absent forks as null.
      assert.deepEqual(sortedKeys(h), [...HEADER_KEYS, 'blockAccessListHash', 'slotNumber'].sort());
      assert.equal(h.blockAccessListHash, null);
      assert.equal(h.slotNumber, null);
      const b = await ctx.node.rpc('eth_getBlockByNumber', [h.number, false]);
      assert.equal(h.hash, b.hash);
      assert.equal(h.parentHash, b.parentHash);
      assert.equal(h.timestamp, b.timestamp);
      assert.equal(h.baseFeePerGas, b.baseFeePerGas);
    }
    const nums = heads.map((h) => Number(h.number));
    for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1, 'consecutive heads');
    for (const r of receipts) assert.ok(nums.includes(r.blockNumber));
    const un = await c.call('eth_unsubscribe', [sub.result]);
    assert.equal(un.result, true);
    const un2 = await c.call('eth_unsubscribe', [sub.result]);
    assert.deepEqual(un2.error, { code: -32000, message: 'subscription not found' });
  } finally {
    c.close();
  }
});

test('raw eth_subscribe logs: address/topic filtered, same objects as eth_getLogs', async () => {
  const c = new RawWs(ctx.node.wsUrl);
  try {
    const topic = st.events.interface.getEvent('ValueSet').topicHash;
    const sub = await c.call('eth_subscribe', ['logs', { address: st.address, topics: [topic] }]);
    const all = await c.call('eth_subscribe', ['logs', {}]);
    assert.match(sub.result, /^0x[0-9a-f]+$/);
    const r1 = await (await st.events.set(8, 88)).wait();
    const r2 = await (await st.events.emitMany(2)).wait(); // 2 Ping + 1 anonymous: not ValueSet
    const r3 = await (await st.events.set(9, 99)).wait();
    await waitFor(() => c.of(sub.result).length >= 2 && c.of(all.result).length >= 5, { what: 'log notifications' });
    await sleep(100);
    const logs = c.of(sub.result);
    assert.equal(logs.length, 2);
    assert.deepEqual(logs.map((l) => l.transactionHash), [r1.hash, r3.hash]);
    for (const l of logs) {
      assert.deepEqual(sortedKeys(l), LOG_KEYS);
      assert.equal(l.removed, false);
      const fromRpc = await ctx.node.rpc('eth_getLogs', [{ blockHash: l.blockHash, address: st.address }]);
      assert.deepEqual(fromRpc.find((x) => x.logIndex === l.logIndex), l);
    }
    const everything = c.of(all.result);
    assert.deepEqual(everything.map((l) => l.transactionHash), [r1.hash, r2.hash, r2.hash, r2.hash, r3.hash]);
    // The anonymous event has no signature topic: topics = [].
    assert.deepEqual(everything[3].topics, []);
    assert.equal((await c.call('eth_unsubscribe', [sub.result])).result, true);
    assert.equal((await c.call('eth_unsubscribe', [all.result])).result, true);
  } finally {
    c.close();
  }
});

test('raw eth_subscribe newPendingTransactions: hashes, and full transactions with `true`', async () => {
  const c = new RawWs(ctx.node.wsUrl);
  try {
    const sub = await c.call('eth_subscribe', ['newPendingTransactions']);
    const full = await c.call('eth_subscribe', ['newPendingTransactions', true]);
    assert.match(sub.result, /^0x[0-9a-f]+$/);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push(await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n }));
    await Promise.all(sent.map((t) => t.wait()));
    await waitFor(() => sent.every((t) => c.of(sub.result).includes(t.hash)) && c.of(full.result).length >= 3, { what: 'pending tx notifications' });
    for (const tx of c.of(full.result)) {
      assert.deepEqual(sortedKeys(tx), txKeys(2));
      assert.equal(tx.blockHash, null);
      assert.equal(tx.blockNumber, null);
    }
    assert.deepEqual(c.of(full.result).map((t) => t.hash).filter((h) => sent.some((s) => s.hash === h)).length, 3);
    assert.equal((await c.call('eth_unsubscribe', [sub.result])).result, true);
  } finally {
    c.close();
  }
});

test('raw eth_subscribe errors: unknown subscription name and bad filter', async () => {
  const c = new RawWs(ctx.node.wsUrl);
  try {
    const bad = await c.call('eth_subscribe', ['nope']);
    assert.deepEqual(bad.error, { code: -32601, message: 'no "nope" subscription in eth namespace' });
    const badTopic = await c.call('eth_subscribe', ['logs', { topics: ['0x12'] }]);
    assert.equal(badTopic.error.code, -32602);
    const ok = await c.call('eth_chainId');
    assert.equal(ok.result, '0x539');
  } finally {
    c.close();
  }
});
