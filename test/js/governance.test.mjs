// Governance through ethers v6 and the published ABI (governance/abi.json):
// a governed 3-node network of its own (lib/governed.mjs: members A, B, C,
// participant D, policy 2-of-3), every call made to a follower.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { ethers } from 'ethers';
import { test, rpcErrorOf } from './lib/node.mjs';
import { GovernedNetwork, GOVERNANCE_ADDRESS, GOV_KEYS, governanceAbi, govAddress } from './lib/governed.mjs';

const PASSED = 1n; // ProposalState.Passed
const OPEN = 0n; // ProposalState.Open
const EVENT_TIMEOUT_MS = 15000;

const net = new GovernedNetwork({ name: 'governance' });
const abi = governanceAbi();
let node; // the follower the tests talk to
let provider;
let wallets; // A, B, C, D on the follower
let gov; // read-only Contract on the follower

before(async () => {
  try {
    await net.start();
  } catch (e) {
    for (const kept of net.keepLogs()) console.error(`[governance] node log kept at ${kept}`);
    throw e;
  }
  node = await net.follower();
  provider = node.provider();
  wallets = Object.fromEntries(Object.entries(GOV_KEYS).map(([a, k]) => [a, new ethers.Wallet(k, provider)]));
  gov = new ethers.Contract(GOVERNANCE_ADDRESS, abi, provider);
});

after(async () => {
  await net.cleanup();
});

/** The ProposalCreated id of a mined receipt. */
function proposalIdOf(receipt) {
  for (const log of receipt.logs) {
    const parsed = gov.interface.parseLog(log);
    if (parsed?.name === 'ProposalCreated') return parsed.args.id;
  }
  throw new Error(`no ProposalCreated log in ${receipt.hash}`);
}

/** Names of the governance events of a receipt. */
const eventNames = (receipt) => receipt.logs
  .filter((l) => l.address.toLowerCase() === GOVERNANCE_ADDRESS.toLowerCase())
  .map((l) => gov.interface.parseLog(l)?.name);

