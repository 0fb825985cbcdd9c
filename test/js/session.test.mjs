// Callers prove who they are: a Sign-In with Ethereum session (coco_login)
// presented as a bearer token, as ?session= in the URL or in the WebSocket
// handshake, and an EIP-712 signed call. Signatures come from ethers v6
// (signMessage = personal_sign, signTypedData = eth_signTypedData_v4).
// A call without "from" runs as the session's address; a bad proof is an
// error that says why, never anonymity.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ethers } from 'ethers';
import { useNode, test, CHAIN_ID } from './lib/node.mjs';
import { siweMessage, login as loginOn, signedCall as moduleSignedCall, sessionProvider, sessionUrl } from './lib/session.mjs';
import { Web3 } from 'web3';

const ctx = useNode('session');
const wallet = ethers.Wallet.createRandom();

// Init code that returns msg.sender: CALLER PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN.
const WHO_AM_I = '0x3360005260206000f3';
const ZERO_WORD = ethers.zeroPadValue('0x', 32);

const siwe = siweMessage;
const login = (signer, opts) => loginOn(ctx.node, signer, opts);

/** JSON-RPC over HTTP with extra headers or a URL suffix. */
async function post(method, params, { headers = {}, query = '' } = {}) {
  const res = await fetch(ctx.node.httpUrl + '/' + query, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: res.status, json: await res.json() };
}

const word = (addr) => ethers.zeroPadValue(addr.toLowerCase(), 32);

test('coco_login returns a token for a valid SIWE message, with address and expiry', async () => {
  const r = await login(wallet);
  ctx.token = r.token;
  assert.equal(ethers.getAddress(r.address), wallet.address);
  assert.ok(r.expires > Date.now() / 1000 + 3500 && r.expires <= Date.now() / 1000 + 3600, `expires ${r.expires}`);
  assert.match(r.token, /^[A-Za-z0-9_-]+$/);
});

