// JSON-RPC protocol handling over HTTP and WebSocket: malformed JSON, invalid
// requests, wrong parameters, unknown methods, notifications and batches. The
// node must keep serving after each.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { useNode, test } from './lib/node.mjs';

const ctx = useNode('rpc');

async function stillServing() {
  assert.equal(await ctx.node.rpc('eth_chainId'), '0x539');
}

const expectError = async (body, expected, status = 200) => {
  const res = await ctx.node.post(body);
  assert.equal(res.status, status, `HTTP status for ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  assert.deepEqual(res.json, expected);
};

test('malformed JSON -> -32700 parse error with id null', async () => {
  await expectError('{"jsonrpc":"2.0","id":1,"method":', { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
  await expectError('not json at all', { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
  await stillServing();
});

test('unknown method -> -32601 with geth\'s message, id echoed (number and string ids)', async () => {
  await expectError({ jsonrpc: '2.0', id: 11, method: 'eth_foo', params: [] },
    { jsonrpc: '2.0', id: 11, error: { code: -32601, message: 'the method eth_foo does not exist/is not available' } });
  await expectError({ jsonrpc: '2.0', id: 'req-x', method: 'debug_nope', params: [] },
    { jsonrpc: '2.0', id: 'req-x', error: { code: -32601, message: 'the method debug_nope does not exist/is not available' } });
  await stillServing();
});

test('wrong params -> -32602 (missing, too many, undecodable)', async () => {
  await expectError({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [] },
    { jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'missing value for required argument 0' } });
  await expectError({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [1] },
    { jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'too many arguments, want at most 0' } });
  await expectError({ jsonrpc: '2.0', id: 3, method: 'eth_getBlockByNumber', params: ['0x0'] },
    { jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'missing value for required argument 1' } });
  await expectError({ jsonrpc: '2.0', id: 4, method: 'eth_getBlockByNumber', params: ['bogus', false] },
    { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'invalid argument 0: hex string without 0x prefix' } });
  await expectError({ jsonrpc: '2.0', id: 5, method: 'eth_getBalance', params: ['0x123', 'latest'] },
    { jsonrpc: '2.0', id: 5, error: { code: -32602, message: 'invalid argument 0: json: cannot unmarshal hex string of odd length into Go value of type common.Address' } });
  // Params given as an object are not positional arguments.
  const res = await ctx.node.post({ jsonrpc: '2.0', id: 6, method: 'eth_getBalance', params: { a: 1 } });
  assert.equal(res.json.id, 6);
  assert.equal(res.json.error.code, -32602);
  await stillServing();
});

test('invalid requests -> -32600; notifications get no response', async () => {
  await expectError({ jsonrpc: '2.0', id: 4 }, { jsonrpc: '2.0', id: 4, error: { code: -32600, message: 'invalid request' } });
  await expectError('"hello"', { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } });
  await expectError('null', { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } });
  const note = await ctx.node.post({ jsonrpc: '2.0', method: 'eth_chainId', params: [] });
  assert.equal(note.status, 200);
  assert.equal(note.text, '');
  await stillServing();
});

test('HTTP: non-JSON content type is 415; eth_subscribe is not available over HTTP', async () => {
  const res = await ctx.node.post({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' }, { contentType: 'text/plain' });
  assert.equal(res.status, 415);
  await expectError({ jsonrpc: '2.0', id: 5, method: 'eth_subscribe', params: ['newHeads'] },
    { jsonrpc: '2.0', id: 5, error: { code: -32601, message: 'notifications not supported' } });
  await stillServing();
});

test('rpc_modules lists eth, net, web3, txpool', async () => {
  const mods = await ctx.node.rpc('rpc_modules');
  for (const m of ['eth', 'net', 'web3', 'txpool']) assert.equal(mods[m], '1.0', `module ${m}`);
});

test('batches: responses matched by id, errors per element, notifications omitted', async () => {
  const res = await ctx.node.post([
    { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 'two', method: 'net_version', params: [] },
    { jsonrpc: '2.0', id: 3, method: 'nope_x', params: [] },
    { jsonrpc: '2.0', id: 4, method: 'eth_getBalance', params: [] },
    { jsonrpc: '2.0', method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 5, method: 'eth_blockNumber', params: [] },
  ]);
  assert.equal(res.status, 200);
  assert.ok(Array.isArray(res.json));
  assert.equal(res.json.length, 5);
  const byId = Object.fromEntries(res.json.map((r) => [String(r.id), r]));
  assert.deepEqual(byId['1'], { jsonrpc: '2.0', id: 1, result: '0x539' });
  assert.deepEqual(byId.two, { jsonrpc: '2.0', id: 'two', result: '1337' });
  assert.deepEqual(byId['3'].error, { code: -32601, message: 'the method nope_x does not exist/is not available' });
  assert.deepEqual(byId['4'].error, { code: -32602, message: 'missing value for required argument 0' });
  assert.match(byId['5'].result, /^0x[0-9a-f]+$/);
  // Invalid elements.
  await expectError('[1,2]', [
    { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
    { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
  ]);
  // Empty batch.
  await expectError('[]', { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'empty batch' } });
  // Too large (geth's default limit is 1000 requests).
  const big = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'eth_chainId', params: [] }));
  await expectError(big, [{ jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'batch too large' } }]);
  const ok = Array.from({ length: 1000 }, (_, i) => ({ jsonrpc: '2.0', id: i + 1, method: 'eth_chainId', params: [] }));
  const okRes = await ctx.node.post(ok);
  assert.equal(okRes.json.length, 1000);
  assert.ok(okRes.json.every((r) => r.result === '0x539'));
  await stillServing();
});

test('ethers batches its own requests (batchMaxCount > 1) and gets correct answers', async () => {
  const provider = ctx.node.provider({ batchMaxCount: 10, batchStallTime: 20 });
  const [cid, bn, bal, ver] = await Promise.all([
    provider.send('eth_chainId', []),
    provider.getBlockNumber(),
    provider.getBalance('0x0000000000000000000000000000000000000001'),
    provider.send('net_version', []),
  ]);
  assert.equal(cid, '0x539');
  assert.equal(typeof bn, 'number');
  assert.equal(typeof bal, 'bigint');
  assert.equal(ver, '1337');
});

function openWs(url) {
  const ws = new WebSocket(url);
  const msgs = [];
  const waiters = [];
  ws.on('message', (d) => {
    msgs.push(JSON.parse(d.toString()));
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise((resolve) => ws.once('close', resolve));
  const opened = new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = async (n) => {
    const deadline = Date.now() + 5000;
    while (msgs.length < n) {
      if (Date.now() > deadline) throw new Error(`timeout waiting for ${n} messages, have ${JSON.stringify(msgs)}`);
      await new Promise((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { ws, msgs, next, opened, closed };
}

test('WebSocket: errors and batches; malformed JSON gets -32700 and then the connection is closed (as geth does)', async () => {
  const c = openWs(ctx.node.wsUrl);
  await c.opened;
  try {
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_foo', params: [] }));
    await c.next(1);
    assert.deepEqual(c.msgs[0], { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'the method eth_foo does not exist/is not available' } });
    c.ws.send(JSON.stringify([{ jsonrpc: '2.0', id: 3, method: 'eth_chainId', params: [] }, { jsonrpc: '2.0', id: 4, method: 'net_version', params: [] }]));
    await c.next(2);
    assert.deepEqual(c.msgs[1], [{ jsonrpc: '2.0', id: 3, result: '0x539' }, { jsonrpc: '2.0', id: 4, result: '1337' }]);
    c.ws.send('{"jsonrpc":"2.0","id":1,"method":');
    await c.next(3);
    assert.equal(c.msgs[2].error.code, -32700);
    assert.equal(c.msgs[2].id, null);
    await Promise.race([c.closed, new Promise((_, rej) => setTimeout(() => rej(new Error('socket not closed after parse error')), 5000))]);
  } finally {
    c.ws.terminate();
  }
  // A new connection works.
  const d = openWs(ctx.node.wsUrl);
  await d.opened;
  try {
    d.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_chainId', params: [] }));
    await d.next(1);
    assert.deepEqual(d.msgs[0], { jsonrpc: '2.0', id: 9, result: '0x539' });
  } finally {
    d.ws.terminate();
  }
  await stillServing();
});
