// Transaction admission errors of eth_sendRawTransaction, with geth's exact
// messages and JSON-RPC error code -32000. Each transaction is signed locally
// with ethers (Wallet.signTransaction) and submitted with provider.send.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, expectRpcError, waitReceipt } from './lib/node.mjs';
import { devWallet, fundedWallets } from './lib/contracts.mjs';
import { GWEI, fees, signRaw } from './lib/util.mjs';

const ctx = useNode('admission');
const st = {};
const MAX_TX_GAS = 1n << 24n; // EIP-7825 (Osaka) per-transaction gas cap
const TX_MAX_SIZE = 131072; // geth legacypool txMaxSize (4 * 32 KiB)

async function sendRaw(raw) {
  return st.provider.send('eth_sendRawTransaction', [raw]);
}

async function rejectRaw(raw) {
  const e = await expectRpcError(sendRaw(raw));
  assert.equal(e.code, -32000, `error code for ${e.message}`);
  return e.message;
}

test('setup: funded sender', async () => {
  st.provider = ctx.node.provider();
  [st.w] = await fundedWallets(devWallet(st.provider), 1, ethers.parseEther('5'));
  st.to = ethers.Wallet.createRandom().address;
});

const base = async (extra = {}) => ({
  type: 2,
  nonce: await st.provider.getTransactionCount(st.w.address, 'pending'),
  to: st.to,
  value: 1n,
  gasLimit: 21000n,
  ...(await fees(ctx.node)),
  ...extra,
});

test('nonce too low: next nonce N, tx nonce M', async () => {
  const raw0 = await signRaw(st.w, await base());
  const hash = await sendRaw(raw0);
  await waitReceipt(ctx.node, hash);
  const next = await st.provider.getTransactionCount(st.w.address, 'latest');
  assert.ok(next >= 1);
  const stale = await signRaw(st.w, await base({ nonce: next - 1, value: 2n }));
  assert.equal(await rejectRaw(stale), `nonce too low: next nonce ${next}, tx nonce ${next - 1}`);
  // ethers classifies it.
  await assert.rejects(st.provider.broadcastTransaction(stale), (e) => e.code === 'NONCE_EXPIRED');
});

test('insufficient funds for gas * price + value: balance 0, tx cost C, overshot C', async () => {
  const poor = ethers.Wallet.createRandom().connect(st.provider);
  const f = await fees(ctx.node);
  const value = 12345n;
  const raw = await signRaw(poor, { type: 2, nonce: 0, to: st.to, value, gasLimit: 21000n, ...f });
  const cost = 21000n * f.maxFeePerGas + value;
  assert.equal(await rejectRaw(raw), `insufficient funds for gas * price + value: balance 0, tx cost ${cost}, overshot ${cost}`);
  await assert.rejects(st.provider.broadcastTransaction(raw), (e) => e.code === 'INSUFFICIENT_FUNDS');
  // Legacy: cost is gas * gasPrice + value.
  const gasPrice = f.maxFeePerGas;
  const rawL = await signRaw(poor, { type: 0, nonce: 0, to: st.to, value, gasLimit: 21000n, gasPrice });
  const costL = 21000n * gasPrice + value;
  assert.equal(await rejectRaw(rawL), `insufficient funds for gas * price + value: balance 0, tx cost ${costL}, overshot ${costL}`);
});

test('intrinsic gas too low: gas G, minimum needed M', async () => {
  const raw = await signRaw(st.w, await base({ gasLimit: 20000n }));
  assert.equal(await rejectRaw(raw), 'intrinsic gas too low: gas 20000, minimum needed 21000');
  // With calldata: 21000 + 16 per non-zero byte + 4 per zero byte.
  const raw2 = await signRaw(st.w, await base({ gasLimit: 21000n, data: '0x0001' }));
  assert.equal(await rejectRaw(raw2), 'intrinsic gas too low: gas 21000, minimum needed 21020');
  // Contract creation: 53000 + init code word cost.
  const raw3 = await signRaw(st.w, await base({ to: null, gasLimit: 50000n, data: '0x00' }));
  assert.equal(await rejectRaw(raw3), 'intrinsic gas too low: gas 50000, minimum needed 53006');
});