/** Asserts `promise` rejects with a decoded Error(string) reason matching `re`; returns the error. */
async function expectReason(promise, re, what) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: did not fail`);
  assert.equal(err.code, 'CALL_EXCEPTION', `${what}: ethers code ${err.code} (${err.shortMessage || err.message})`);
  assert.equal(typeof err.reason, 'string', `${what}: no decoded reason (${err.shortMessage || err.message})`);
  assert.match(err.reason, re, `${what}: reason ${JSON.stringify(err.reason)}`);
  assert.equal(err.revert?.name, 'Error', `${what}: revert ${JSON.stringify(err.revert)}`);
  assert.ok(err.data?.startsWith('0x08c379a0'), `${what}: revert data ${err.data} is not Error(string)`);
  return err;
}

test('views: members(), participants(), nodes(), policy(), version() through the published ABI', async () => {
  const members = await gov.members();
  assert.deepEqual(members.map((m) => m.id).sort(), ['A', 'B', 'C']);
  for (const m of members) {
    assert.deepEqual([...m.accounts], [govAddress(m.id)], `accounts of ${m.id}`);
    assert.ok(ethers.isHexString(m.publicKey), `publicKey of ${m.id}`);
  }
  const participants = await gov.participants();
  assert.deepEqual(participants.map((p) => [p.id, [...p.accounts]]), [['D', [govAddress('D')]]]);
  const nodes = await gov.nodes();
  assert.deepEqual(nodes.map((n) => [n.id, n.owner, n.raftAddr]).sort(), net.nodes.map((n) => [n.id, n.owner, n.raftAddr]).sort());
  for (const n of nodes) assert.equal(ethers.dataLength(n.publicKey), 65, `key of ${n.id}`);
  const [kind, m] = await gov.policy();
  assert.equal(kind, 1n, 'policy kind m-of-n');
  assert.equal(m, 2n, 'policy m');
  assert.equal(await gov.version(), 1n);
  assert.deepEqual([...(await gov.teeManifest())], ['simulation']);
  assert.equal(await gov.isMember(govAddress('A')), true);
  assert.equal(await gov.isMember(govAddress('D')), false);
  assert.equal(await gov.isActor(govAddress('D')), true);
  const [actorKind, actorId] = await gov.actorOf(govAddress('D'));
  assert.deepEqual([actorKind, actorId], [2n, 'D']);
});

test('propose and vote with Contract objects of A and B; ProposalResolved over WebSocket', async () => {
  // A subscription over WebSocket on another node than the one we send to.
  const wsNode = net.nodes.find((n) => n !== node);
  const ws = wsNode.wsProvider();
  const wsGov = new ethers.Contract(GOVERNANCE_ADDRESS, abi, ws);
  await ws.getBlockNumber(); // connected

  const asA = gov.connect(wallets.A);
  const asB = gov.connect(wallets.B);
  const tx = await asA.proposeAddTEE('sgx');
  const rc = await tx.wait();
  assert.equal(rc.status, 1);
  assert.deepEqual(eventNames(rc), ['ProposalCreated', 'ProposalVoted']);
  const id = proposalIdOf(rc);
  const p = await gov.proposal(id);
  assert.equal(p.state, OPEN);
  assert.equal(p.proposer, 'A');
  assert.equal(p.description.length > 0, true);
  assert.deepEqual(p.ballots.map((b) => [b.member, b.approve]), [['A', true]]);

  // The subscription is installed before B's deciding ballot. ethers sends
  // eth_subscribe in the background and registers the subscription id the
  // node answers through provider._register: waiting for that call means
  // the node has the subscription.
  const subscribed = new Promise((resolve) => {
    const register = ws._register.bind(ws);
    ws._register = (filterId, subscriber) => {
      register(filterId, subscriber);
      resolve(filterId);
    };
  });
  let timer;
  const resolved = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ProposalResolved(${id}) over WebSocket within ${EVENT_TIMEOUT_MS} ms`)), EVENT_TIMEOUT_MS);
    // The last listener argument is the ContractEventPayload.
    wsGov.on(wsGov.filters.ProposalResolved(id), (...args) => resolve(args[args.length - 1]));
  });
  const subId = await Promise.race([subscribed, resolved.then(() => null)]);
  assert.ok(ethers.isHexString(subId), `eth_subscribe answered ${subId}`);

  const vrc = await (await asB.vote(id, true)).wait();
  assert.equal(vrc.status, 1);
  assert.deepEqual(eventNames(vrc).sort(), ['ConstitutionChanged', 'ProposalResolved', 'ProposalVoted', 'TEEAdded']);
  const got = await resolved.finally(() => clearTimeout(timer));
  await wsGov.removeAllListeners();
  assert.equal(got.eventName, 'ProposalResolved');
  assert.equal(got.args.id, id);
  assert.equal(got.args.state, PASSED);
  assert.match(got.args.reason, /2 of 3/);
  assert.equal(got.log.transactionHash, vrc.hash);
  assert.equal(got.log.address.toLowerCase(), GOVERNANCE_ADDRESS.toLowerCase());

  assert.equal((await gov.proposal(id)).state, PASSED);
  assert.equal(await gov.version(), 2n);
  assert.deepEqual([...(await gov.teeManifest())].sort(), ['sgx', 'simulation']);
  // queryFilter over HTTP sees the same history.
  const changed = await gov.queryFilter(gov.filters.ConstitutionChanged(), 0, vrc.blockNumber);
  assert.deepEqual(changed.map((e) => [e.args.version, e.args.proposalId]), [[2n, id]]);
});

