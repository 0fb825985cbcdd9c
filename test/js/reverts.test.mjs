// Reverts as geth reports them: JSON-RPC error code 3 with the revert data,
// decoded by ethers (reason strings, custom errors, panics) on eth_call,
// eth_estimateGas and mined transactions.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError, DEV_ADDRESS } from './lib/node.mjs';
import { deploy, devWallet } from './lib/contracts.mjs';
import { toHex } from './lib/util.mjs';

const ctx = useNode('reverts');
const st = {};
const coder = ethers.AbiCoder.defaultAbiCoder();
const errorData = (reason) => '0x08c379a0' + coder.encode(['string'], [reason]).slice(2);
const panicData = (code) => '0x4e487b71' + coder.encode(['uint256'], [code]).slice(2);
const REASON = 'Events: reason string';

test('setup: deploy Events', async () => {
  st.provider = ctx.node.provider();
  st.wallet = devWallet(st.provider);
  st.events = await deploy(st.wallet, 'Events');
  st.address = await st.events.getAddress();
  st.iface = st.events.interface;
  st.call = (fn, args = [], extra = {}) => ({ from: DEV_ADDRESS, to: st.address, data: st.iface.encodeFunctionData(fn, args), ...extra });
});

test('eth_call: reason string -> code 3, "execution reverted: <reason>", Error(string) data', async () => {
  const e = await expectRpcError(ctx.node.rpc('eth_call', [st.call('revertWithReason'), 'latest']));
  assert.deepEqual(e, { code: 3, message: `execution reverted: ${REASON}`, data: errorData(REASON) });
});

test('eth_call: custom error -> code 3, "execution reverted", ABI-encoded error data', async () => {
  const e = await expectRpcError(ctx.node.rpc('eth_call', [st.call('revertWithCustom', [5]), 'latest']));
  const data = st.iface.encodeErrorResult('CustomError', [DEV_ADDRESS, 5, 'custom']);
  assert.deepEqual(e, { code: 3, message: 'execution reverted', data });
  const parsed = st.iface.parseError(e.data);
  assert.equal(parsed.name, 'CustomError');
  assert.deepEqual([...parsed.args], [DEV_ADDRESS, 5n, 'custom']);
  // Without arguments.
  const u = await expectRpcError(ctx.node.rpc('eth_call', [{ ...st.call('onlyOwner'), from: ethers.ZeroAddress }, 'latest']));
  assert.deepEqual(u, { code: 3, message: 'execution reverted', data: st.iface.getError('Unauthorized').selector });
});

test('eth_call: panics carry Panic(uint256) with geth\'s reason text', async () => {
  const cases = [
    ['panicAssert', [], 0x01, 'assert(false)'],
    ['panicDivide', [0], 0x12, 'division or modulo by zero'],
    ['panicOverflow', [1], 0x11, 'arithmetic underflow or overflow'],
  ];
  for (const [fn, args, code, text] of cases) {
    const e = await expectRpcError(ctx.node.rpc('eth_call', [st.call(fn, args), 'latest']));
    assert.deepEqual(e, { code: 3, message: `execution reverted: ${text}`, data: panicData(code) }, fn);
  }
});

test('eth_call: empty revert and value sent to a non-payable function -> code 3 with data "0x"', async () => {
  const e = await expectRpcError(ctx.node.rpc('eth_call', [st.call('revertEmpty'), 'latest']));
  assert.deepEqual(e, { code: 3, message: 'execution reverted', data: '0x' });
  const v = await expectRpcError(ctx.node.rpc('eth_call', [st.call('get', [1], { value: '0x1' }), 'latest']));
  assert.deepEqual(v, { code: 3, message: 'execution reverted', data: '0x' });
});

test('eth_call: value above the caller balance -> geth insufficient funds error', async () => {
  const poor = ethers.Wallet.createRandom().address;
  const e = await expectRpcError(ctx.node.rpc('eth_call', [{ from: poor, to: st.address, value: '0x3e8', gas: toHex(100000), data: st.iface.encodeFunctionData('deposit') }, 'latest']));
  assert.equal(e.code, -32000);
  assert.equal(e.message, `err: insufficient funds for gas * price + value: address ${poor} have 0 want 1000 (supplied gas 100000)`);
});

test('ethers staticCall decodes reason string, custom error and panics', async () => {
  await assert.rejects(st.events.revertWithReason.staticCall(), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.action, 'call');
    assert.equal(e.reason, REASON);
    assert.equal(e.revert.name, 'Error');
    assert.deepEqual([...e.revert.args], [REASON]);
    assert.equal(e.data, errorData(REASON));
    return true;
  });
  // Plain view call (no staticCall) too.
  await assert.rejects(st.events.revertWithCustom(9), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.revert.name, 'CustomError');
    assert.equal(e.revert.signature, 'CustomError(address,uint256,string)');
    assert.deepEqual([...e.revert.args], [DEV_ADDRESS, 9n, 'custom']);
    assert.equal(e.reason, 'CustomError(address,uint256,string)');
    return true;
  });
  await assert.rejects(st.events.panicAssert.staticCall(), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.revert.name, 'Panic');
    assert.deepEqual([...e.revert.args], [1]);
    assert.equal(e.reason, 'Panic due to ASSERT_FALSE(1)');
    return true;
  });
  await assert.rejects(st.events.panicDivide.staticCall(0), (e) => {
    assert.equal(e.reason, 'Panic due to DIVIDE_BY_ZERO(18)');
    return true;
  });
  await assert.rejects(st.events.revertEmpty.staticCall(), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.data, '0x');
    assert.equal(e.reason, 'require(false)');
    return true;
  });
});

