// Gas estimation, fee market methods, block tags and contracts that read the
// block context or deploy other contracts.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError, DEV_ADDRESS } from './lib/node.mjs';
import { artifact, deploy, devWallet } from './lib/contracts.mjs';
import { q, assertQuantity, sortedKeys, BLOCK_KEYS, HEADER_KEYS, toHex, withStableHead } from './lib/util.mjs';

const ctx = useNode('fees');
const st = {};

test('setup: a few blocks and contracts', async () => {
  st.provider = ctx.node.provider();
  st.wallet = devWallet(st.provider);
  st.events = await deploy(st.wallet, 'Events');
  st.info = await deploy(st.wallet, 'BlockInfo');
  st.factory = await deploy(st.wallet, 'Factory');
  for (let i = 0; i < 3; i++) await (await st.events.set(i, i + 1)).wait();
});

test('eth_estimateGas: transfer is exactly 21000; contract calls are enough and not wasteful', async () => {
  const node = ctx.node;
  assert.equal(await node.rpc('eth_estimateGas', [{ from: DEV_ADDRESS, to: ethers.Wallet.createRandom().address, value: '0x1' }]), '0x5208');
  assert.equal(await node.rpc('eth_estimateGas', [{ from: DEV_ADDRESS, to: ethers.Wallet.createRandom().address }, 'latest']), '0x5208');
  assertQuantity(await node.rpc('eth_estimateGas', [{ from: DEV_ADDRESS, to: DEV_ADDRESS }, 'pending']));

  const est = await st.events.burn.estimateGas(300);
  const r = await (await st.events.burn(300, { gasLimit: est })).wait();
  assert.equal(r.status, 1, 'the estimate is sufficient');
  assert.ok(r.gasUsed <= est);
  // geth's estimator is a binary search: the estimate minus a little fails.
  const lower = est - est / 50n;
  const failing = await st.events.burn(300, { gasLimit: lower });
  const err = await failing.wait().catch((e) => e);
  assert.equal(err.code, 'CALL_EXCEPTION', `estimate ${est} should be tight (2% less fails)`);

  // Contract creation estimate.
  const a = artifact('Events');
  const createEst = await st.provider.estimateGas({ from: DEV_ADDRESS, data: a.bytecode });
  assert.ok(createEst > 53000n);
  const tooLow = { from: DEV_ADDRESS, to: await st.events.getAddress(), data: st.events.interface.encodeFunctionData('burn', [300]), gas: '0x6000' };
  const bad = await expectRpcError(node.rpc('eth_estimateGas', [tooLow]));
  assert.deepEqual(bad, { code: -32000, message: 'gas required exceeds allowance (24576)' });
});

test('eth_gasPrice = suggested tip + latest base fee; eth_maxPriorityFeePerGas; ethers getFeeData', async () => {
  const node = ctx.node;
  const { gp, tip, latest, fd } = await withStableHead(node, async () => ({
    gp: await node.rpc('eth_gasPrice'),
    tip: await node.rpc('eth_maxPriorityFeePerGas'),
    latest: await node.rpc('eth_getBlockByNumber', ['latest', false]),
    fd: await st.provider.getFeeData(),
  }));
  assertQuantity(gp, 'gasPrice');
  assertQuantity(tip, 'maxPriorityFeePerGas');
  assert.ok(q(tip) >= 0n);
  assert.equal(q(gp), q(tip) + q(latest.baseFeePerGas));
  assert.equal(fd.gasPrice, q(gp));
  assert.equal(fd.maxPriorityFeePerGas, q(tip));
  assert.equal(fd.maxFeePerGas, q(latest.baseFeePerGas) * 2n + q(tip));
  assertQuantity(await node.rpc('eth_blobBaseFee'), 'blobBaseFee');
});

