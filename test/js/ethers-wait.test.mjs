// ethers v6's tx.wait() on a chain that makes blocks only for transactions.
//
// wait() (ethers/lib.esm/providers/provider.js, TransactionResponse.wait)
// looks the receipt up; when it is not there yet it checks for a
// replacement (eth_blockNumber, eth_getTransactionCount, ...), then
// subscribes to the transaction, whose PollingTransactionSubscriber
// (subscriber-polling.js) looks the receipt up once more at once and then
// only on "block" events, and to "block", whose PollingBlockSubscriber takes
// its first eth_blockNumber as a baseline and emits "block" only for numbers
// above it. A block that lands after the last of those receipt lookups but
// before the baseline is never announced: the waiter needs one more block.
// cocogeth's leader makes one empty block 3 s after the last block with
// transactions (eth/builder.go, trailingBlockDelay).
//
// On a real node the block lands in that window only now and then (the
// suite hung about once in 15-45 runs); RaceProxy puts it there every time.
import assert from 'node:assert/strict';
import http from 'node:http';
import { ethers } from 'ethers';
import { useNode, test, sleep, CHAIN_ID, DEV_KEY } from './lib/node.mjs';
import { devWallet, fundedWallets } from './lib/contracts.mjs';
import { q } from './lib/util.mjs';

const ctx = useNode('ethers-wait');

// How long a waiter may take: the trailing block comes 3 s after the block,
// and ethers polls eth_blockNumber every 4 s by default.
const WAIT_BOUND_MS = 15000;

/**
 * An HTTP JSON-RPC proxy on 127.0.0.1 in front of the node that, once armed,
 * makes the next transaction's block land after ethers' last receipt lookup
 * and before its block poller's baseline. It never makes an answer up: every
 * answer is the node's, only delayed, and the transaction is held back.
 *
 * 1. eth_sendRawTransaction is answered with the transaction's hash (after
 *    `sendDelayMs`) but not yet sent to the node.
 * 2. The node answers the first `lookups` eth_getTransactionReceipt of that
 *    hash: null, it has not seen the transaction. Right after the last of
 *    them the proxy sends the transaction to the node and waits until the
 *    node has its block before it answers anything more, so every
 *    eth_blockNumber ethers asks from then on counts that block.
 *
 * Which lookup is ethers' last before its baseline: with cacheTimeout -1 the
 * second (wait()'s own, then the transaction subscriber's first poll, sent
 * in one batch with the baseline eth_blockNumber); with the default 250 ms
 * request cache the first, whose null answer the subscriber's poll reuses
 * from the cache. With the default cache ethers would also reuse the
 * eth_blockNumber it asked when sending as its baseline (then the race
 * cannot happen); `sendDelayMs` delays the send's answer past the cache's
 * 250 ms, as a slow link or a DApp that calls wait() later does.
 *
 * race.reproduced says whether it happened: ethers was answered the block's
 * number after its last lookup and looked the receipt up again only after
 * it had been shown a later block.
 */