test('gas above the block gas limit / per-transaction cap is refused as geth does', async () => {
  const block = await st.provider.getBlock('latest');
  const f = { maxPriorityFeePerGas: 1n, maxFeePerGas: block.baseFeePerGas * 2n + 1n };
  if (block.gasLimit < MAX_TX_GAS) {
    // The Osaka cap is checked first, so "exceeds block gas limit" is reachable only below it.
    const raw = await signRaw(st.w, await base({ gasLimit: block.gasLimit + 1n, ...f }));
    assert.equal(await rejectRaw(raw), 'exceeds block gas limit');
  } else {
    const raw = await signRaw(st.w, await base({ gasLimit: MAX_TX_GAS + 1n, ...f }));
    assert.equal(await rejectRaw(raw), `transaction gas limit too high (cap: ${MAX_TX_GAS}, tx: ${MAX_TX_GAS + 1n})`);
  }
  // Exactly at the cap is fine (if the block allows it).
  const atCap = block.gasLimit < MAX_TX_GAS ? block.gasLimit : MAX_TX_GAS;
  const ok = await signRaw(st.w, await base({ gasLimit: atCap, ...f }));
  const hash = await sendRaw(ok);
  const r = await waitReceipt(ctx.node, hash);
  assert.equal(r.status, '0x1');
  assert.equal(r.gasUsed, '0x5208');
});

test('oversized data: transaction size S, limit 131072', async () => {
  const data = '0x' + 'ab'.repeat(TX_MAX_SIZE);
  const raw = await signRaw(st.w, await base({ gasLimit: 5_000_000n, data }));
  const size = (raw.length - 2) / 2;
  assert.equal(await rejectRaw(raw), `oversized data: transaction size ${size}, limit ${TX_MAX_SIZE}`);
});

test('tip below the pool minimum: "transaction gas price below minimum"', async () => {
  const b = await base();
  const raw = await signRaw(st.w, { ...b, maxPriorityFeePerGas: 0n });
  assert.match(await rejectRaw(raw), /^transaction gas price below minimum: gas tip cap 0, minimum needed [1-9][0-9]*$/);
  const rawL = await signRaw(st.w, { type: 0, nonce: b.nonce, to: st.to, value: 1n, gasLimit: 21000n, gasPrice: 0n });
  assert.match(await rejectRaw(rawL), /^transaction gas price below minimum: gas tip cap 0, minimum needed [1-9][0-9]*$/);
});

// Hand-encodes and signs a type-2 transaction (ethers refuses tip > fee cap).
function signDynamicFeeByHand(wallet, tx) {
  const q = (v) => (v === 0n || v === 0 ? '0x' : ethers.toBeArray(v));
  const fields = [q(tx.chainId), q(tx.nonce), q(tx.maxPriorityFeePerGas), q(tx.maxFeePerGas), q(tx.gasLimit), tx.to, q(tx.value), tx.data || '0x', []];
  const unsigned = ethers.concat(['0x02', ethers.encodeRlp(fields)]);
  const sig = wallet.signingKey.sign(ethers.keccak256(unsigned));
  return ethers.concat(['0x02', ethers.encodeRlp([...fields, q(sig.yParity), q(BigInt(sig.r)), q(BigInt(sig.s))])]);
}

test('max priority fee above max fee is refused', async () => {
  const b = await base();
  const raw = signDynamicFeeByHand(st.w, { ...b, chainId: 1337n, maxPriorityFeePerGas: 10n * GWEI, maxFeePerGas: 5n * GWEI });
  // Sanity: the signature recovers to our sender.
  const fields = ethers.decodeRlp(ethers.dataSlice(raw, 1));
  const unsigned = ethers.concat(['0x02', ethers.encodeRlp(fields.slice(0, 9))]);
  const sig = ethers.Signature.from({ r: ethers.zeroPadValue(fields[10], 32), s: ethers.zeroPadValue(fields[11], 32), yParity: Number(fields[9] === '0x' ? 0 : fields[9]) });
  assert.equal(ethers.recoverAddress(ethers.keccak256(unsigned), sig), st.w.address);
  assert.equal(await rejectRaw(raw), 'max priority fee per gas higher than max fee per gas');
});

