// ETH transfers of every transaction type, receipts, balances, nonces,
// queued (future-nonce) transactions and replacement by fee bump.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError, waitReceipt, DEV_ADDRESS } from './lib/node.mjs';
import { devWallet, fundedWallets } from './lib/contracts.mjs';
import {
  GWEI, q, assertQuantity, assertData, sortedKeys, BLOCK_KEYS, RECEIPT_KEYS, txKeys, fees, signRaw, toHex,
} from './lib/util.mjs';

const ctx = useNode('transfers');

async function checkTransfer(node, provider, sender, txReq, expectType) {
  const to = ethers.Wallet.createRandom().address;
  const value = ethers.parseEther('0.25');
  const sent = await sender.sendTransaction({ to, value, ...txReq });
  assert.equal(sent.type, expectType);
  const receipt = await sent.wait();
  assert.equal(receipt.status, 1);
  assert.equal(receipt.type, expectType);
  assert.equal(receipt.hash, sent.hash);
  assert.equal(receipt.from, sender.address);
  assert.equal(receipt.to, to);
  assert.equal(receipt.contractAddress, null);
  assert.equal(receipt.logs.length, 0);

  // Raw receipt shape, exactly geth's.
  const raw = await node.rpc('eth_getTransactionReceipt', [sent.hash]);
  assert.deepEqual(sortedKeys(raw), RECEIPT_KEYS);
  assert.equal(raw.type, toHex(expectType));
  assert.equal(raw.status, '0x1');
  assert.equal(raw.contractAddress, null);
  assert.deepEqual(raw.logs, []);
  assertData(raw.logsBloom, 256, 'logsBloom');
  assert.equal(raw.logsBloom, '0x' + '00'.repeat(256));
  for (const k of ['blockNumber', 'cumulativeGasUsed', 'effectiveGasPrice', 'gasUsed', 'transactionIndex']) assertQuantity(raw[k], k);
  assert.equal(raw.from, sender.address.toLowerCase());
  assert.equal(raw.to, to.toLowerCase());

  const block = await node.rpc('eth_getBlockByNumber', [raw.blockNumber, false]);
  assert.equal(block.hash, raw.blockHash);
  assert.ok(block.transactions.includes(sent.hash));
  assert.equal(block.transactions.indexOf(sent.hash), Number(raw.transactionIndex));
  const base = q(block.baseFeePerGas);

  // Raw transaction shape.
  const rtx = await node.rpc('eth_getTransactionByHash', [sent.hash]);
  assert.deepEqual(sortedKeys(rtx), txKeys(expectType));
  assert.equal(rtx.blockHash, raw.blockHash);
  assert.equal(rtx.blockNumber, raw.blockNumber);
  assert.equal(rtx.blockTimestamp, block.timestamp);
  assert.equal(rtx.transactionIndex, raw.transactionIndex);
  assert.equal(rtx.type, toHex(expectType));
  assert.equal(rtx.chainId, '0x539');
  assert.equal(rtx.value, toHex(value));
  assert.equal(rtx.input, '0x');
  assert.equal(q(rtx.gasPrice), q(raw.effectiveGasPrice));
  if (expectType === 0) {
    assert.ok([2709n, 2710n].includes(q(rtx.v)), `EIP-155 v for chain 1337, got ${rtx.v}`);
  } else {
    assert.ok(['0x0', '0x1'].includes(rtx.yParity));
    assert.equal(rtx.v, rtx.yParity);
  }

  // Effective gas price as geth computes it.
  let effective;
  if (expectType === 2) {
    const cap = q(rtx.maxFeePerGas);
    const tip = q(rtx.maxPriorityFeePerGas);
    effective = cap < base + tip ? cap : base + tip;
  } else {
    const gp = (await provider.getTransaction(sent.hash)).gasPrice;
    effective = gp;
  }
  assert.equal(receipt.gasPrice, effective);

  // Balances before/after, exactly.
  const n = receipt.blockNumber;
  assert.equal(await provider.getBalance(to, n), value);
  assert.equal(await provider.getBalance(to, n - 1), 0n);
  const before = await provider.getBalance(sender.address, n - 1);
  const after = await provider.getBalance(sender.address, n);
  assert.equal(before - after, value + receipt.gasUsed * effective);
  return receipt;
}

test('legacy (type 0, EIP-155) transfer: receipt, gasUsed 21000, balances', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const r = await checkTransfer(node, provider, w, { type: 0 }, 0);
  assert.equal(r.gasUsed, 21000n);
  assert.equal(r.cumulativeGasUsed >= 21000n, true);
});

