// Confidential contracts: Shipments (test/contracts/Confidential.sol)
// declares ICocoConfidential; each shipment is seen by its sender and its
// recipient only. Parties use sessions (coco_login) through ethers
// providers; an anonymous client and an outsider with a session see
// nothing of it, in every method that could reveal it. A public contract
// next to it stays as geth shows it.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, waitFor } from './lib/node.mjs';
import { artifact, deploy, devWallet, fundedWallets } from './lib/contracts.mjs';
import { login, sessionProvider, sessionWsProvider } from './lib/session.mjs';

const ctx = useNode('confidential');
const st = {};

/** A JSON-RPC call with a session, as {result} or {error}. */
async function as(token, method, params) {
  const res = await fetch(ctx.node.httpUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return res.json();
}

test('setup: fund parties, sign them in, deploy Shipments and ship A → B', async () => {
  const dev = devWallet(ctx.node.provider());
  const [a, b, c] = await fundedWallets(dev, 3);
  st.addr = { a: a.address, b: b.address, c: c.address };
  st.token = {};
  for (const [k, w] of Object.entries({ a, b, c })) st.token[k] = (await login(ctx.node, w)).token;
  // A works through a provider with its session: tx.wait() polls the
  // receipt as A, who may see it.
  const aSigner = a.connect(sessionProvider(ctx.node, st.token.a));
  st.shipments = await deploy(aSigner, 'Shipments');
  st.shipmentsAddr = await st.shipments.getAddress();
  const tx = await st.shipments.ship(b.address, 'twelve crates of tea');
  const rcpt = await tx.wait();
  assert.equal(rcpt.status, 1);
  assert.equal(rcpt.logs.length, 1, 'A sees the Shipped log in its receipt');
  st.shipTx = tx.hash;
  st.shipBlock = rcpt.blockNumber;
  st.events = await deploy(dev, 'Events');
});

test('a party sees the logs, an outsider and an anonymous client do not', async () => {
  const q = [{ address: st.shipmentsAddr, fromBlock: '0x0', toBlock: 'latest' }];
  assert.equal((await as(st.token.a, 'eth_getLogs', q)).result.length, 1);
  assert.equal((await as(st.token.b, 'eth_getLogs', q)).result.length, 1);
  assert.deepEqual((await as(st.token.c, 'eth_getLogs', q)).result, []);
  assert.deepEqual((await as(null, 'eth_getLogs', q)).result, []);
  // Filters: each poller sees its own view.
  const id = (await as(null, 'eth_newFilter', q)).result;
  assert.deepEqual((await as(null, 'eth_getFilterLogs', [id])).result, []);
  assert.equal((await as(st.token.b, 'eth_getFilterLogs', [id])).result.length, 1);
});

test('transactions and receipts to it exist only for their parties', async () => {
  for (const k of ['a', 'b']) {
    const tx = (await as(st.token[k], 'eth_getTransactionByHash', [st.shipTx])).result;
    assert.equal(tx?.hash, st.shipTx, `${k} sees the transaction`);
    const r = (await as(st.token[k], 'eth_getTransactionReceipt', [st.shipTx])).result;
    assert.equal(r?.logs.length, 1, `${k} sees the receipt and its log`);
  }
  for (const token of [st.token.c, null]) {
    assert.equal((await as(token, 'eth_getTransactionByHash', [st.shipTx])).result, null);
    // As for an unknown transaction (geth answers "0x").
    assert.equal((await as(token, 'eth_getRawTransactionByHash', [st.shipTx])).result, '0x');
    assert.equal((await as(token, 'eth_getTransactionReceipt', [st.shipTx])).result, null);
    const block = (await as(token, 'eth_getBlockByNumber', [ethers.toQuantity(st.shipBlock), true])).result;
    assert.ok(!block.transactions.some((t) => t.hash === st.shipTx), 'full block hides it');
    const hashes = (await as(token, 'eth_getBlockByNumber', [ethers.toQuantity(st.shipBlock), false])).result;
    assert.ok(hashes.transactions.includes(st.shipTx), 'hashes-only block stays complete');
    const receipts = (await as(token, 'eth_getBlockReceipts', [ethers.toQuantity(st.shipBlock)])).result;
    assert.ok(!receipts.some((r) => r.transactionHash === st.shipTx));
    const byIndex = (await as(token, 'eth_getTransactionByBlockNumberAndIndex', [ethers.toQuantity(st.shipBlock), '0x0'])).result;
    assert.equal(byIndex, null);
  }
});

test('its storage and proofs are refused to everyone; its functions answer the proven caller', async () => {
  for (const token of [st.token.a, null]) {
    const s = await as(token, 'eth_getStorageAt', [st.shipmentsAddr, '0x0', 'latest']);
    assert.ok(s.error?.message.includes('confidential contract'), JSON.stringify(s));
    const p = await as(token, 'eth_getProof', [st.shipmentsAddr, [], 'latest']);
    assert.ok(p.error?.message.includes('confidential contract'), JSON.stringify(p));
  }
  const iface = new ethers.Interface(artifact('Shipments').abi);
  const goods = { to: st.shipmentsAddr, data: iface.encodeFunctionData('goods', [1]) };
  // Anonymous, even claiming to be A: runs as the zero address.
  const spoof = await as(null, 'eth_call', [{ ...goods, from: st.addr.a }, 'latest']);
  assert.equal(spoof.error?.code, 3, JSON.stringify(spoof));
  const whoAnon = await as(null, 'eth_call', [{ to: st.shipmentsAddr, from: st.addr.a, data: iface.encodeFunctionData('whoAmI') }, 'latest']);
  assert.equal(whoAnon.result, ethers.zeroPadValue('0x', 32));
  // C's session claiming A: runs as C.
  const asC = await as(st.token.c, 'eth_call', [{ ...goods, from: st.addr.a }, 'latest']);
  assert.equal(asC.error?.code, 3);
  // A's and B's sessions read the goods.
  for (const k of ['a', 'b']) {
    const r = await as(st.token[k], 'eth_call', [goods, 'latest']);
    assert.equal(iface.decodeFunctionResult('goods', r.result)[0], 'twelve crates of tea');
  }
  // Through ethers with a session provider.
  const b = new ethers.Contract(st.shipmentsAddr, iface, sessionProvider(ctx.node, st.token.b));
  assert.equal(await b.goods(1), 'twelve crates of tea');
  // State overrides on a call that touches it are refused.
  const ov = await as(st.token.a, 'eth_call', [goods, 'latest', { [st.shipmentsAddr]: { code: '0x00' } }]);
  assert.ok(ov.error?.message.includes('overrides are refused'), JSON.stringify(ov));
});

test('calls through a public contract still run as the proven caller', async () => {
  const relay = await deploy(devWallet(ctx.node.provider()), 'Relay');
  const iface = new ethers.Interface(artifact('Relay').abi);
  const call = { to: await relay.getAddress(), from: st.addr.a, data: iface.encodeFunctionData('whoDoesItSee', [st.shipmentsAddr]) };
  // The confidential contract sees the relay; the relay's caller is the
  // proven one, so a spoofed from is replaced: the relay answers alike.
  const anon = await as(null, 'eth_call', [call, 'latest']);
  assert.equal(ethers.getAddress(ethers.dataSlice(anon.result, 12)), await relay.getAddress());
  const ov = await as(null, 'eth_call', [call, 'latest', { [call.to]: { balance: '0x1' } }]);
  assert.ok(ov.error?.message.includes('overrides are refused'), JSON.stringify(ov));
});

test('subscriptions deliver its logs only to parties', async () => {
  const seen = { b: [], anon: [] };
  const bWs = sessionWsProvider(ctx.node, st.token.b);
  const anonWs = ctx.node.wsProvider();
  const filter = { address: st.shipmentsAddr };
  await bWs.on(filter, (l) => seen.b.push(l));
  await anonWs.on(filter, (l) => seen.anon.push(l));
  const aSigner = (await fundedWallets(devWallet(ctx.node.provider()), 1))[0];
  const aToken = (await login(ctx.node, aSigner)).token;
  const s = new ethers.Contract(st.shipmentsAddr, artifact('Shipments').abi, aSigner.connect(sessionProvider(ctx.node, aToken)));
  await (await s.ship(st.addr.b, 'one pallet of coffee')).wait();
  await waitFor(() => seen.b.length === 1, { what: 'B to get the Shipped log' });
  // The public contract's events reach the anonymous subscriber, so it is
  // listening: it just never gets Shipments' log.
  const pub = [];
  await anonWs.on({ address: await st.events.getAddress() }, (l) => pub.push(l));
  await (await st.events.connect(devWallet(ctx.node.provider())).set(1, 2)).wait();
  await waitFor(() => pub.length > 0, { what: 'the anonymous subscriber to get a public log' });
  assert.equal(seen.anon.length, 0);
});

test('public contracts answer as on geth, to anyone', async () => {
  const q = [{ address: await st.events.getAddress(), fromBlock: '0x0', toBlock: 'latest' }];
  const anon = (await as(null, 'eth_getLogs', q)).result;
  assert.ok(anon.length > 0);
  assert.deepEqual((await as(st.token.c, 'eth_getLogs', q)).result, anon);
  const slot = await as(null, 'eth_getStorageAt', [await st.events.getAddress(), '0x0', 'latest']);
  assert.ok(slot.result !== undefined, JSON.stringify(slot));
});

test('a hostile contract\'s hooks (looping, reverting) mean "no" and cost little', async () => {
  const dev = devWallet(ctx.node.provider());
  const h = await deploy(dev, 'Hostile');
  const rcpt = (await h.ping()).hash;
  // The dev account sent it: it sees its own receipt (sender), but no log
  // passes the looping canReadLog.
  const devToken = (await login(ctx.node, dev)).token;
  const r = await waitFor(async () => (await as(devToken, 'eth_getTransactionReceipt', [rcpt])).result, { what: 'receipt' });
  assert.equal(r.logs.length, 0);
  const t0 = Date.now();
  const logs = await as(null, 'eth_getLogs', [{ address: await h.getAddress(), fromBlock: '0x0' }]);
  assert.deepEqual(logs.result, []);
  assert.ok(Date.now() - t0 < 5000, 'bounded gas keeps a looping hook cheap');
  assert.equal((await as(st.token.c, 'eth_getTransactionReceipt', [rcpt])).result, null, 'reverting canReadTx means no');
});

test('pending-transaction filters show its transactions only to parties', async () => {
  const anonId = (await as(null, 'eth_newPendingTransactionFilter', [])).result;
  const aId = (await as(st.token.a, 'eth_newPendingTransactionFilter', [])).result;
  const fullId = (await as(null, 'eth_newPendingTransactionFilter', [true])).result;
  const dev = devWallet(ctx.node.provider());
  const aSigner = (await fundedWallets(dev, 1))[0];
  const aToken = (await login(ctx.node, aSigner)).token;
  const s = new ethers.Contract(st.shipmentsAddr, artifact('Shipments').abi, aSigner.connect(sessionProvider(ctx.node, aToken)));
  const shipTx = await s.ship(st.addr.b, 'a crate of spices');
  await shipTx.wait();
  const pub = await dev.sendTransaction({ to: st.addr.c, value: 1n });
  await pub.wait();
  const anon = (await as(null, 'eth_getFilterChanges', [anonId])).result;
  assert.ok(anon.includes(pub.hash), 'the public transfer is listed');
  assert.ok(!anon.includes(shipTx.hash), 'the shipment is not listed to an anonymous poller');
  const full = (await as(null, 'eth_getFilterChanges', [fullId])).result;
  assert.ok(full.some((t) => t.hash === pub.hash) && !full.some((t) => t.hash === shipTx.hash));
  // B is the recipient: canReadTx admits it.
  const asB = (await as(st.token.b, 'eth_getFilterChanges', [aId])).result;
  assert.ok(asB.includes(shipTx.hash), 'the recipient sees it');
});

test('hooks that answer garbage (not an ABI-encoded true) mean "no"', async () => {
  const dev = devWallet(ctx.node.provider());
  const g = await deploy(dev, 'Garbage');
  const hash = (await g.ping()).hash;
  const devToken = (await login(ctx.node, dev)).token;
  const r = await waitFor(async () => (await as(devToken, 'eth_getTransactionReceipt', [hash])).result, { what: 'receipt' });
  assert.equal(r.logs.length, 0, 'the sender sees its receipt, but no log passes the garbage canReadLog');
  assert.deepEqual((await as(st.token.c, 'eth_getLogs', [{ address: await g.getAddress(), fromBlock: '0x0' }])).result, []);
  assert.equal((await as(st.token.c, 'eth_getTransactionByHash', [hash])).result, null, 'garbage canReadTx means no');
});