test('wrong chain id: "invalid sender: invalid chain id for signer: have 1 want 1337"', async () => {
  const b = await base();
  const raw2 = await st.w.signTransaction({ ...b, chainId: 1n });
  assert.equal(await rejectRaw(raw2), 'invalid sender: invalid chain id for signer: have 1 want 1337');
  const raw0 = await st.w.signTransaction({ type: 0, chainId: 1n, nonce: b.nonce, to: st.to, value: 1n, gasLimit: 21000n, gasPrice: b.maxFeePerGas });
  assert.equal(await rejectRaw(raw0), 'invalid sender: invalid chain id for signer: have 1 want 1337');
  const raw1 = await st.w.signTransaction({ type: 1, chainId: 5n, nonce: b.nonce, to: st.to, value: 1n, gasLimit: 21000n, gasPrice: b.maxFeePerGas });
  assert.equal(await rejectRaw(raw1), 'invalid sender: invalid chain id for signer: have 5 want 1337');
});

test('invalid signature values: "invalid sender: invalid transaction v, r, s values"', async () => {
  const b = await base();
  // A legacy EIP-155 transaction with r = 0, encoded by hand.
  const rlp = ethers.encodeRlp([
    ethers.toBeArray(b.nonce), ethers.toBeArray(b.maxFeePerGas), ethers.toBeArray(21000n), st.to, ethers.toBeArray(1n), '0x',
    ethers.toBeArray(1337n * 2n + 35n), '0x', ethers.toBeArray(1n),
  ]);
  assert.equal(await rejectRaw(rlp), 'invalid sender: invalid transaction v, r, s values');
});

test('unprotected (pre-EIP-155) legacy transaction is refused over RPC', async () => {
  const b = await base();
  const tx = ethers.Transaction.from({ type: 0, chainId: 0n, nonce: b.nonce, to: st.to, value: 1n, gasLimit: 21000n, gasPrice: b.maxFeePerGas });
  tx.signature = st.w.signingKey.sign(tx.unsignedHash);
  const raw = tx.serialized;
  assert.ok([27, 28].includes(Number(ethers.decodeRlp(raw)[6])), 'v is 27/28');
  assert.equal(await rejectRaw(raw), 'only replay-protected (EIP-155) transactions allowed over RPC');
});

test('fee above the RPC tx fee cap (1 ether) is refused', async () => {
  const raw = await signRaw(st.w, await base({ maxPriorityFeePerGas: 1n * GWEI, maxFeePerGas: 60000n * GWEI }));
  assert.equal(await rejectRaw(raw), 'tx fee (1.26 ether) exceeds the configured cap (1.00 ether)');
});

test('undecodable raw transactions are refused', async () => {
  assert.equal(await rejectRaw('0x'), 'typed transaction too short');
  assert.equal(await rejectRaw('0x1234'), 'transaction type not supported');
  const e = await expectRpcError(sendRaw('0xzz'));
  assert.equal(e.code, -32602);
  assert.match(e.message, /^invalid argument 0: /);
});

test('after all rejections the sender still transacts normally and nonces have no gap', async () => {
  const latest = await st.provider.getTransactionCount(st.w.address, 'latest');
  const pending = await st.provider.getTransactionCount(st.w.address, 'pending');
  assert.equal(latest, pending);
  const r = await (await st.w.sendTransaction({ to: st.to, value: 5n })).wait();
  assert.equal(r.status, 1);
  assert.deepEqual(await ctx.node.rpc('txpool_status'), { pending: '0x0', queued: '0x0' });
});
