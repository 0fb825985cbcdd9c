// Installed filters: eth_newFilter / eth_getFilterChanges / eth_getFilterLogs /
// eth_uninstallFilter, eth_newBlockFilter, eth_newPendingTransactionFilter,
// and ethers' HTTP event subscriptions built on them.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError, waitFor, sleep } from './lib/node.mjs';
import { deploy, devWallet } from './lib/contracts.mjs';
import { q, sortedKeys, LOG_KEYS, toHex } from './lib/util.mjs';

const ctx = useNode('filters');
const st = {};
const FILTER_ID = /^0x[0-9a-f]{1,64}$/;

test('setup: deploy Events', async () => {
  st.provider = ctx.node.provider();
  st.wallet = devWallet(st.provider);
  st.events = await deploy(st.wallet, 'Events');
  st.address = await st.events.getAddress();
  st.valueSet = st.events.interface.getEvent('ValueSet').topicHash;
});

test('eth_newFilter + eth_getFilterChanges return only new matching logs; eth_getFilterLogs returns all', async () => {
  const node = ctx.node;
  const start = await st.provider.getBlockNumber();
  const id = await node.rpc('eth_newFilter', [{ address: st.address, fromBlock: toHex(start + 1), topics: [st.valueSet] }]);
  assert.match(id, FILTER_ID);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [id]), []);

  const r1 = await (await st.events.set(1, 100)).wait();
  const r2 = await (await st.events.set(2, 200)).wait();
  await (await st.events.emitMany(3)).wait(); // Ping events: do not match the topic

  const changes = await node.rpc('eth_getFilterChanges', [id]);
  assert.equal(changes.length, 2);
  for (const l of changes) {
    assert.deepEqual(sortedKeys(l), LOG_KEYS);
    assert.equal(l.address, st.address.toLowerCase());
    assert.equal(l.topics[0], st.valueSet);
    assert.equal(l.removed, false);
  }
  assert.deepEqual(changes.map((l) => l.transactionHash), [r1.hash, r2.hash]);
  const decoded = changes.map((l) => st.events.interface.parseLog(l));
  assert.deepEqual(decoded.map((d) => [d.args.setter, d.args.key, d.args.value, d.args.note]), [
    [st.wallet.address, 1n, 100n, 'set'],
    [st.wallet.address, 2n, 200n, 'set'],
  ]);
  // Drained.
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [id]), []);

  // eth_getFilterLogs re-runs the whole query and equals eth_getLogs with the same criteria.
  const all = await node.rpc('eth_getFilterLogs', [id]);
  assert.deepEqual(all, changes);
  assert.deepEqual(all, await node.rpc('eth_getLogs', [{ address: st.address, fromBlock: toHex(start + 1), topics: [st.valueSet] }]));

  assert.equal(await node.rpc('eth_uninstallFilter', [id]), true);
  assert.equal(await node.rpc('eth_uninstallFilter', [id]), false);
  const gone = await expectRpcError(node.rpc('eth_getFilterChanges', [id]));
  assert.deepEqual(gone, { code: -32000, message: 'filter not found' });
  const gone2 = await expectRpcError(node.rpc('eth_getFilterLogs', [id]));
  assert.deepEqual(gone2, { code: -32000, message: 'filter not found' });
});

test('eth_newFilter with indexed-topic match and without address', async () => {
  const node = ctx.node;
  const keyTopic = ethers.toBeHex(7, 32);
  const id = await node.rpc('eth_newFilter', [{ topics: [st.valueSet, null, keyTopic] }]);
  await (await st.events.set(6, 1)).wait();
  const r = await (await st.events.set(7, 2)).wait();
  const changes = await node.rpc('eth_getFilterChanges', [id]);
  assert.equal(changes.length, 1);
  assert.equal(changes[0].transactionHash, r.hash);
  assert.equal(changes[0].topics[2], keyTopic);
  assert.equal(await node.rpc('eth_uninstallFilter', [id]), true);
});

test('eth_newBlockFilter reports each new block hash once, in order', async () => {
  const node = ctx.node;
  const id = await node.rpc('eth_newBlockFilter');
  assert.match(id, FILTER_ID);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [id]), []);
  const blocks = [];
  for (let i = 0; i < 3; i++) {
    const r = await (await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait();
    blocks.push(r.blockHash);
  }
  const hashes = await node.rpc('eth_getFilterChanges', [id]);
  assert.ok(hashes.every((h) => /^0x[0-9a-f]{64}$/.test(h)));
  // Every block produced since the filter was installed, in order, including ours.
  for (const h of blocks) assert.ok(hashes.includes(h), `block ${h} reported`);
  const nums = [];
  for (const h of hashes) nums.push(q((await node.rpc('eth_getBlockByHash', [h, false])).number));
  for (let i = 1; i < nums.length; i++) assert.equal(nums[i], nums[i - 1] + 1n);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [id]), []);
  // A block filter has no logs.
  const notLogs = await expectRpcError(node.rpc('eth_getFilterLogs', [id]));
  assert.deepEqual(notLogs, { code: -32000, message: 'filter not found' });
  assert.equal(await node.rpc('eth_uninstallFilter', [id]), true);
});

test('eth_newPendingTransactionFilter reports submitted transaction hashes', async () => {
  const node = ctx.node;
  const id = await node.rpc('eth_newPendingTransactionFilter');
  assert.match(id, FILTER_ID);
  const sent = [];
  for (let i = 0; i < 3; i++) sent.push(await st.wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n }));
  await Promise.all(sent.map((t) => t.wait()));
  const hashes = await node.rpc('eth_getFilterChanges', [id]);
  for (const t of sent) assert.ok(hashes.includes(t.hash), `pending tx ${t.hash} reported`);
  assert.deepEqual(await node.rpc('eth_getFilterChanges', [id]), []);
  assert.equal(await node.rpc('eth_uninstallFilter', [id]), true);
});

test('unknown filter ids: eth_getFilterChanges errors, eth_uninstallFilter is false', async () => {
  const node = ctx.node;
  const e = await expectRpcError(node.rpc('eth_getFilterChanges', ['0x1234']));
  assert.deepEqual(e, { code: -32000, message: 'filter not found' });
  assert.equal(await node.rpc('eth_uninstallFilter', ['0x1234']), false);
});

test('ethers over HTTP: contract.on(event) and provider.on("block") (filter polling)', async () => {
  const provider = ctx.node.provider({ pollingInterval: 50 });
  const events = st.events.connect(new ethers.Wallet(st.wallet.privateKey, provider));
  const seen = [];
  const blocks = [];
  await events.on('ValueSet', (setter, key, value, note, ev) => seen.push({ setter, key, value, note, tx: ev.log.transactionHash }));
  await provider.on('block', (n) => blocks.push(n));
  // Give the subscribers time to install their filters.
  await new Promise((r) => setTimeout(r, 300));
  const r = await (await events.set(42, 4242)).wait();
  await waitFor(() => seen.length >= 1 && blocks.includes(r.blockNumber), { what: 'event and block callbacks' });
  assert.deepEqual(seen[0], { setter: st.wallet.address, key: 42n, value: 4242n, note: 'set', tx: r.hash });
  await events.removeAllListeners();
  await provider.removeAllListeners();
  // Let ethers uninstall its filters before the provider is destroyed.
  await sleep(300);
});