test('EIP-2930 (type 1) transfer: empty access list uses 21000, one address + one key uses 25300', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const r1 = await checkTransfer(node, provider, w, { type: 1, accessList: [] }, 1);
  assert.equal(r1.gasUsed, 21000n);
  const al = [{ address: ethers.Wallet.createRandom().address, storageKeys: [ethers.ZeroHash] }];
  const r2 = await checkTransfer(node, provider, w, { type: 1, accessList: al, gasLimit: 30000 }, 1);
  assert.equal(r2.gasUsed, 21000n + 2400n + 1900n);
  const rtx = await node.rpc('eth_getTransactionByHash', [r2.hash]);
  assert.deepEqual(rtx.accessList, [{ address: al[0].address.toLowerCase(), storageKeys: [ethers.ZeroHash] }]);
});

test('EIP-1559 (type 2) transfer: effective gas price is min(feeCap, baseFee + tip)', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const f = await fees(node, 2n * GWEI);
  const r = await checkTransfer(node, provider, w, { type: 2, ...f }, 2);
  assert.equal(r.gasUsed, 21000n);
  const block = await provider.getBlock(r.blockNumber);
  assert.equal(r.gasPrice, block.baseFeePerGas + 2n * GWEI);
});

test('back-to-back sends without waiting use the pending nonce and all get mined', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const start = await provider.getTransactionCount(w.address, 'pending');
  const to = ethers.Wallet.createRandom().address;
  const sent = [];
  for (let i = 0; i < 8; i++) {
    sent.push(await w.sendTransaction({ to, value: 1000n + BigInt(i) }));
  }
  assert.deepEqual(sent.map((t) => t.nonce), [...Array(8).keys()].map((i) => start + i));
  const receipts = await Promise.all(sent.map((t) => t.wait()));
  for (const r of receipts) assert.equal(r.status, 1);
  assert.equal(await provider.getTransactionCount(w.address, 'latest'), start + 8);
  assert.equal(await provider.getBalance(to), 8n * 1000n + 28n);
  // Nonce order is respected within and across blocks.
  const pos = receipts.map((r) => [r.blockNumber, r.index]);
  for (let i = 1; i < pos.length; i++) {
    assert.ok(pos[i][0] > pos[i - 1][0] || (pos[i][0] === pos[i - 1][0] && pos[i][1] > pos[i - 1][1]), 'nonce order');
  }
});

test('future nonce is queued (txpool), then mined once the gap is filled; duplicate is "already known"', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const n = await provider.getTransactionCount(w.address, 'latest');
  const f = await fees(node);
  const to = ethers.Wallet.createRandom().address;
  const rawFuture = await signRaw(w, { type: 2, nonce: n + 1, to, value: 2n, gasLimit: 21000n, ...f });
  const hashFuture = await provider.send('eth_sendRawTransaction', [rawFuture]);
  assert.equal(hashFuture, ethers.keccak256(rawFuture));

  // Not mined: still in the pool's queue.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await node.rpc('eth_getTransactionReceipt', [hashFuture]), null);
  const pooled = await node.rpc('eth_getTransactionByHash', [hashFuture]);
  assert.equal(pooled.hash, hashFuture);
  assert.equal(pooled.blockHash, null);
  assert.equal(pooled.blockNumber, null);
  assert.equal(pooled.transactionIndex, null);
  assert.equal(await provider.getTransactionCount(w.address, 'pending'), n, 'pending nonce ignores the gapped tx');
  const status = await node.rpc('txpool_status');
  assert.deepEqual(status, { pending: '0x0', queued: '0x1' });
  const content = await node.rpc('txpool_content');
  assert.deepEqual(Object.keys(content).sort(), ['pending', 'queued']);
  assert.equal(content.queued[w.address][String(n + 1)].hash, hashFuture);

  const dup = await expectRpcError(provider.send('eth_sendRawTransaction', [rawFuture]));
  assert.equal(dup.code, -32000);
  assert.equal(dup.message, 'already known');

  // Fill the gap.
  const rawGap = await signRaw(w, { type: 2, nonce: n, to, value: 1n, gasLimit: 21000n, ...f });
  const hashGap = await provider.send('eth_sendRawTransaction', [rawGap]);
  const r0 = await waitReceipt(node, hashGap);
  const r1 = await waitReceipt(node, hashFuture);
  assert.equal(r0.status, '0x1');
  assert.equal(r1.status, '0x1');
  assert.ok(q(r1.blockNumber) >= q(r0.blockNumber));
  assert.equal(await provider.getTransactionCount(w.address, 'latest'), n + 2);
  assert.equal(await provider.getBalance(to), 3n);
  assert.deepEqual(await node.rpc('txpool_status'), { pending: '0x0', queued: '0x0' });

  // Re-sending a mined transaction fails on the nonce.
  const again = await expectRpcError(provider.send('eth_sendRawTransaction', [rawGap]));
  assert.equal(again.code, -32000);
  assert.equal(again.message, `nonce too low: next nonce ${n + 2}, tx nonce ${n}`);
});

