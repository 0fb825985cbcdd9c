// Small shared helpers for the e2e tests.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';

export const GWEI = 10n ** 9n;

/** Parses a JSON-RPC hex quantity. */
export const q = (hex) => BigInt(hex);

/** Asserts `v` is a canonical JSON-RPC hex quantity (0x0 or 0x without leading zeros). */
export function assertQuantity(v, what = 'value') {
  assert.equal(typeof v, 'string', `${what} is not a string: ${JSON.stringify(v)}`);
  assert.match(v, /^0x(0|[1-9a-f][0-9a-f]*)$/, `${what} is not a hex quantity: ${v}`);
}

/** Asserts `v` is 0x-prefixed lower-case hex data of `bytes` bytes (any length when omitted). */
export function assertData(v, bytes, what = 'value') {
  assert.equal(typeof v, 'string', `${what} is not a string: ${JSON.stringify(v)}`);
  assert.match(v, /^0x([0-9a-f]{2})*$/, `${what} is not hex data: ${v}`);
  if (bytes !== undefined) assert.equal((v.length - 2) / 2, bytes, `${what} has ${(v.length - 2) / 2} bytes, want ${bytes}`);
}

export const sortedKeys = (o) => Object.keys(o).sort();

/** Keys geth returns for a block on a Prague/Osaka chain (eth_getBlockBy*). */
export const BLOCK_KEYS = [
  'baseFeePerGas', 'blobGasUsed', 'difficulty', 'excessBlobGas', 'extraData', 'gasLimit', 'gasUsed', 'hash',
  'logsBloom', 'miner', 'mixHash', 'nonce', 'number', 'parentBeaconBlockRoot', 'parentHash', 'receiptsRoot',
  'requestsHash', 'sha3Uncles', 'size', 'stateRoot', 'timestamp', 'transactions', 'transactionsRoot', 'uncles',
  'withdrawals', 'withdrawalsRoot',
].sort();

/** Keys of a header (eth_subscribe newHeads / eth_getHeaderBy*): block keys minus body fields. */
export const HEADER_KEYS = BLOCK_KEYS.filter((k) => !['size', 'transactions', 'uncles', 'withdrawals'].includes(k));

/** Keys geth returns for a receipt of a non-blob transaction. */
export const RECEIPT_KEYS = [
  'blockHash', 'blockNumber', 'contractAddress', 'cumulativeGasUsed', 'effectiveGasPrice', 'from', 'gasUsed',
  'logs', 'logsBloom', 'status', 'to', 'transactionHash', 'transactionIndex', 'type',
].sort();

/** Keys geth returns for a log. */
export const LOG_KEYS = [
  'address', 'blockHash', 'blockNumber', 'blockTimestamp', 'data', 'logIndex', 'removed', 'topics',
  'transactionHash', 'transactionIndex',
].sort();

const TX_COMMON = ['blockHash', 'blockNumber', 'blockTimestamp', 'from', 'gas', 'gasPrice', 'hash', 'input', 'nonce', 'r', 's', 'to', 'transactionIndex', 'type', 'v', 'value'];

/** Keys geth returns for a transaction of the given type (eth_getTransactionBy*). */
export function txKeys(type, { protectedLegacy = true } = {}) {
  switch (type) {
    case 0:
      return [...TX_COMMON, ...(protectedLegacy ? ['chainId'] : [])].sort();
    case 1:
      return [...TX_COMMON, 'accessList', 'chainId', 'yParity'].sort();
    case 2:
      return [...TX_COMMON, 'accessList', 'chainId', 'yParity', 'maxFeePerGas', 'maxPriorityFeePerGas'].sort();
    default:
      throw new Error(`no key list for type ${type}`);
  }
}

/** Latest base fee as bigint. */
export async function baseFee(node) {
  const b = await node.rpc('eth_getBlockByNumber', ['latest', false]);
  return q(b.baseFeePerGas);
}

/** EIP-1559 fee fields comfortably above the current base fee. */
export async function fees(node, tip = 1n * GWEI) {
  const base = await baseFee(node);
  return { maxPriorityFeePerGas: tip, maxFeePerGas: base * 2n + tip + 10n * GWEI };
}

/** Signs `tx` with `wallet` (filling chainId 1337) and returns the raw hex. */
export async function signRaw(wallet, tx) {
  return wallet.signTransaction({ chainId: 1337n, ...tx });
}

export const toHex = (n) => ethers.toQuantity(n);

/**
 * Runs `read` (reads only, no assertions) until the head did not move while
 * it ran, and returns its result. A quiet chain's head can move on its own:
 * the leader adds one empty block 3 s after the last block with transactions
 * (eth/builder.go), so reads that must see one head are repeated if that
 * block landed between them.
 */
export async function withStableHead(node, read) {
  for (let i = 0; ; i++) {
    const before = await node.rpc('eth_blockNumber');
    const out = await read();
    if ((await node.rpc('eth_blockNumber')) === before || i === 4) return out;
  }
}