test('a session makes eth_call run as its address over HTTP (bearer and ?session=)', async () => {
  const anon = await post('eth_call', [{ data: WHO_AM_I }, 'latest']);
  assert.equal(anon.json.result, ZERO_WORD);
  const bearer = await post('eth_call', [{ data: WHO_AM_I }, 'latest'], { headers: { Authorization: `Bearer ${ctx.token}` } });
  assert.equal(bearer.json.result, word(wallet.address));
  const query = await post('eth_call', [{ data: WHO_AM_I }, 'latest'], { query: `?session=${ctx.token}` });
  assert.equal(query.json.result, word(wallet.address));
  // Through ethers, with the session in the provider's requests.
  const req = new ethers.FetchRequest(ctx.node.httpUrl);
  req.setHeader('Authorization', `Bearer ${ctx.token}`);
  const provider = new ethers.JsonRpcProvider(req, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  try {
    assert.equal(await provider.call({ data: WHO_AM_I }), word(wallet.address));
  } finally {
    provider.destroy();
  }
});

test('a session in the WebSocket handshake holds for the whole connection', async () => {
  const provider = new ethers.WebSocketProvider(
    () => new WebSocket(ctx.node.wsUrl, { headers: { Authorization: `Bearer ${ctx.token}` } }),
    Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  try {
    assert.equal(await provider.call({ data: WHO_AM_I }), word(wallet.address));
    assert.equal(await provider.call({ data: WHO_AM_I }), word(wallet.address));
  } finally {
    provider.destroy();
  }
  // Without one, the same connection kind is anonymous.
  const anon = new ethers.WebSocketProvider(ctx.node.wsUrl, Number(CHAIN_ID), { staticNetwork: true, cacheTimeout: -1 });
  try {
    assert.equal(await anon.call({ data: WHO_AM_I }), ZERO_WORD);
  } finally {
    anon.destroy();
  }
});

test('a bad session is refused with 401 and a reason, over HTTP and WebSocket', async () => {
  const forged = Buffer.from(JSON.stringify({ message: siwe(wallet.address), signature: await ethers.Wallet.createRandom().signMessage(siwe(wallet.address)) })).toString('base64url');
  for (const [token, reason] of [['junk!', 'not base64url'], [forged, 'sign-in signature is not by']]) {
    const r = await post('eth_blockNumber', [], { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, -32001);
    assert.ok(r.json.error.message.includes(reason), r.json.error.message);
  }
  const status = await new Promise((resolve) => {
    const ws = new WebSocket(ctx.node.wsUrl, { headers: { Authorization: 'Bearer junk!' } });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
    ws.on('open', () => { ws.close(); resolve(101); });
    ws.on('error', () => {});
  });
  assert.equal(status, 401);
});

test('coco_login refuses wrong chain, over-long and future sessions, and others\' signatures', async () => {
  const cases = [
    [{ chainId: 1n }, 'for chain id 1, this network is 1337'],
    [{ ttlMs: 25 * 3600_000 }, 'longer than the network allows'],
    [{ issuedAt: new Date(Date.now() + 3600_000) }, 'issued in the future'],
  ];
  for (const [opts, reason] of cases) {
    const message = siwe(wallet.address, opts);
    const r = await post('coco_login', [message, await wallet.signMessage(message)]);
    assert.ok(r.json.error?.message.includes(reason), JSON.stringify(r.json));
  }
  const message = siwe(wallet.address);
  const r = await post('coco_login', [message, await ethers.Wallet.createRandom().signMessage(message)]);
  assert.ok(r.json.error?.message.includes('sign-in signature is not by'), JSON.stringify(r.json));
});

async function signedCall(signer, call, { expiry, blockOffset = 0 } = {}) {
  const head = await ctx.node.rpc('eth_getBlockByNumber', ['latest', false]);
  const number = BigInt(head.number) - BigInt(blockOffset);
  const block = await ctx.node.rpc('eth_getBlockByNumber', [ethers.toQuantity(number), false]);
  expiry ??= Math.floor(Date.now() / 1000) + 300;
  const domain = { name: 'cocogeth', version: '1', chainId: CHAIN_ID };
  const types = {
    Call: [
      { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
      { name: 'data', type: 'bytes' }, { name: 'blockNumber', type: 'uint64' }, { name: 'blockHash', type: 'bytes32' },
      { name: 'expiry', type: 'uint64' },
    ],
  };
  const value = {
    from: call.from, to: call.to ?? ethers.ZeroAddress, value: call.value ?? 0n, data: call.data ?? '0x',
    blockNumber: number, blockHash: block.hash, expiry,
  };
  const signature = await signer.signTypedData(domain, types, value);
  return { ...call, auth: { blockNumber: ethers.toQuantity(number), blockHash: block.hash, expiry: ethers.toQuantity(expiry), signature } };
}

test('an EIP-712 signed call proves from; a wrong one says why', async () => {
  const good = await signedCall(wallet, { from: wallet.address, data: WHO_AM_I });
  assert.equal(await ctx.node.rpc('eth_call', [good, 'latest']), word(wallet.address));
  const spoofed = { ...good, from: ethers.Wallet.createRandom().address };
  const expired = await signedCall(wallet, { from: wallet.address, data: WHO_AM_I }, { expiry: Math.floor(Date.now() / 1000) - 1 });
  const wrongHash = { ...good, auth: { ...good.auth, blockHash: ethers.ZeroHash } };
  const mangled = { ...good, auth: { ...good.auth, signature: '0x1234' } };
  const altered = { ...good, data: '0x3360005260206000f300' };
  for (const [call, reason] of [
    [spoofed, 'call signature is not by from'],
    [expired, 'call signature expired'],
    [wrongHash, 'not the canonical block'],
    [mangled, 'want 65 bytes'],
    [altered, 'call signature is not by from'],
  ]) {
    const r = await post('eth_call', [call, 'latest']);
    assert.equal(r.json.error?.code, -32001, JSON.stringify(r.json));
    assert.ok(r.json.error.message.includes(reason), r.json.error.message);
  }
  const est = await post('eth_estimateGas', [spoofed, 'latest']);
  assert.ok(est.json.error?.message.includes('call signature is not by from'), JSON.stringify(est.json));
});

test('the module signs calls and makes session providers; web3.js takes the session as a header or in the URL', async () => {
  const provider = sessionProvider(ctx.node, ctx.token);
  assert.equal(await moduleSignedCall(wallet, provider, { data: WHO_AM_I }), word(wallet.address));
  const web3 = new Web3(new Web3.providers.HttpProvider(ctx.node.httpUrl, {
    providerOptions: { headers: { Authorization: `Bearer ${ctx.token}` } },
  }));
  assert.equal(await web3.eth.call({ data: WHO_AM_I }), word(wallet.address));
  const viaUrl = new Web3(sessionUrl(ctx.node.httpUrl, ctx.token));
  assert.equal(await viaUrl.eth.call({ data: WHO_AM_I }), word(wallet.address));
  const anon = new Web3(ctx.node.httpUrl);
  assert.equal(await anon.eth.call({ data: WHO_AM_I }), ZERO_WORD);
});
