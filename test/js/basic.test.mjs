// Chain identity and basic read methods.
import assert from 'node:assert/strict';
import { ethers } from 'ethers';
import { useNode, test, CHAIN_ID, DEV_ADDRESS, DEV_KEY } from './lib/node.mjs';

const ctx = useNode('basic');

test('eth_chainId is 0x539 (1337)', async () => {
  const node = ctx.node;
  assert.equal(await node.rpc('eth_chainId'), '0x539');
  const network = await node.provider({ staticNetwork: false }).getNetwork();
  assert.equal(network.chainId, CHAIN_ID);
});

test('net_version is "1337" and net_listening answers', async () => {
  assert.equal(await ctx.node.rpc('net_version'), '1337');
  assert.equal(typeof (await ctx.node.rpc('net_listening')), 'boolean');
});

test('web3_clientVersion names cocogeth; web3_sha3 hashes', async () => {
  const v = await ctx.node.rpc('web3_clientVersion');
  assert.equal(typeof v, 'string');
  assert.match(v, /cocogeth/i);
  assert.equal(await ctx.node.rpc('web3_sha3', ['0x68656c6c6f']), ethers.keccak256('0x68656c6c6f'));
});

test('eth_blockNumber, eth_syncing, genesis block', async () => {
  const node = ctx.node;
  const bn = await node.rpc('eth_blockNumber');
  assert.match(bn, /^0x(0|[1-9a-f][0-9a-f]*)$/);
  const genesis = await node.rpc('eth_getBlockByNumber', ['0x0', false]);
  assert.equal(genesis.number, '0x0');
  assert.equal(genesis.parentHash, ethers.ZeroHash);
  assert.deepEqual(genesis.transactions, []);
  assert.ok(genesis.baseFeePerGas, 'genesis has baseFeePerGas');
  const earliest = await node.rpc('eth_getBlockByNumber', ['earliest', false]);
  assert.equal(earliest.hash, genesis.hash);
  const byHash = await node.rpc('eth_getBlockByHash', [genesis.hash, false]);
  assert.deepEqual(byHash, genesis);
});

test('dev account is prefunded, nonce and code are as expected', async () => {
  const provider = ctx.node.provider();
  const bal = await provider.getBalance(DEV_ADDRESS);
  assert.ok(bal > ethers.parseEther('1000000'), `dev balance ${bal}`);
  const code = await provider.getCode(DEV_ADDRESS);
  assert.equal(code, '0x');
  const nonce = await provider.getTransactionCount(DEV_ADDRESS, 'latest');
  assert.equal(typeof nonce, 'number');
  // An account nobody touched.
  const fresh = ethers.Wallet.createRandom().address;
  assert.equal(await ctx.node.rpc('eth_getBalance', [fresh, 'latest']), '0x0');
  assert.equal(await ctx.node.rpc('eth_getTransactionCount', [fresh, 'latest']), '0x0');
  assert.equal(await ctx.node.rpc('eth_getCode', [fresh, 'latest']), '0x');
  assert.equal(
    await ctx.node.rpc('eth_getStorageAt', [fresh, '0x0', 'latest']),
    '0x0000000000000000000000000000000000000000000000000000000000000000',
  );
});

test('after a mined transaction: eth_syncing is false, unknown lookups return null', async () => {
  const node = ctx.node;
  const provider = node.provider();
  const r = await (await new ethers.Wallet(DEV_KEY, provider).sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n })).wait();
  assert.equal(r.status, 1);
  assert.equal(await node.rpc('eth_syncing'), false);
  const h = '0x' + '11'.repeat(32);
  assert.equal(await node.rpc('eth_getBlockByHash', [h, false]), null);
  assert.equal(await node.rpc('eth_getBlockByNumber', ['0xffffff', false]), null);
  assert.equal(await node.rpc('eth_getTransactionByHash', [h]), null);
  assert.equal(await node.rpc('eth_getTransactionReceipt', [h]), null);
  assert.equal(await node.rpc('eth_getBlockTransactionCountByHash', [h]), null);
});