test('replacement by fee bump: +5% is "replacement transaction underpriced", +10% replaces', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const n = await provider.getTransactionCount(w.address, 'latest');
  const base = (await provider.getBlock('latest')).baseFeePerGas;
  const tip = 2n * GWEI;
  const cap = base * 2n + 20n * GWEI;
  const to = ethers.Wallet.createRandom().address;
  // Keep the transactions in the queue (nonce gap) so they cannot be mined meanwhile.
  const txAt = (t, c, value) => signRaw(w, { type: 2, nonce: n + 1, to, value, gasLimit: 21000n, maxPriorityFeePerGas: t, maxFeePerGas: c });
  const rawA = await txAt(tip, cap, 10n);
  const hashA = await provider.send('eth_sendRawTransaction', [rawA]);

  const rawB = await txAt((tip * 105n) / 100n, (cap * 105n) / 100n, 11n);
  const errB = await expectRpcError(provider.send('eth_sendRawTransaction', [rawB]));
  assert.equal(errB.code, -32000);
  assert.equal(errB.message, 'replacement transaction underpriced');
  // Bumping only one of the two fee fields is not enough either.
  const rawB2 = await txAt((tip * 110n) / 100n, cap, 12n);
  const errB2 = await expectRpcError(provider.send('eth_sendRawTransaction', [rawB2]));
  assert.equal(errB2.message, 'replacement transaction underpriced');
  // ethers maps it to REPLACEMENT_UNDERPRICED.
  await assert.rejects(provider.broadcastTransaction(rawB), (e) => e.code === 'REPLACEMENT_UNDERPRICED');

  const rawC = await txAt((tip * 110n) / 100n, (cap * 110n) / 100n, 13n);
  const hashC = await provider.send('eth_sendRawTransaction', [rawC]);
  assert.equal(await node.rpc('eth_getTransactionByHash', [hashA]), null, 'replaced tx is gone from the pool');
  assert.equal((await node.rpc('eth_getTransactionByHash', [hashC])).hash, hashC);

  const rawGap = await signRaw(w, { type: 2, nonce: n, to, value: 1n, gasLimit: 21000n, maxPriorityFeePerGas: tip, maxFeePerGas: cap });
  const hashGap = await provider.send('eth_sendRawTransaction', [rawGap]);
  await waitReceipt(node, hashGap);
  const rC = await waitReceipt(node, hashC);
  assert.equal(rC.status, '0x1');
  assert.equal(await node.rpc('eth_getTransactionReceipt', [hashA]), null);
  assert.equal(await node.rpc('eth_getTransactionByHash', [hashA]), null);
  assert.equal(await provider.getBalance(to), 14n);
});