test('eth_feeHistory shape: oldestBlock, baseFeePerGas n+1, gasUsedRatio n, reward n x percentiles, blob fields', async () => {
  const node = ctx.node;
  const n = 4;
  const { head, fh } = await withStableHead(node, async () => ({
    head: q(await node.rpc('eth_blockNumber')),
    fh: await node.rpc('eth_feeHistory', [toHex(n), 'latest', [10, 50, 90]]),
  }));
  assert.deepEqual(sortedKeys(fh), ['baseFeePerBlobGas', 'baseFeePerGas', 'blobGasUsedRatio', 'gasUsedRatio', 'oldestBlock', 'reward'].sort());
  assert.equal(q(fh.oldestBlock), head - BigInt(n) + 1n);
  assert.equal(fh.baseFeePerGas.length, n + 1);
  assert.equal(fh.baseFeePerBlobGas.length, n + 1);
  assert.equal(fh.gasUsedRatio.length, n);
  assert.equal(fh.blobGasUsedRatio.length, n);
  assert.equal(fh.reward.length, n);
  for (const r of fh.reward) {
    assert.equal(r.length, 3);
    r.forEach((x) => assertQuantity(x, 'reward'));
    assert.ok(q(r[0]) <= q(r[1]) && q(r[1]) <= q(r[2]));
  }
  fh.baseFeePerGas.forEach((x) => assertQuantity(x, 'baseFeePerGas'));
  for (const g of fh.gasUsedRatio) assert.ok(typeof g === 'number' && g >= 0 && g <= 1);
  // Base fees of existing blocks match the headers.
  for (let i = 0; i < n; i++) {
    const b = await node.rpc('eth_getBlockByNumber', [toHex(head - BigInt(n) + 1n + BigInt(i)), false]);
    assert.equal(fh.baseFeePerGas[i], b.baseFeePerGas);
    assert.equal(fh.gasUsedRatio[i], Number(q(b.gasUsed)) / Number(q(b.gasLimit)));
  }
  // Without percentiles: no reward field.
  const plain = await node.rpc('eth_feeHistory', ['0x2', 'latest', []]);
  assert.equal(plain.reward, undefined);
  assert.equal(plain.baseFeePerGas.length, 3);
  // Decimal block count and a block number as newest block.
  const dec = await node.rpc('eth_feeHistory', [2, toHex(head - 1n), []]);
  assert.equal(q(dec.oldestBlock), head - 2n);
  // The percentiles argument is required.
  const missing = await expectRpcError(node.rpc('eth_feeHistory', ['0x2', 'latest']));
  assert.deepEqual(missing, { code: -32602, message: 'missing value for required argument 2' });
  // Invalid percentiles.
  const e = await expectRpcError(node.rpc('eth_feeHistory', ['0x2', 'latest', [60, 50]]));
  assert.deepEqual(e, { code: -32000, message: 'invalid reward percentile: #0:60.000000 >= #1:50.000000' });
});

test('getBlock latest/pending/earliest/safe/finalized: shapes and baseFeePerGas', async () => {
  const node = ctx.node;
  const { latest, header, pending } = await withStableHead(node, async () => ({
    latest: await node.rpc('eth_getBlockByNumber', ['latest', false]),
    header: await node.rpc('eth_getHeaderByNumber', ['latest']),
    pending: await node.rpc('eth_getBlockByNumber', ['pending', false]),
  }));
  assert.deepEqual(sortedKeys(latest), BLOCK_KEYS);
  for (const k of ['number', 'gasLimit', 'gasUsed', 'timestamp', 'baseFeePerGas', 'size', 'difficulty', 'blobGasUsed', 'excessBlobGas']) assertQuantity(latest[k], k);
  assert.equal(latest.difficulty, '0x0');
  assert.equal(latest.nonce, '0x0000000000000000');
  assert.equal(latest.sha3Uncles, '0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347');
  assert.deepEqual(latest.uncles, []);
  assert.deepEqual(latest.withdrawals, []);
  assert.equal(latest.withdrawalsRoot, '0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421');

  assert.deepEqual(sortedKeys(header), HEADER_KEYS);
  assert.equal(header.hash, latest.hash);
  assert.deepEqual(await node.rpc('eth_getHeaderByHash', [latest.hash]), header);

  assert.equal(q(pending.number), q(latest.number) + 1n, 'pending is built on top of latest');
  assert.equal(pending.hash, null);
  assert.equal(pending.nonce, null);
  assert.equal(pending.miner, null);
  assertQuantity(pending.baseFeePerGas, 'pending baseFeePerGas');
  assert.equal(pending.parentHash, latest.hash);
  assert.equal(await node.rpc('eth_getHeaderByNumber', ['pending']), null);

  const earliest = await node.rpc('eth_getBlockByNumber', ['earliest', false]);
  assert.equal(earliest.number, '0x0');
  const safe = await node.rpc('eth_getBlockByNumber', ['safe', false]);
  const finalized = await node.rpc('eth_getBlockByNumber', ['finalized', false]);
  for (const [name, b] of [['safe', safe], ['finalized', finalized]]) {
    assert.ok(b, `${name} block exists`);
    assert.deepEqual(sortedKeys(b), BLOCK_KEYS);
    assert.ok(q(b.number) <= q(latest.number), `${name} <= latest`);
    assertQuantity(b.baseFeePerGas);
  }
  assert.ok(q(finalized.number) <= q(safe.number));

  // Through ethers.
  for (const tag of ['latest', 'pending', 'earliest', 'safe', 'finalized']) {
    const b = await st.provider.getBlock(tag);
    assert.ok(b, tag);
    assert.equal(typeof b.baseFeePerGas, 'bigint', `${tag} baseFeePerGas`);
    assert.ok(b.baseFeePerGas > 0n);
  }
  assert.equal((await st.provider.getBlock('pending')).hash, null);
});