test('eth_estimateGas: reverts are code 3 with data; ethers sendTransaction fails before sending', async () => {
  const node = ctx.node;
  const r = await expectRpcError(node.rpc('eth_estimateGas', [st.call('revertWithReasonTx', [1])]));
  assert.deepEqual(r, { code: 3, message: `execution reverted: ${REASON}`, data: errorData(REASON) });
  const c = await expectRpcError(node.rpc('eth_estimateGas', [st.call('revertWithCustomTx', [3])]));
  assert.deepEqual(c, { code: 3, message: 'execution reverted', data: st.iface.encodeErrorResult('CustomError', [DEV_ADDRESS, 3, 'custom']) });
  const p = await expectRpcError(node.rpc('eth_estimateGas', [st.call('panicDivideTx', [0])]));
  assert.deepEqual(p, { code: 3, message: 'execution reverted: division or modulo by zero', data: panicData(0x12) });
  const empty = await expectRpcError(node.rpc('eth_estimateGas', [st.call('revertEmpty')]));
  assert.deepEqual(empty, { code: 3, message: 'execution reverted', data: '0x' });

  const nonceBefore = await st.provider.getTransactionCount(DEV_ADDRESS, 'pending');
  await assert.rejects(st.events.revertWithReasonTx(1), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.action, 'estimateGas');
    assert.equal(e.reason, REASON);
    return true;
  });
  await assert.rejects(st.events.revertWithCustomTx(4), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.action, 'estimateGas');
    const parsed = st.iface.parseError(e.data);
    assert.equal(parsed.name, 'CustomError');
    assert.deepEqual([...parsed.args], [DEV_ADDRESS, 4n, 'custom']);
    return true;
  });
  await assert.rejects(st.events.panicDivideTx(0), (e) => {
    assert.equal(e.code, 'CALL_EXCEPTION');
    assert.equal(e.reason, 'Panic due to DIVIDE_BY_ZERO(18)');
    return true;
  });
  assert.equal(await st.provider.getTransactionCount(DEV_ADDRESS, 'pending'), nonceBefore, 'nothing was sent');
});

test('eth_estimateGas: value above balance fails at the Osaka per-tx gas cap with geth\'s message', async () => {
  const poor = ethers.Wallet.createRandom().address;
  const e = await expectRpcError(ctx.node.rpc('eth_estimateGas', [{ from: poor, to: DEV_ADDRESS, value: '0x1' }]));
  // The estimator's upper bound is min(block gas limit, RPC gas cap, EIP-7825 cap 2^24).
  assert.deepEqual(e, {
    code: -32000,
    message: `failed with 16777216 gas: insufficient funds for gas * price + value: address ${poor} have 0 want 1`,
  });
  await assert.rejects(st.provider.estimateGas({ from: poor, to: DEV_ADDRESS, value: 1n }), (err) => err.code === 'INSUFFICIENT_FUNDS');
});

test('mined reverting transactions: status 0, state unchanged, ethers wait() throws CALL_EXCEPTION', async () => {
  const node = ctx.node;
  const counterBefore = await st.events.counter();
  for (const [fn, args] of [['revertWithReasonTx', [7]], ['revertWithCustomTx', [7]], ['panicDivideTx', [0]]]) {
    const tx = await st.events[fn](...args, { gasLimit: 200000 });
    await assert.rejects(tx.wait(), (e) => {
      assert.equal(e.code, 'CALL_EXCEPTION', fn);
      assert.equal(e.receipt.status, 0);
      assert.equal(e.receipt.hash, tx.hash);
      assert.ok(e.receipt.gasUsed > 21000n && e.receipt.gasUsed < 200000n, `${fn} gasUsed ${e.receipt.gasUsed}`);
      return true;
    });
    const raw = await node.rpc('eth_getTransactionReceipt', [tx.hash]);
    assert.equal(raw.status, '0x0');
    assert.deepEqual(raw.logs, []);
  }
  assert.equal(await st.events.counter(), counterBefore, 'reverted state changes are discarded');
  // Out of gas: status 0 and all gas used.
  const oog = await st.events.burn(5000, { gasLimit: 60000 });
  const err = await oog.wait().catch((e) => e);
  assert.equal(err.code, 'CALL_EXCEPTION');
  assert.equal(err.receipt.status, 0);
  assert.equal(err.receipt.gasUsed, 60000n);
});
