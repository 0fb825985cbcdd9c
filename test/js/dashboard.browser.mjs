// The members' dashboard in a real headless browser (Debian's chromium,
// driven by playwright-core) against a governed 3-node network started with
// --dashboard: the page is opened on a follower and connects an injected
// EIP-1193 wallet backed by a test key (the page signs in and builds
// transactions; the wallet signs them, as MetaMask would). Each view is
// screenshotted into build/dashboard-screenshots/, or into docs/dashboard/
// for the README with UPDATE_SCREENSHOTS=1 (DASHBOARD_SCREENSHOTS overrides
// both).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { before, after } from 'node:test';
import { ethers } from 'ethers';
import { chromium } from 'playwright-core';
import { test, REPO_ROOT, CocoNode } from './lib/node.mjs';
import { GovernedNetwork, GOV_KEYS, GOVERNANCE_ADDRESS, governanceAbi, govAddress } from './lib/governed.mjs';
import { login, sessionProvider } from './lib/session.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.DASHBOARD_SCREENSHOTS ||
  (process.env.UPDATE_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs', 'dashboard') : path.join(REPO_ROOT, 'build', 'dashboard-screenshots'));
// How long the page may take to show a change of the network (it polls
// coco_network every second over its WebSocket).
const SHOWS_WITHIN_MS = 10000;

const net = new GovernedNetwork({ name: 'dashboard', extraArgs: ['--dashboard'] });
const gov = new ethers.Interface(governanceAbi());
let browser;
let node; // the follower that serves the page
const pages = [];

before(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM`);
  }
  try {
    await net.start();
  } catch (e) {
    for (const kept of net.keepLogs()) console.error(`[dashboard] node log kept at ${kept}`);
    throw e;
  }
  node = await net.follower();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await net.cleanup();
});

/**
 * Opens the dashboard on `on` at `view` with a test wallet for `key`
 * injected as window.ethereum, and clicks Connect. Returns the page, the
 * wallet and the hashes of the transactions the wallet sent.
 */
async function openDashboard(on, key, view = 'network') {
  const wallet = new ethers.Wallet(key);
  // The wallet's own connection to the network, signed in as its account
  // (what a wallet on a governed network is configured with).
  const { token } = await login(on, wallet);
  const provider = sessionProvider(on, token);
  const signer = wallet.connect(provider);
  const sent = [];
  const errors = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  pages.push(page);
  page.on('pageerror', (e) => errors.push(e.message));
  await page.exposeFunction('__cocoTestWallet', async (method, params) => {
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [wallet.address];
      case 'eth_chainId':
        return '0x539';
      case 'personal_sign': {
        const [msg] = params;
        return wallet.signMessage(ethers.isHexString(msg) ? ethers.getBytes(msg) : msg);
      }
      case 'eth_sendTransaction': {
        const [tx] = params;
        assert.equal(tx.from.toLowerCase(), wallet.address.toLowerCase(), 'the page sends from the connected account');
        const res = await signer.sendTransaction({ to: tx.to, data: tx.data, gasLimit: tx.gas ? BigInt(tx.gas) : undefined });
        sent.push(res.hash);
        return res.hash;
      }
      default:
        return provider.send(method, params ?? []);
    }
  });
  await page.addInitScript(() => {
    window.ethereum = {
      isCocoTestWallet: true,
      request: ({ method, params }) => window.__cocoTestWallet(method, params ?? []),
      on() {},
      removeListener() {},
    };
  });
  await page.goto(`${on.httpUrl}/dashboard/#/${view}`);
  await page.click('#connect');
  return { page, wallet, sent, errors };
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Waits for `selector` to exist on page, with a message naming it. */
async function waitSelector(page, selector, timeout = SHOWS_WITHIN_MS) {
  try {
    await page.waitForSelector(selector, { timeout, state: 'attached' });
  } catch (e) {
    const msg = await page.textContent('#message').catch(() => '');
    throw new Error(`${selector} not on the page within ${timeout} ms (page message: ${JSON.stringify(msg)})`);
  }
}

/** A keystore holding `actor`'s key, for the CLI. */
function cliKeystore(actor) {
  const dir = fs.mkdtempSync(path.join(net.root, 'ks-'));
  const pw = path.join(dir, 'pw');
  const keyFile = path.join(dir, 'key');
  fs.writeFileSync(pw, 'dashboard test');
  fs.writeFileSync(keyFile, GOV_KEYS[actor].slice(2));
  node.runCommand('account', 'import', '--keystore', path.join(dir, 'ks'), '--password', pw, '--lightkdf', keyFile);
  return ['--keystore', path.join(dir, 'ks'), '--account', govAddress(actor), '--password', pw];
}

/** Proposes with the cocogeth CLI as `actor` through `via`; returns the proposal id. */
function cliPropose(actor, via, ...action) {
  const out = execFileSync(node.bin, ['propose', ...action, '--rpc', via.httpUrl, ...cliKeystore(actor)], { encoding: 'utf8', timeout: 60000 });
  const m = out.match(/Proposal (\d+) created by/);
  assert.ok(m, `propose printed no proposal id:\n${out}`);
  return m[1];
}

test('the network view shows the three nodes, the leader and the simulation TEE as such', async () => {
  const leader = await net.waitLeader();
  const { page, errors } = await openDashboard(node, GOV_KEYS.A);
  await page.waitForFunction(() => document.querySelectorAll('#nodes tr[data-node][data-reachable="true"]').length === 3, null, { timeout: SHOWS_WITHIN_MS });
  await page.waitForFunction((id) => document.querySelector('#leader')?.textContent.includes(id), leader.id, { timeout: SHOWS_WITHIN_MS });
  for (const m of net.members) {
    const row = page.locator(`#nodes tr[data-node="${m.id}"]`);
    assert.equal(await row.getAttribute('data-role'), m === leader ? 'leader' : 'follower', `${m.id}'s role`);
    assert.match(await row.textContent(), new RegExp(m.raftAddr.replace(/\./g, '\\.')), `${m.id}'s address`);
    // Every node runs the simulation TEE: the page says it is no enclave.
    assert.match(await row.locator('.tee-simulation').textContent(), /SIMULATION/, `${m.id}'s TEE badge`);
  }
  assert.match(await page.textContent('#account'), /\bA\b/, 'the connected account shows as member A');
  await shot(page, 'network');
  assert.deepEqual(errors, [], 'errors thrown in the page');
});

test('killing the leader shows in the page within seconds', async () => {
  const leader = await net.waitLeader();
  const { page } = await openDashboard(node, GOV_KEYS.A);
  await page.waitForFunction((id) => document.querySelector('#leader')?.textContent.includes(id), leader.id, { timeout: SHOWS_WITHIN_MS });
  const t0 = Date.now();
  await leader.kill('SIGKILL');
  await page.waitForFunction((id) => {
    const row = document.querySelector(`#nodes tr[data-node="${id}"]`);
    const shown = document.querySelector('#leader')?.textContent ?? '';
    return row?.getAttribute('data-reachable') === 'false' && !shown.includes(id) && /node\d/.test(shown);
  }, leader.id, { timeout: SHOWS_WITHIN_MS });
  const took = Date.now() - t0;
  // The page polls every second and Raft elects within about a second.
  assert.ok(took < 5000, `the page showed the change ${took} ms after the kill`);
  const next = await net.waitLeader();
  assert.match(await page.textContent('#leader'), new RegExp(next.id), 'the new leader is shown');
  assert.equal(await page.locator(`#nodes tr[data-node="${next.id}"]`).getAttribute('data-role'), 'leader');
  console.log(`# the page showed the new leader ${took} ms after the kill`);
  await shot(page, 'network-leader-killed');

  // Back up, it shows as a reachable follower again.
  await leader.start();
  await page.waitForFunction((id) => {
    const row = document.querySelector(`#nodes tr[data-node="${id}"]`);
    return row?.getAttribute('data-reachable') === 'true' && row.getAttribute('data-role') === 'follower';
  }, leader.id, { timeout: 30000 });
});

test('the chain view shows the head, the block rate and transactions per second', async () => {
  const { page, errors } = await openDashboard(node, GOV_KEYS.A, 'chain');
  // Some traffic for the chart: member A pays participant D.
  const { token } = await login(node, new ethers.Wallet(GOV_KEYS.A));
  const a = new ethers.Wallet(GOV_KEYS.A, sessionProvider(node, token));
  let nonce = await a.getNonce();
  const txs = [];
  for (let i = 0; i < 20; i++) txs.push(await a.sendTransaction({ to: govAddress('D'), value: 1n, nonce: nonce++ }));
  const last = await txs.at(-1).wait();
  await page.waitForFunction((n) => Number((document.querySelector('#head')?.textContent ?? '').replace(/[^0-9]/g, '')) >= n, last.blockNumber, { timeout: SHOWS_WITHIN_MS });
  await waitSelector(page, '#tps-chart rect');
  await page.waitForFunction(() => document.querySelectorAll('#blocks tr').length > 1, null, { timeout: SHOWS_WITHIN_MS });
  await shot(page, 'chain');
  assert.deepEqual(errors, [], 'errors thrown in the page');
});

test('a proposal made with the CLI appears; a vote cast in the page passes it; the constitution shows the new version', async () => {
  const before = await node.rpc('coco_constitution');
  const e = ethers.Wallet.createRandom().address;
  const id = cliPropose('A', net.members.find((m) => m !== node), 'add-participant', 'E', e);

  const { page, sent, errors } = await openDashboard(node, GOV_KEYS.B, 'proposals');
  const card = `[data-proposal="${id}"]`;
  await waitSelector(page, `${card}[data-state="open"] button.vote-yes`);
  assert.match(await page.textContent(card), /E/, 'the proposal says what it adds');
  await shot(page, 'proposals');

  await page.click(`${card} button.vote-yes`);
  await waitSelector(page, `${card}[data-state="passed"]`, 30000);
  assert.equal(sent.length, 1, 'the wallet sent one transaction');
  const receipt = await node.provider().getTransactionReceipt(sent[0]);
  assert.equal(receipt.to.toLowerCase(), GOVERNANCE_ADDRESS.toLowerCase());
  assert.equal(receipt.from, govAddress('B'), 'signed by the wallet, as member B');
  const call = gov.parseTransaction({ data: (await node.provider().getTransaction(sent[0])).data });
  assert.equal(call.name, 'vote');
  assert.equal(call.args[0], BigInt(id));
  assert.equal(call.args[1], true);
  const p = await node.rpc('coco_proposal', [Number(id)]);
  assert.equal(p.state, 'passed');
  assert.ok(p.ballots.some((b) => b.member === 'B' && b.approve), 'B\'s ballot is recorded');

  await page.goto(`${node.httpUrl}/dashboard/#/constitution`);
  await page.waitForFunction((v) => document.querySelector('#constitution-version')?.textContent.trim() === String(v), before.version + 1, { timeout: SHOWS_WITHIN_MS });
  await page.waitForFunction((pid) => [...document.querySelectorAll('#history tr')].some((r) => r.textContent.includes(pid) && r.textContent.includes('E')), id, { timeout: SHOWS_WITHIN_MS });
  assert.match(await page.textContent('#view-constitution'), new RegExp(e.slice(2, 10), 'i'), 'the new participant\'s account is listed');
  await shot(page, 'constitution');
  assert.deepEqual(errors, [], 'errors thrown in the page');
});

test('a member proposes through the page\'s form and withdraws it; malformed input is refused before the wallet', async () => {
  const { page, sent, errors } = await openDashboard(node, GOV_KEYS.A, 'proposals');
  await waitSelector(page, '#propose-action option[value="proposeAddCode"]');

  // A code id that is not 32 bytes: refused in the page, nothing sent.
  await page.selectOption('#propose-action', 'proposeAddCode');
  await page.fill('#propose-form [name="codeId"]', '0x1234');
  await page.click('#propose-submit');
  await page.waitForFunction(() => /32 bytes/.test(document.querySelector('#message')?.textContent ?? ''), null, { timeout: SHOWS_WITHIN_MS });
  assert.equal(sent.length, 0, 'nothing sent for malformed input');

  await page.selectOption('#propose-action', 'proposeSetPolicy');
  await page.selectOption('#propose-form [name="kind"]', '3'); // Majority
  await page.fill('#propose-form [name="m"]', '0');
  await page.click('#propose-submit');
  await page.waitForFunction(() => /Proposal \d+ .*included in block/.test(document.querySelector('#message')?.textContent ?? ''), null, { timeout: 30000 });
  assert.equal(sent.length, 1, 'the wallet sent the proposal');
  const receipt = await node.provider().getTransactionReceipt(sent[0]);
  const created = receipt.logs.map((l) => gov.parseLog(l)).find((e) => e?.name === 'ProposalCreated');
  assert.ok(created, 'ProposalCreated emitted');
  assert.equal(created.args.proposer, 'A');
  const id = String(created.args.id);
  const p = await node.rpc('coco_proposal', [Number(id)]);
  assert.equal(p.action, 'set-policy');
  assert.equal(p.state, 'open');

  const card = `[data-proposal="${id}"]`;
  await waitSelector(page, `${card}[data-state="open"] button.withdraw`);
  await page.click(`${card} button.withdraw`);
  await waitSelector(page, `${card}[data-state="withdrawn"]`, 30000);
  assert.equal(sent.length, 2, 'the wallet sent the withdrawal');
  assert.equal((await node.rpc('coco_proposal', [Number(id)])).state, 'withdrawn');
  assert.deepEqual(errors, [], 'errors thrown in the page');
});

test('a participant reads the constitution but its vote is refused with the reason, and nothing is sent', async () => {
  const id = cliPropose('A', node, 'add-tee', 'sgx');
  const { page, sent } = await openDashboard(node, GOV_KEYS.D, 'proposals');
  const card = `[data-proposal="${id}"]`;
  await waitSelector(page, `${card}[data-state="open"]`);
  assert.match(await page.textContent('#account'), /participant/i, 'the account shows as a participant');
  const vote = page.locator(`${card} button.vote-yes`);
  if (await vote.count()) {
    await vote.click();
    await page.waitForFunction(() => /only members may vote/.test(document.querySelector('#message')?.textContent ?? ''), null, { timeout: SHOWS_WITHIN_MS });
  } else {
    // A page may also not offer the button to a non-member: it must say why.
    assert.match(await page.textContent(card), /only members/i);
  }
  assert.equal(sent.length, 0, 'no transaction was sent');
  const p = await node.rpc('coco_proposal', [Number(id)]);
  assert.deepEqual(p.ballots.map((b) => b.member), ['A'], 'no ballot but the proposer\'s');
  await page.goto(`${node.httpUrl}/dashboard/#/constitution`);
  const c = await node.rpc('coco_constitution');
  await page.waitForFunction((v) => document.querySelector('#constitution-version')?.textContent.trim() === String(v), c.version, { timeout: SHOWS_WITHIN_MS });
  assert.match(await page.textContent('#members'), new RegExp(govAddress('B').slice(2), 'i'), 'the participant sees the members and their accounts');
});

test('a stranger\'s wallet signs in but sees nothing, with the node\'s reason', async () => {
  const { page } = await openDashboard(node, ethers.Wallet.createRandom().privateKey);
  await page.waitForFunction(() => /only to its members and participants/.test(document.querySelector('#message')?.textContent ?? ''), null, { timeout: SHOWS_WITHIN_MS });
  assert.equal(await page.locator('#nodes tr[data-node]').count(), 0, 'no node is shown');
});

test('on a network without governance (a --dev node) the page reads without a wallet and says there is no constitution', async () => {
  const dev = new CocoNode({ name: 'dashboard-dev', extraArgs: ['--dashboard'] });
  try {
    await dev.start();
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    pages.push(page);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // No window.ethereum: nothing to connect, everything public to read.
    await page.goto(`${dev.httpUrl}/dashboard/#/network`);
    await waitSelector(page, '#nodes tr[data-node][data-reachable="true"][data-role="leader"]');
    assert.match(await page.locator('#nodes tr[data-node]').first().locator('.tee-simulation').textContent(), /SIMULATION/);
    await page.goto(`${dev.httpUrl}/dashboard/#/chain`);
    await page.waitForFunction(() => /\d/.test(document.querySelector('#head')?.textContent ?? ''), null, { timeout: SHOWS_WITHIN_MS });
    await page.goto(`${dev.httpUrl}/dashboard/#/constitution`);
    await page.waitForFunction(() => {
      const n = document.querySelector('#constitution-none');
      return n && !n.hidden && /no constitution/i.test(n.textContent);
    }, null, { timeout: SHOWS_WITHIN_MS });
    assert.deepEqual(errors, [], 'errors thrown in the page');
  } finally {
    await dev.cleanup();
  }
});