test('refusals carry decoded revert reasons (error.reason)', async () => {
  // An action that cannot apply is refused when proposed.
  await expectReason(gov.connect(wallets.A).proposeRemoveMember('Z'), /no member "Z"/, 'removal of an unknown member');

  // An open proposal: A proposes, B votes against (C could still pass it).
  const id = proposalIdOf(await (await gov.connect(wallets.A).proposeSetPolicy(3, 0)).wait());
  await (await gov.connect(wallets.B).vote(id, false)).wait();
  assert.equal((await gov.proposal(id)).state, OPEN);

  // A non-member: staticCall (eth_call) and a send (ethers estimates gas first).
  const stranger = ethers.Wallet.createRandom().connect(provider);
  await expectReason(gov.connect(stranger).vote.staticCall(id, true), /^only members may vote: 0x[0-9a-fA-F]{40} is not a member's account$/, 'non-member vote (staticCall)');
  const e = await expectReason(gov.connect(stranger).vote(id, true), /only members may vote/, 'non-member vote (send)');
  assert.ok(e.reason.includes(stranger.address), `reason names the caller: ${e.reason}`);
  await expectReason(gov.connect(stranger).proposeRemoveMember.staticCall('A'), /only members may propose/, 'non-member proposal');
  // The participant D: same, with its actor named.
  await expectReason(gov.connect(wallets.D).vote(id, true), /only members may vote: .* belongs to participant "D"/, 'participant vote');
  // A second ballot.
  await expectReason(gov.connect(wallets.B).vote(id, true), /member "B" already voted against proposal/, 'second ballot of B');
  await expectReason(gov.connect(wallets.A).vote.staticCall(id, false), /member "A" already voted for proposal/, 'second ballot of A');
  // Withdrawal by another member than the proposer.
  await expectReason(gov.connect(wallets.C).withdraw.staticCall(id), /only its proposer "A" may withdraw/, 'withdraw by C');
  // The proposer withdraws it.
  const wrc = await (await gov.connect(wallets.A).withdraw(id)).wait();
  assert.deepEqual(eventNames(wrc), ['ProposalResolved']);
  assert.equal((await gov.proposal(id)).state, 4n); // Withdrawn
});

test("a participant transacts; a non-actor's sendTransaction fails with the admission error", async () => {
  const to = ethers.Wallet.createRandom().address;
  const rc = await (await wallets.D.sendTransaction({ to, value: 1234n })).wait();
  assert.equal(rc.status, 1, "participant D's transfer");
  assert.equal(await provider.getBalance(to), 1234n);

  const stranger = ethers.Wallet.createRandom().connect(provider);
  // Funded, so that only admission can refuse it.
  await (await wallets.A.sendTransaction({ to: stranger.address, value: ethers.parseEther('1') })).wait();
  let err;
  try {
    await stranger.sendTransaction({ to, value: 1n });
  } catch (e) {
    err = e;
  }
  assert.ok(err, "a non-actor's transfer was accepted");
  const rpcErr = rpcErrorOf(err);
  assert.ok(rpcErr, `no JSON-RPC error in ${err.message}`);
  assert.equal(rpcErr.code, -32000);
  assert.match(rpcErr.message, /^sender not allowed: 0x[0-9a-fA-F]{40} is not an account of a member or participant of the network$/);
  assert.ok(rpcErr.message.includes(stranger.address), rpcErr.message);
  assert.equal(await provider.getTransactionCount(stranger.address, 'pending'), 0);
});

test('only actors read a governed network: anonymous and outsiders get the open methods alone', async () => {
  const call = async (session, body) => {
    const res = await fetch(node.httpUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(session ? { Authorization: `Bearer ${session}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };
  const req = (method, params = [], id = 1) => ({ jsonrpc: '2.0', id, method, params });
  // An outsider signs in fine, but is not an actor.
  const outsider = ethers.Wallet.createRandom();
  const saved = node.session;
  const outsiderToken = await node.signIn(outsider.privateKey);
  node.session = saved;
  for (const session of [null, outsiderToken]) {
    for (const method of ['eth_blockNumber', 'eth_getBalance', 'coco_constitution', 'txpool_content']) {
      const params = method === 'eth_getBalance' ? [govAddress('A'), 'latest'] : [];
      const r = await call(session, req(method, params));
      assert.equal(r.status, 401, method);
      assert.equal(r.json.error.code, -32001);
      assert.ok(r.json.error.message.includes('only to its members and participants'), r.json.error.message);
    }
    for (const method of ['eth_chainId', 'net_version', 'web3_clientVersion']) {
      const r = await call(session, req(method));
      assert.ok(r.json.result, `${method}: ${JSON.stringify(r.json)}`);
    }
    // A batch with a closed method is refused as a whole.
    const b = await call(session, [req('eth_chainId', [], 1), req('eth_blockNumber', [], 2)]);
    assert.equal(b.status, 401);
    assert.deepEqual(b.json.map((x) => x.id), [1, 2]);
    assert.ok(b.json.every((x) => x.error?.code === -32001));
    // WebSocket reads by nature: refused at the handshake.
    const WebSocket = (await import('ws')).default;
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(node.wsUrl, session ? { headers: { Authorization: `Bearer ${session}` } } : {});
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode));
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('error', () => {});
    });
    assert.equal(status, 401);
  }
  // A transaction proves its sender: anyone may send one (admission then
  // decides), and an actor's session reads.
  const r = await call(null, req('eth_sendRawTransaction', ['0x00']));
  assert.notEqual(r.json.error?.code, -32001, JSON.stringify(r.json));
  const actor = await call(node.session, req('eth_blockNumber'));
  assert.ok(actor.json.result, JSON.stringify(actor.json));
});

test('members vote the longest sign-in session; coco_login follows the constitution', async () => {
  const [lifetime, epoch, open] = await gov.settings();
  const rc = await (await gov.connect(wallets.A).proposeSetSettings(lifetime, epoch, open, 2 * 3600)).wait();
  const id = proposalIdOf(rc);
  await (await gov.connect(wallets.B).vote(id, true)).wait();
  const [, , , session] = await gov.settings();
  assert.equal(session, 7200n);
  const { siweMessage } = await import('./lib/session.mjs');
  const login = async (ttlMs) => {
    const message = siweMessage(wallets.C.address, { ttlMs });
    const res = await fetch(node.httpUrl, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'coco_login', params: [message, await wallets.C.signMessage(message)] }),
    });
    return res.json();
  };
  const long = await login(3 * 3600_000);
  assert.ok(long.error?.message.includes('longer than the network allows (2h0m0s)'), JSON.stringify(long));
  const ok = await login(3600_000);
  assert.ok(ok.result?.token, JSON.stringify(ok));
});
