// Crash safety: every transaction whose receipt was returned survives a
// kill -9 with the same block hash, and the chain continues after restart.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, DEV_ADDRESS } from './lib/node.mjs';
import { artifact, deploy, devWallet } from './lib/contracts.mjs';
import { q, toHex } from './lib/util.mjs';

const ctx = useNode('restart');
const st = { seen: [] };

async function record(receipts) {
  for (const r of receipts) st.seen.push({ hash: r.hash, blockHash: r.blockHash, blockNumber: r.blockNumber });
}

async function checkAllSurvived(node) {
  for (const s of st.seen) {
    const r = await node.rpc('eth_getTransactionReceipt', [s.hash]);
    assert.ok(r, `receipt of ${s.hash} (block ${s.blockNumber}) survived`);
    assert.equal(r.blockHash, s.blockHash, `block hash of ${s.hash}`);
    assert.equal(q(r.blockNumber), BigInt(s.blockNumber));
    const b = await node.rpc('eth_getBlockByNumber', [toHex(s.blockNumber), false]);
    assert.equal(b.hash, s.blockHash, `canonical block ${s.blockNumber}`);
    assert.ok(b.transactions.includes(s.hash));
    const tx = await node.rpc('eth_getTransactionByHash', [s.hash]);
    assert.equal(tx.blockHash, s.blockHash);
  }
}

async function checkChainLinks(node) {
  const head = q(await node.rpc('eth_blockNumber'));
  let prev = await node.rpc('eth_getBlockByNumber', ['0x0', false]);
  for (let n = 1n; n <= head; n++) {
    const b = await node.rpc('eth_getBlockByNumber', [toHex(n), false]);
    assert.equal(b.parentHash, prev.hash, `parent of ${n}`);
    assert.ok(q(b.timestamp) > q(prev.timestamp), `timestamp of ${n}`);
    prev = b;
  }
  return head;
}

test('kill -9 right after receipts: all receipts, blocks and state survive', async () => {
  const node = ctx.node;
  let provider = node.provider();
  let w = devWallet(provider);
  st.events = await deploy(w, 'Events');
  st.address = await st.events.getAddress();
  await record([await provider.getTransactionReceipt(st.events.deploymentTransaction().hash)]);
  for (let i = 0; i < 5; i++) await record([await (await st.events.set(i, 1000 + i)).wait()]);
  // A burst sent without waiting.
  const burst = [];
  for (let i = 0; i < 10; i++) burst.push(await w.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n }));
  await record(await Promise.all(burst.map((t) => t.wait())));
  const headBefore = await provider.getBlockNumber();
  const nonceBefore = await provider.getTransactionCount(DEV_ADDRESS, 'latest');

  await node.restart('SIGKILL');
  provider = node.provider();
  w = devWallet(provider);

  await checkAllSurvived(node);
  assert.ok((await provider.getBlockNumber()) >= headBefore, 'head did not go back');
  assert.equal(await provider.getTransactionCount(DEV_ADDRESS, 'latest'), nonceBefore);
  assert.equal(await provider.getTransactionCount(DEV_ADDRESS, 'pending'), nonceBefore);
  const events = new ethers.Contract(st.address, artifact('Events').abi, w);
  for (let i = 0; i < 5; i++) assert.equal(await events.get(i), BigInt(1000 + i));
  assert.equal(await provider.getCode(st.address), artifact('Events').deployedBytecode);

  // The chain continues on top of the old head.
  const r = await (await events.set(77, 7)).wait();
  assert.equal(r.status, 1);
  assert.ok(r.blockNumber > headBefore);
  await record([r]);
  await checkChainLinks(node);
});

test('repeated crash cycles: kill -9 immediately after the last receipt, also mid-burst', async () => {
  const node = ctx.node;
  for (let cycle = 0; cycle < 2; cycle++) {
    const provider = node.provider();
    const w = devWallet(provider);
    const sent = [];
    for (let i = 0; i < 6; i++) sent.push(await w.sendTransaction({ to: ethers.Wallet.createRandom().address, value: BigInt(cycle * 10 + i + 1) }));
    await record(await Promise.all(sent.map((t) => t.wait())));
    // Fire a few more and kill without waiting: those may or may not survive,
    // but whatever survives must be consistent.
    const unconfirmed = [];
    for (let i = 0; i < 3; i++) unconfirmed.push(await w.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n }));
    await node.restart('SIGKILL');
    await checkAllSurvived(node);
    for (const t of unconfirmed) {
      const r = await node.rpc('eth_getTransactionReceipt', [t.hash]);
      if (r) {
        const b = await node.rpc('eth_getBlockByNumber', [r.blockNumber, false]);
        assert.equal(b.hash, r.blockHash);
      }
    }
  }
  // Nonces continue without a gap: pending == latest unless the pool kept txs, then sending works.
  const provider = node.provider();
  const w = devWallet(provider);
  const r = await (await w.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait();
  assert.equal(r.status, 1);
  await record([r]);
  await checkChainLinks(node);
});

test('graceful restart (SIGTERM) keeps everything as well', async () => {
  const node = ctx.node;
  const head = q(await node.rpc('eth_blockNumber'));
  await node.restart('SIGTERM');
  await checkAllSurvived(node);
  assert.ok(q(await node.rpc('eth_blockNumber')) >= head);
  const provider = node.provider();
  const r = await (await devWallet(provider).sendTransaction({ to: DEV_ADDRESS, value: 0n })).wait();
  assert.equal(r.status, 1);
  assert.ok(BigInt(r.blockNumber) > head);
});