class RaceProxy {
  constructor(target, { lookups, sendDelayMs = 0 }) {
    this.target = target;
    this.lookups = lookups;
    this.sendDelayMs = sendDelayMs;
    this.armed = false;
    this.race = null;
    this.maxBlockShown = -1;
    this.errors = [];
    this.server = http.createServer((req, res) => this.#serve(req, res));
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The next eth_sendRawTransaction starts a race. */
  arm() {
    this.armed = true;
    this.race = null;
  }

  async #serve(req, res) {
    let body = '';
    for await (const chunk of req) body += chunk;
    let out;
    try {
      const msg = JSON.parse(body);
      if (Array.isArray(msg)) {
        // Receipt lookups first: a batch has no order, and ethers sends its
        // subscriber's lookup and its baseline in one.
        out = new Array(msg.length);
        const order = msg.map((c, i) => i);
        order.sort((a, b) => (msg[b].method === 'eth_getTransactionReceipt') - (msg[a].method === 'eth_getTransactionReceipt'));
        for (const i of order) out[i] = await this.#call(msg[i]);
      } else {
        out = await this.#call(msg);
      }
    } catch (e) {
      this.errors.push(e);
      out = { jsonrpc: '2.0', id: null, error: { code: -32603, message: `proxy: ${e.message}` } };
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  }

  async #forward(call) {
    const res = await fetch(this.target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call),
      signal: AbortSignal.timeout(30000),
    });
    return res.json();
  }

  async #call(call) {
    const race = this.race;
    if (call.method === 'eth_sendRawTransaction' && this.armed) {
      this.armed = false;
      const raw = call.params[0];
      this.race = {
        raw, hash: ethers.keccak256(raw), block: null, lookups: 0, lateLookups: 0, blockNumbersAfter: [],
        shownBlock: false, reproduced: false,
      };
      await sleep(this.sendDelayMs);
      return { jsonrpc: '2.0', id: call.id, result: this.race.hash };
    }
    const isLookup = race && call.method === 'eth_getTransactionReceipt' && String(call.params[0]).toLowerCase() === race.hash;
    if (isLookup && race.block === null) {
      race.lookups++;
      const answer = await this.#forward(call);
      if (answer.error || answer.result !== null) throw new Error(`receipt lookup before the transaction was sent: ${JSON.stringify(answer)}`);
      if (race.lookups === this.lookups) {
        const sent = await this.#forward({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [race.raw] });
        if (sent.error) throw new Error(`held transaction refused: ${JSON.stringify(sent.error)}`);
        const deadline = Date.now() + 30000;
        for (;;) {
          const r = await this.#forward({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [race.hash] });
          if (r.result) {
            race.block = Number(q(r.result.blockNumber));
            break;
          }
          if (Date.now() > deadline) throw new Error('the held transaction was not included within 30 s');
          await sleep(5);
        }
      }
      return answer;
    }
    if (isLookup && this.maxBlockShown <= race.block) race.lateLookups++; // a lookup not made for a later block
    const resp = await this.#forward(call);
    if (call.method === 'eth_blockNumber' && typeof resp.result === 'string') {
      const n = Number(q(resp.result));
      this.maxBlockShown = Math.max(this.maxBlockShown, n);
      if (race && race.block !== null) {
        race.blockNumbersAfter.push(n);
        if (n === race.block && race.lateLookups === 0) race.shownBlock = true;
      }
    }
    if (race) race.reproduced = race.shownBlock && race.lateLookups === 0;
    return resp;
  }
}

const st = {};

function describe(race) {
  if (!race) return 'none';
  const { raw, blockNumbersAfter, ...rest } = race;
  return JSON.stringify({ ...rest, blockNumbersAfter: `${blockNumbersAfter.length} answers, ${[...new Set(blockNumbersAfter)]}` });
}

test('setup: a funded wallet per race', async () => {
  const provider = ctx.node.provider();
  st.wallets = await fundedWallets(devWallet(provider), 2);
});

/**
 * Sends transfers through a RaceProxy made with `proxyOpts`, with a provider
 * made by `makeProvider`, until the race is reproduced (at most 3 tries: with
 * the default cache ethers' own timing decides whether it asks again), and
 * checks that tx.wait() resolved within WAIT_BOUND_MS, released by the
 * trailing empty block.
 */