test('getBlock with prefetched transactions, eth_getBlockReceipts, tx-by-index lookups', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const [w] = await fundedWallets(devWallet(provider), 1);
  const to = ethers.Wallet.createRandom().address;
  // Several txs sent together usually share a block; whichever block holds the first is checked.
  const sent = [];
  for (let i = 0; i < 4; i++) sent.push(await w.sendTransaction({ to, value: 1n }));
  const receipts = await Promise.all(sent.map((t) => t.wait()));
  const bn = receipts[0].blockNumber;

  const block = await provider.getBlock(bn, true);
  assert.equal(block.number, bn);
  assert.ok(block.prefetchedTransactions.length >= 1);
  assert.equal(block.prefetchedTransactions.length, block.transactions.length);
  const inBlock = receipts.filter((r) => r.blockNumber === bn);
  for (const r of inBlock) {
    const tx = block.prefetchedTransactions[r.index];
    assert.equal(tx.hash, r.hash);
    assert.equal(tx.blockNumber, bn);
    assert.equal(tx.blockHash, block.hash);
    assert.equal(tx.from, w.address);
    assert.equal(tx.to, to);
  }

  const full = await node.rpc('eth_getBlockByNumber', [toHex(bn), true]);
  assert.deepEqual(sortedKeys(full), BLOCK_KEYS);
  for (const [i, tx] of full.transactions.entries()) {
    assert.deepEqual(tx, await node.rpc('eth_getTransactionByHash', [tx.hash]));
    assert.deepEqual(tx, await node.rpc('eth_getTransactionByBlockNumberAndIndex', [toHex(bn), toHex(i)]));
    assert.deepEqual(tx, await node.rpc('eth_getTransactionByBlockHashAndIndex', [full.hash, toHex(i)]));
  }
  assert.equal(await node.rpc('eth_getTransactionByBlockNumberAndIndex', [toHex(bn), toHex(full.transactions.length)]), null);
  assert.equal(await node.rpc('eth_getBlockTransactionCountByNumber', [toHex(bn)]), toHex(full.transactions.length));
  assert.equal(await node.rpc('eth_getBlockTransactionCountByHash', [full.hash]), toHex(full.transactions.length));
  assert.equal(await node.rpc('eth_getUncleCountByBlockNumber', [toHex(bn)]), '0x0');

  const byNumber = await node.rpc('eth_getBlockReceipts', [toHex(bn)]);
  const byHash = await node.rpc('eth_getBlockReceipts', [full.hash]);
  assert.deepEqual(byNumber, byHash);
  assert.equal(byNumber.length, full.transactions.length);
  let cumulative = 0n;
  for (const [i, r] of byNumber.entries()) {
    assert.deepEqual(r, await node.rpc('eth_getTransactionReceipt', [full.transactions[i].hash]));
    assert.equal(r.transactionIndex, toHex(i));
    cumulative += q(r.gasUsed);
    assert.equal(q(r.cumulativeGasUsed), cumulative);
  }
  assert.equal(q(full.gasUsed), cumulative);
  const viaEthers = await provider.send('eth_getBlockReceipts', ['latest']);
  assert.ok(Array.isArray(viaEthers));
  assert.equal(await node.rpc('eth_getBlockReceipts', ['0x' + 'ab'.repeat(32)]), null);
});

test('block timestamps are strictly increasing and blocks chain by parentHash', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const w = devWallet(provider);
  const to = ethers.Wallet.createRandom().address;
  // Consecutive blocks produced faster than one per second.
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) {
    const r = await (await w.sendTransaction({ to, value: 1n })).wait();
    assert.equal(r.status, 1);
  }
  const elapsed = Date.now() - t0;
  const head = await provider.getBlockNumber();
  let prev = await node.rpc('eth_getBlockByNumber', ['0x0', false]);
  for (let n = 1; n <= head; n++) {
    const b = await node.rpc('eth_getBlockByNumber', [toHex(n), false]);
    assert.equal(b.parentHash, prev.hash, `parentHash of block ${n}`);
    assert.ok(q(b.timestamp) > q(prev.timestamp), `timestamp of block ${n} (${q(b.timestamp)}) > block ${n - 1} (${q(prev.timestamp)})`);
    assert.ok(q(b.baseFeePerGas) > 0n);
    prev = b;
  }
  // Timestamps are seconds, not milliseconds.
  const now = BigInt(Math.floor(Date.now() / 1000));
  assert.ok(q(prev.timestamp) < now + 3600n, `timestamp ${q(prev.timestamp)} is far in the future (now ${now})`);
  assert.ok(elapsed < 5000, `5 sequential transfers took ${elapsed} ms`);
});

test('dev account sends to itself and eth_getTransactionCount latest/pending agree after mining', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const w = devWallet(provider);
  const r = await (await w.sendTransaction({ to: DEV_ADDRESS, value: 0n })).wait();
  assert.equal(r.status, 1);
  assert.equal(r.gasUsed, 21000n);
  const latest = await node.rpc('eth_getTransactionCount', [DEV_ADDRESS, 'latest']);
  const pending = await node.rpc('eth_getTransactionCount', [DEV_ADDRESS, 'pending']);
  assert.equal(latest, pending);
  assert.equal(latest, await node.rpc('eth_getTransactionCount', [DEV_ADDRESS, toHex(r.blockNumber)]));
  assert.equal(latest, await node.rpc('eth_getTransactionCount', [DEV_ADDRESS, { blockHash: r.blockHash }]));
});