test('BlockInfo: block.number/timestamp/basefee/chainid seen by a transaction match the block header', async () => {
  const r = await (await st.info.record()).wait();
  const log = st.info.interface.parseLog(r.logs[0]);
  const block = await st.provider.getBlock(r.blockNumber);
  assert.equal(log.args.number, BigInt(block.number));
  assert.equal(log.args.timestamp, BigInt(block.timestamp));
  assert.equal(log.args.basefee, block.baseFeePerGas);
  assert.equal(log.args.chainid, 1337n);
  assert.equal(await st.info.recordedNumber(), BigInt(block.number));

  // eth_call on latest sees the latest header; on an older block sees that block.
  const latest = await st.provider.getBlock('latest');
  const now = await st.info.info({ blockTag: latest.number });
  assert.equal(now.number, BigInt(latest.number));
  assert.equal(now.timestamp, BigInt(latest.timestamp));
  // geth: a call without a gas price runs with BASEFEE 0 (NoBaseFee) ...
  assert.equal(now.basefee, 0n);
  // ... and with a fee cap it sees the header's base fee.
  const withFee = await ctx.node.rpc('eth_call', [{
    from: DEV_ADDRESS, to: await st.info.getAddress(), data: st.info.interface.encodeFunctionData('info'),
    maxFeePerGas: toHex(latest.baseFeePerGas * 2n), maxPriorityFeePerGas: '0x0',
  }, toHex(latest.number)]);
  assert.equal(st.info.interface.decodeFunctionResult('info', withFee).basefee, latest.baseFeePerGas);
  assert.equal(now.chainid, 1337n);
  assert.equal(now.gaslimit, latest.gasLimit);
  assert.equal(now.coinbase, latest.miner);
  assert.equal(await st.info.blockHashOf(latest.number - 1, { blockTag: latest.number }), latest.parentHash);
  const older = await st.info.info({ blockTag: r.blockNumber - 1 });
  assert.equal(older.number, BigInt(r.blockNumber - 1));
  // Balance opcode agrees with eth_getBalance.
  assert.equal(await st.info.balanceOf(DEV_ADDRESS, { blockTag: latest.number }), await st.provider.getBalance(DEV_ADDRESS, latest.number));
});

test('Factory: CREATE and CREATE2 children at the predicted addresses, with code and storage', async () => {
  const faddr = await st.factory.getAddress();
  const nonceBefore = await st.provider.getTransactionCount(faddr);
  assert.equal(nonceBefore, 1, 'EIP-161: a contract starts with nonce 1');
  const r1 = await (await st.factory.create(11, { value: 5n })).wait();
  const ev1 = st.factory.interface.parseLog(r1.logs[0]);
  assert.equal(ev1.args.child, ethers.getCreateAddress({ from: faddr, nonce: 1 }));
  const child = new ethers.Contract(ev1.args.child, artifact('Child').abi, st.provider);
  assert.equal(await child.value(), 11n);
  assert.equal(await child.parent(), faddr);
  assert.equal(await st.provider.getBalance(ev1.args.child), 5n);
  assert.equal(await st.provider.getCode(ev1.args.child), artifact('Child').deployedBytecode);
  assert.equal(await st.provider.getTransactionCount(faddr), 2);

  const salt = ethers.id('salt');
  const predicted = await st.factory.predict(22, salt);
  const initCode = ethers.concat([artifact('Child').bytecode, ethers.AbiCoder.defaultAbiCoder().encode(['uint256'], [22])]);
  assert.equal(predicted, ethers.getCreate2Address(faddr, salt, ethers.keccak256(initCode)));
  const r2 = await (await st.factory.create2(22, salt)).wait();
  assert.equal(st.factory.interface.parseLog(r2.logs[0]).args.child, predicted);
  assert.equal(await st.factory.count(), 2n);
  // Storage slot 1 of the child holds `value`.
  assert.equal(BigInt(await st.provider.getStorage(predicted, 1)), 22n);
  // The same salt again fails (address collision) and estimateGas reports the revert.
  await assert.rejects(st.factory.create2(22, salt), (e) => e.code === 'CALL_EXCEPTION');
});