async function raceWait(t, wallet, proxyOpts, makeProvider) {
  for (let attempt = 1; ; attempt++) {
    const proxy = await new RaceProxy(ctx.node.httpUrl, proxyOpts).start();
    const provider = makeProvider(proxy.url);
    try {
      const w = new ethers.Wallet(wallet.privateKey, provider);
      proxy.arm();
      const tx = await w.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n });
      const t0 = Date.now();
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`tx.wait() still pending after ${WAIT_BOUND_MS} ms: ` +
          `block ${proxy.race?.block} landed between its receipt lookup and its poller's baseline and no block followed ` +
          `(race ${describe(proxy.race)}, head shown to the client: ${proxy.maxBlockShown})`)), WAIT_BOUND_MS);
      });
      let receipt;
      try {
        receipt = await Promise.race([tx.wait(), timeout]);
      } finally {
        clearTimeout(timer);
      }
      const took = Date.now() - t0;
      assert.deepEqual(proxy.errors, []);
      const race = proxy.race;
      assert.equal(receipt.hash, race.hash);
      assert.equal(receipt.status, 1);
      assert.equal(receipt.blockNumber, race.block);
      assert.ok(took < WAIT_BOUND_MS, `wait() took ${took} ms`);
      if (!race.reproduced) {
        // ethers looked again before a later block (its cache expired):
        // no race this time.
        assert.ok(attempt < 3, `race not reproduced in 3 tries: ${describe(race)}`);
        continue;
      }
      // The race happened: ethers never saw a head older than the block
      // after its last lookup, and a later block released it: the empty
      // trailing block.
      assert.ok(race.blockNumbersAfter.every((n) => n >= race.block), `heads shown after the lookup: ${race.blockNumbersAfter}`);
      assert.ok(proxy.maxBlockShown > race.block, 'a later block released the waiter');
      const block = await ctx.node.rpc('eth_getBlockByNumber', [ethers.toQuantity(race.block), false]);
      const next = await ctx.node.rpc('eth_getBlockByNumber', [ethers.toQuantity(race.block + 1), false]);
      assert.ok(next, `block ${race.block + 1} exists`);
      assert.deepEqual(next.transactions, [], `block ${race.block + 1} is the empty trailing block`);
      assert.equal(next.parentHash, block.hash);
      assert.ok(q(next.timestamp) > q(block.timestamp));
      t.diagnostic(`race reproduced on try ${attempt}: block ${race.block}, wait() resolved after ${took} ms`);
      return;
    } finally {
      provider.destroy();
      await proxy.close();
    }
  }
}

test('tx.wait(), default JsonRpcProvider: resolves when the block lands between its receipt lookup and its poller baseline', async (t) => {
  await raceWait(t, st.wallets[0], { lookups: 1, sendDelayMs: 300 }, (url) => new ethers.JsonRpcProvider(url));
});

test('tx.wait(), cacheTimeout -1 and 50 ms polling (as the suite): resolves in the same race', async (t) => {
  await raceWait(t, st.wallets[1], { lookups: 2 }, (url) => new ethers.JsonRpcProvider(url, Number(CHAIN_ID), {
    staticNetwork: true, cacheTimeout: -1, pollingInterval: 50,
  }));
});

// ethers v6 shares identical requests made within cacheTimeout (250 ms):
// the second send's eth_getTransactionCount(addr, "pending") would get the
// first send's answer and fail with "nonce too low". The README's ethers
// example disables the cache; a NonceManager counts nonces itself.
test('send → wait → send → wait from one wallet: cacheTimeout -1 (the README example)', async () => {
  const provider = new ethers.JsonRpcProvider(ctx.node.httpUrl, undefined, { cacheTimeout: -1 });
  try {
    const wallet = new ethers.Wallet(DEV_KEY, provider);
    const to = ethers.Wallet.createRandom().address;
    let nonce = await provider.getTransactionCount(wallet.address, 'pending');
    for (let i = 0; i < 2; i++) {
      const tx = await wallet.sendTransaction({ to, value: 1n });
      assert.equal(tx.nonce, nonce++);
      assert.equal((await tx.wait()).status, 1);
    }
    assert.equal(await provider.getBalance(to), 2n);
  } finally {
    provider.destroy();
  }
});

test('send → wait → send → wait from one wallet: NonceManager with a default provider', async () => {
  const provider = new ethers.JsonRpcProvider(ctx.node.httpUrl);
  try {
    const signer = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, provider));
    const to = ethers.Wallet.createRandom().address;
    for (let i = 0; i < 2; i++) {
      const tx = await signer.sendTransaction({ to, value: 1n });
      assert.equal((await tx.wait()).status, 1);
    }
    assert.equal(await provider.getBalance(to), 2n);
  } finally {
    provider.destroy();
  }
});
