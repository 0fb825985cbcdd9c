// cocogeth members' dashboard: one ES module, no dependencies, no build.
//
// Sections: helpers · keccak (EIP-55 checksums, fallback selectors and
// topics) · ABI encoder · RPC client · WebSocket client · messages · wallet
// and session · data · views · boot.
//
// Everything the node returns is untrusted text: it reaches the page only
// through textContent and attributes, never through innerHTML.

const HAS_DOM = typeof document !== 'undefined';

/* ======================= helpers ======================= */

const $ = (sel) => document.querySelector(sel);

// el('tag', {attr: value, class, text}, ...children): children are nodes or text.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(typeof c === 'object' ? c : String(c));
  }
  return e;
}

const num = (h) => (h === undefined || h === null || h === '' ? 0 : Number(BigInt(h)));
const toHex = (n) => '0x' + BigInt(n).toString(16);
const isZeroHex = (h) => !h || /^0x0*$/i.test(h);
const shortHex = (h, n = 4) => (!h ? '—' : h.length > 2 * n + 4 ? `${h.slice(0, 2 + n)}…${h.slice(-n)}` : h);
const hexCode = (h, n = 4) => el('code', { class: 'hex', title: h }, shortHex(h, n));
const utf8 = (s) => new TextEncoder().encode(s);
const bytesHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const fmtTime = (sec) => new Date(sec * 1000).toLocaleTimeString();
const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`;

// Readable labels: "publicKey" → "Public key", "proposeAddTEE" → "Add TEE", "add-tee" → "Add TEE".
const LABELS = { id: 'ID', codeId: 'Code ID', raftAddr: 'Raft address', m: 'M', memberId: 'Member ID', key: 'Recovery key' };
function sentence(words) {
  return words.filter(Boolean).map((w, i) => {
    if (w.length > 1 && w === w.toUpperCase()) return w;
    if (/^(tee|id)$/i.test(w)) return w.toUpperCase();
    return i === 0 ? w[0].toUpperCase() + w.slice(1).toLowerCase() : w.toLowerCase();
  }).join(' ');
}
const camelWords = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').split(' ');
const label = (name) => LABELS[name] ?? sentence(camelWords(name));
export const functionLabel = (name) => sentence(camelWords(name.replace(/^propose/, '')));
const actionLabel = (kebab) => sentence(String(kebab || '').split('-'));

function durationWords(sec) {
  const parts = [];
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]]) {
    if (sec >= n) { parts.push(`${Math.floor(sec / n)} ${unit}`); sec %= n; }
  }
  return parts.join(' ') || '0 s';
}

// "1h0m0s" (Go's time.Duration) → milliseconds.
function parseGoDuration(s) {
  const units = { h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
  let ms = 0;
  for (const m of s.matchAll(/([\d.]+)(ms|h|m|s)/g)) ms += parseFloat(m[1]) * units[m[2]];
  return ms;
}

// Runs fn over items, at most limit at a time; onError takes each failure.
async function mapLimit(items, limit, fn, onError) {
  const queue = [...items];
  const worker = async () => { while (queue.length) await fn(queue.shift()).catch(onError); };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

/* ======================= keccak-256 =======================
 * For EIP-55 checksums: the sign-in message must carry the checksummed
 * address (the node compares it with the canonical EIP-4361 form), and
 * wallets such as MetaMask hand out lower-case ones. And as a fallback for
 * function selectors and event topics when coco_governance does not give
 * them (selectorOf, topicOf). */

const MASK64 = (1n << 64n) - 1n;
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const RC = (() => {
  const out = [];
  let r = 1;
  for (let i = 0; i < 24; i++) {
    let rc = 0n;
    for (let j = 0; j < 7; j++) {
      r = ((r << 1) ^ ((r >> 7) * 0x71)) % 256;
      if (r & 2) rc ^= 1n << BigInt((1 << j) - 1);
    }
    out.push(rc);
  }
  return out;
})();
const rotl = (x, n) => (n === 0 ? x : ((x << BigInt(n)) | (x >> BigInt(64 - n))) & MASK64);

function keccakF(s) {
  const C = new Array(5), B = new Array(25);
  for (let round = 0; round < 24; round++) {
    for (let x = 0; x < 5; x++) C[x] = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = C[(x + 4) % 5] ^ rotl(C[(x + 1) % 5], 1);
      for (let y = 0; y < 25; y += 5) s[x + y] ^= d;
    }
    for (let x = 0; x < 5; x++) for (let y = 0; y < 5; y++) B[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(s[x + 5 * y], ROT[x + 5 * y]);
    for (let x = 0; x < 5; x++) for (let y = 0; y < 25; y += 5) s[x + y] = B[x + y] ^ (~B[((x + 1) % 5) + y] & MASK64 & B[((x + 2) % 5) + y]);
    s[0] ^= RC[round];
  }
}

export function keccak256(bytes) {
  const rate = 136, s = new Array(25).fill(0n);
  const padded = new Uint8Array((Math.floor(bytes.length / rate) + 1) * rate);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  for (let off = 0; off < padded.length; off += rate) {
    for (let i = 0; i < rate / 8; i++) {
      let lane = 0n;
      for (let b = 7; b >= 0; b--) lane = (lane << 8n) | BigInt(padded[off + 8 * i + b]);
      s[i] ^= lane;
    }
    keccakF(s);
  }
  return Uint8Array.from({ length: 32 }, (_, i) => Number((s[i >> 3] >> BigInt(8 * (i & 7))) & 0xffn));
}

export function toChecksumAddress(addr) {
  const a = String(addr).toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{40}$/.test(a)) throw new Error(`not an address: ${addr}`);
  const h = keccak256(utf8(a));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += ((h[i >> 1] >> (i % 2 ? 0 : 4)) & 15) >= 8 ? a[i].toUpperCase() : a[i];
  return out;
}

/* ======================= ABI encoder =======================
 * Head/tail encoding of uint<N> (enums are uint8), bool, address, bytes<N>,
 * string, bytes and T[] of those. Numbers: decimal or 0x, as text, number or
 * bigint. Returns hex without 0x (encodeCall prefixes the selector). */

const word = (n) => n.toString(16).padStart(64, '0');
const isDynamic = (t) => t === 'string' || t === 'bytes' || t.endsWith('[]');

export function parseUint(v, bits = 256, what = 'number') {
  let n;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`${what}: not a whole number`);
    n = BigInt(v);
  } else {
    const s = String(v ?? '').trim();
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s)) throw new Error(`${what}: want a whole number, decimal or 0x hex`);
    n = BigInt(s);
  }
  if (n < 0n || n >= 1n << BigInt(bits)) throw new Error(`${what}: out of range for uint${bits}`);
  return n;
}

function parseBool(v, what) {
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['true', '1', 'yes'].includes(s)) return true;
  if (['false', '0', 'no'].includes(s)) return false;
  throw new Error(`${what}: want true or false`);
}

function hexData(v, what) {
  const s = String(v ?? '').trim();
  if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new Error(`${what}: want 0x followed by an even number of hex digits`);
  return s.slice(2).toLowerCase();
}

export const splitList = (v) => String(v ?? '').split(/[\s,]+/).filter(Boolean);

function encodeStatic(type, v, what) {
  let m;
  if ((m = /^uint(\d*)$/.exec(type))) return word(parseUint(v, m[1] ? Number(m[1]) : 256, what));
  if (type === 'bool') return word(parseBool(v, what) ? 1n : 0n);
  if (type === 'address') {
    const s = String(v ?? '').trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(s)) throw new Error(`${what}: want an address, 0x followed by 40 hex digits (got "${s}")`);
    return s.slice(2).toLowerCase().padStart(64, '0');
  }
  if ((m = /^bytes(\d+)$/.exec(type))) {
    const n = Number(m[1]), h = hexData(v, what);
    if (h.length !== 2 * n) throw new Error(`${what}: want exactly ${n} bytes (0x and ${2 * n} hex digits)`);
    return h.padEnd(64, '0');
  }
  throw new Error(`${what}: unsupported ABI type ${type}`);
}

const encodeBytes = (h) => word(BigInt(h.length / 2)) + h.padEnd(Math.ceil(h.length / 64) * 64, '0');

function encodeDynamic(type, v, what) {
  if (type === 'string') return encodeBytes(bytesHex(utf8(String(v ?? ''))));
  if (type === 'bytes') return encodeBytes(hexData(v, what));
  const inner = type.slice(0, -2);
  const items = Array.isArray(v) ? v : splitList(v);
  return word(BigInt(items.length)) + encodeParams(items.map(() => inner), items, items.map((_, i) => `${what}[${i}]`));
}

export function encodeParams(types, values, names = []) {
  if (types.length !== values.length) throw new Error(`want ${types.length} arguments, got ${values.length}`);
  const heads = [], tails = [];
  let offset = 32 * types.length;
  types.forEach((t, i) => {
    const what = names[i] || `argument ${i + 1}`;
    if (isDynamic(t)) {
      const enc = encodeDynamic(t, values[i], what);
      heads.push(word(BigInt(offset)));
      tails.push(enc);
      offset += enc.length / 2;
    } else heads.push(encodeStatic(t, values[i], what));
  });
  return heads.join('') + tails.join('');
}

// selector: "0x" and 8 hex digits; returns the transaction data.
export function encodeCall(selector, types, values, names) {
  if (!/^0x[0-9a-fA-F]{8}$/.test(selector || '')) throw new Error(`bad selector ${selector}`);
  return selector.toLowerCase() + encodeParams(types, values, names);
}

export const signatureOf = (fn) => `${fn.name}(${fn.inputs.map((i) => i.type).join(',')})`;

/* ======================= state ======================= */

const state = {
  config: null,
  session: null, // {token, address, expires} from coco_login
  notActor: false, // signed in, but not a member's or participant's account
  started: false,
  ws: null,
  gov: null, // coco_governance
  noConstitution: false,
  constitution: null,
  constitutionJSON: '',
  proposals: null,
  proposalsJSON: '',
  history: null,
  network: null,
  head: -1, // no block seen yet (the genesis is block 0)
  blocks: new Map(), // number → {number, hash, timestamp, txs}
};

/* ======================= RPC client (HTTP) ======================= */

export class RpcError extends Error {
  constructor(message, code, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

let nextId = 1;
const SESSION_PROBLEM = /session expired|malformed session token|sign-in signature is not by|session not valid/i;

async function httpRpc(method, params = [], { auth = true } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth && state.session) headers.Authorization = `Bearer ${state.session.token}`;
  let res;
  try {
    res = await fetch(state.config.rpc, {
      method: 'POST', headers, cache: 'no-store',
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
  } catch (e) {
    throw new RpcError(`Cannot reach the node at ${state.config.rpc}: ${e.message}`, -1);
  }
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (Array.isArray(body)) body = body[0];
  if (!body || typeof body !== 'object') throw new RpcError(`The node answered HTTP ${res.status} to ${method}`, res.status);
  if (body.error) {
    const err = new RpcError(String(body.error.message ?? 'unknown error'), body.error.code, body.error.data);
    if (err.code === -32001 && SESSION_PROBLEM.test(err.message) && state.session) sessionLost(err.message);
    throw err;
  }
  return body.result;
}

const isNoConstitution = (e) => /no constitution/i.test(e?.message || '');

/* ======================= WebSocket client ======================= */

class WsClient {
  constructor(url, onOpen) {
    this.url = url; // function: the URL to dial now
    this.onOpen = onOpen;
    this.pending = new Map();
    this.subs = new Map();
    this.backoff = 500;
    this.stopped = false;
  }

  get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  connect() {
    if (this.stopped) return;
    let ws;
    try { ws = new WebSocket(this.url()); } catch { this.retry(); return; }
    this.ws = ws;
    ws.onopen = () => { if (this.ws === ws) { this.backoff = 500; this.onOpen?.(); } };
    ws.onmessage = (ev) => { if (this.ws === ws) this.receive(ev.data); };
    ws.onerror = () => {}; // a close event follows
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop();
      this.retry();
    };
  }

  // Forgets the current socket and closes it: its calls fail, its subscriptions end.
  drop() {
    const ws = this.ws;
    this.ws = null;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new RpcError('WebSocket closed', -1)); }
    this.pending.clear();
    this.subs.clear();
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }

  // Closes the socket for good, until restart.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.drop();
  }

  // Closes the socket and dials again now: url() gives the current session.
  restart() {
    this.stopped = false;
    clearTimeout(this.timer);
    this.drop();
    this.backoff = 500;
    this.connect();
  }

  // Reconnects with exponential backoff, 0.5 s up to 10 s.
  retry() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10_000);
  }

  call(method, params = [], timeout = 5000) {
    return new Promise((resolve, reject) => {
      if (!this.open) return reject(new RpcError('WebSocket not connected', -1));
      const id = nextId++;
      const timer = setTimeout(() => { this.pending.delete(id); reject(new RpcError(`${method} timed out`, -1)); }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  receive(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg.method === 'eth_subscription' && msg.params) {
      this.subs.get(msg.params.subscription)?.(msg.params.result);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (!msg.error) { p.resolve(msg.result); return; }
    const err = new RpcError(String(msg.error.message), msg.error.code, msg.error.data);
    p.reject(err);
    if (err.code === -32001 && SESSION_PROBLEM.test(err.message) && state.session) sessionLost(err.message);
  }

  async subscribe(kind, handler) {
    const id = await this.call('eth_subscribe', [kind]);
    this.subs.set(id, handler);
    return id;
  }
}

// Reads over the WebSocket when it is up, else over HTTP.
const live = (method, params = []) => (state.ws?.open ? state.ws.call(method, params) : httpRpc(method, params));

function wsUrl() {
  const u = new URL(state.config.ws, location.href);
  if (state.session) u.searchParams.set('session', state.session.token);
  return u.toString();
}

/* ======================= messages ======================= */

function showStatus(text, kind = 'progress') {
  const m = $('#message');
  bgShowing = false;
  m.setAttribute('role', 'status');
  m.className = `message ${kind}`;
  m.textContent = text;
}

function showError(text) {
  const m = $('#message');
  bgShowing = false;
  m.setAttribute('role', 'alert');
  m.className = 'message error';
  m.textContent = text;
}

// Errors of background refreshes ('network', 'chain' or 'gov'): shown once,
// not repeated every poll, and taken away when that refresh next succeeds
// (any refresh, if the node could not be reached). A message shown since,
// such as a user action's, stays.
let lastBgError = '', bgFailed = null, bgShowing = false;
const NODE_UNREACHABLE = /^(Cannot reach the node|The node answered HTTP)/;
function bgError(e, source) {
  const text = e?.message || String(e);
  if (/WebSocket (closed|not connected)/.test(text)) return;
  if (e?.code === -32001 && SESSION_PROBLEM.test(text)) return; // sessionLost said it
  bgFailed = { source, unreachable: NODE_UNREACHABLE.test(text) };
  if (text === lastBgError) return;
  lastBgError = text;
  showError(text);
  bgShowing = true;
}

function bgOk(source) {
  if (!bgFailed || (bgFailed.source !== source && !bgFailed.unreachable)) return;
  bgFailed = null;
  lastBgError = '';
  if (!bgShowing) return;
  bgShowing = false;
  const m = $('#message');
  m.setAttribute('role', 'status');
  m.className = 'message';
  m.textContent = '';
}

/* ======================= wallet and session ======================= */

const SESSION_KEY = 'cocogeth.dashboard.session';
const SESSION_TTL_MS = 8 * 3600_000;
const NO_WALLET = 'No wallet found: install MetaMask or another EIP-1193 wallet';

const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

// The EIP-4361 message, exactly as confidential.SignInMessage writes it.
export function siweMessage({ domain, uri, address, chainId, nonce, issuedAt, expiresAt }) {
  return `${domain} wants you to sign in with your Ethereum account:\n${address}\n\n` +
    `Sign in to cocogeth\n\nURI: ${uri}\nVersion: 1\nChain ID: ${chainId}\n` +
    `Nonce: ${nonce}\nIssued At: ${iso(issuedAt)}\nExpiration Time: ${iso(expiresAt)}`;
}

function randomNonce() {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return bytesHex(b);
}

function wallet() {
  if (!window.ethereum) throw new Error(NO_WALLET);
  return window.ethereum;
}

const walletMessage = (e) => e?.data?.message || e?.message || String(e);

async function checkWalletChain() {
  const id = await wallet().request({ method: 'eth_chainId' });
  const want = state.config.chainId;
  if (BigInt(id) !== BigInt(want)) {
    throw new Error(`The wallet is on chain ${BigInt(id)} (${id}) but this network is chain ${BigInt(want)} (${want}): switch the wallet to this network`);
  }
}

function loadStoredSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s?.token && s.address && Date.parse(s.expires) - Date.now() > 60_000) return s;
  } catch { /* unreadable */ }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

// Also closes the WebSocket the old session authorised: on a governed network
// it stays closed until the next sign-in; else it reconnects without a session.
function sessionLost(why) {
  state.session = null;
  sessionStorage.removeItem(SESSION_KEY);
  if (state.config?.governed) state.ws?.stop();
  else state.ws?.restart();
  showError(`${why}. Connect the wallet again to sign in.`);
  if (state.config?.governed) $('#signin').hidden = false;
  renderAccount();
  renderProposals();
}

// Signs in as address: the wallet signs the SIWE message, coco_login checks it.
async function signIn(address, ttlMs, retried = false) {
  const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const message = siweMessage({
    domain: location.host, uri: location.origin, address,
    chainId: BigInt(state.config.chainId).toString(), nonce: randomNonce(),
    issuedAt, expiresAt: new Date(issuedAt.getTime() + ttlMs),
  });
  showStatus('Sign the "Sign in to cocogeth" message in your wallet…');
  const signature = await wallet().request({ method: 'personal_sign', params: ['0x' + bytesHex(utf8(message)), address] });
  showStatus('Signing in…');
  try {
    return await httpRpc('coco_login', [message, signature], { auth: false });
  } catch (e) {
    // The network allows shorter sessions: sign again for what it allows.
    const max = /longer than the network allows \(([^)]+)\)/.exec(e.message);
    const allowed = max ? parseGoDuration(max[1]) : 0;
    if (!retried && allowed > 0) return signIn(address, allowed > 120_000 ? allowed - 60_000 : allowed, true);
    throw e;
  }
}

async function connect() {
  const button = $('#connect');
  button.disabled = true;
  try {
    if (!(await configReady)) return; // a click may come before config.json
    const eth = wallet();
    showStatus('Asking the wallet for an account…');
    const accounts = await eth.request({ method: 'eth_requestAccounts' });
    if (!accounts?.length) throw new Error('The wallet shared no account');
    await checkWalletChain();
    const address = toChecksumAddress(accounts[0]);
    const s = await signIn(address, SESSION_TTL_MS);
    state.session = { token: s.token, address: s.address || address, expires: s.expires };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
    state.notActor = false;
    showStatus(`Signed in as ${address}.`, 'ok');
    lastBgError = '';
    await afterSignIn();
  } catch (e) {
    showError(walletMessage(e));
  } finally {
    button.disabled = false;
  }
}

function signOut() {
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
}

// The wallet's account for a transaction: it must be the signed-in one.
async function senderAccount() {
  const eth = wallet();
  const accounts = await eth.request({ method: 'eth_requestAccounts' });
  if (!accounts?.length) throw new Error('The wallet shared no account');
  await checkWalletChain();
  const from = accounts[0];
  if (state.session && from.toLowerCase() !== state.session.address.toLowerCase()) {
    throw new Error(`The wallet's account ${from} is not the signed-in account ${state.session.address}: switch accounts, or sign out and connect again`);
  }
  return from;
}

// What an address is in the constitution: {kind: 'member'|'participant'|'none', id}.
function actorOf(address) {
  const c = state.constitution;
  if (!c || !address) return null;
  const a = address.toLowerCase();
  const has = (x) => (x.accounts || []).some((acc) => acc.toLowerCase() === a);
  const m = c.members.find(has);
  if (m) return { kind: 'member', id: m.id };
  const p = c.participants.find(has);
  if (p) return { kind: 'participant', id: p.id };
  return { kind: 'none' };
}

const connected = () => !!state.session && !state.notActor;

/* ======================= transactions ======================= */

async function waitReceipt(hash, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await httpRpc('eth_getTransactionReceipt', [hash]);
      if (r) return r;
    } catch (e) {
      if (e.code === -32001) throw e;
    }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  return null;
}

// Estimates, has the wallet sign and send, waits for the receipt and reports.
// label: "Vote on proposal 3"; onIncluded(receipt) may refine the report.
async function sendGovTx(data, label, button, onIncluded) {
  if (button) button.disabled = true;
  try {
    const from = await senderAccount();
    const to = govAddress();
    showStatus(`${label}: estimating gas…`);
    let gas;
    try {
      gas = BigInt(await httpRpc('eth_estimateGas', [{ from, to, data }]));
    } catch (e) {
      showError(e.message); // the revert reason, e.g. "only members vote"
      return;
    }
    showStatus(`${label}: confirm the transaction in your wallet…`);
    const hash = await wallet().request({
      method: 'eth_sendTransaction',
      params: [{ from, to, data, gas: toHex((gas * 12n) / 10n) }],
    });
    showStatus(`${label}: sent ${hash}, waiting for a block…`);
    const receipt = await waitReceipt(hash);
    if (!receipt) {
      showError(`${label}: transaction ${hash} was not included within 60 s`);
    } else if (num(receipt.status) === 1) {
      const what = onIncluded?.(receipt) || label;
      showStatus(`${what} included in block ${num(receipt.blockNumber)}`, 'ok');
    } else {
      showError(`${label} reverted in block ${num(receipt.blockNumber)}`);
    }
    refreshGovernance();
  } catch (e) {
    showError(walletMessage(e));
  } finally {
    if (button) button.disabled = false;
  }
}

const govAddress = () => state.gov?.address || state.config.governance;
const selectorOf = (sig) => state.gov?.selectors?.[sig] ?? '0x' + bytesHex(keccak256(utf8(sig))).slice(0, 8);
const topicOf = (sig) => state.gov?.events?.[sig] ?? '0x' + bytesHex(keccak256(utf8(sig)));

function vote(id, approve, button) {
  try {
    const data = encodeCall(selectorOf('vote(uint256,bool)'), ['uint256', 'bool'], [BigInt(id), approve]);
    sendGovTx(data, `Vote on proposal ${id}`, button);
  } catch (e) { showError(e.message); }
}

function withdraw(id, button) {
  try {
    const data = encodeCall(selectorOf('withdraw(uint256)'), ['uint256'], [BigInt(id)]);
    sendGovTx(data, `Withdrawal of proposal ${id}`, button);
  } catch (e) { showError(e.message); }
}

/* ======================= data ======================= */

async function afterSignIn() {
  $('#signin').hidden = true;
  renderAccount();
  if (state.started) {
    state.ws?.restart(); // a socket of the new session, not of the old one (or of none)
    renderProposals();
    refreshGovernance();
  } else await startData();
}

// Starts loading once the node lets this page read.
async function startData() {
  try {
    await httpRpc('eth_blockNumber');
  } catch (e) {
    if (e.code === -32001 && state.session) state.notActor = true;
    renderAccount();
    if (!state.session) $('#signin').hidden = false;
    if (!SESSION_PROBLEM.test(e.message)) showError(e.message); // else sessionLost said it
    return;
  }
  state.started = true;
  state.notActor = false;
  renderAccount();
  refreshGovernance();
  seedChain().catch((e) => bgError(e, 'chain'));
  startLive();
}

// Governance: the contract's ABI once, then constitution, proposals and history.
let govBusy = false, govAgain = false, govTimer = null, govLast = 0, historyDue = true;

async function refreshGovernance() {
  if (govBusy) { govAgain = true; return; }
  govBusy = true;
  govLast = Date.now();
  try {
    if (!state.gov) {
      state.gov = await httpRpc('coco_governance');
      buildProposeForm();
    }
    const [c, ps] = await Promise.all([httpRpc('coco_constitution'), httpRpc('coco_proposals', [false])]);
    if (c.version !== state.constitution?.version) historyDue = true;
    const cJSON = JSON.stringify(c);
    if (cJSON !== state.constitutionJSON) {
      state.constitution = c;
      state.constitutionJSON = cJSON;
      renderConstitution();
      renderAccount();
    }
    const pJSON = JSON.stringify(ps);
    if (pJSON !== state.proposalsJSON) {
      state.proposals = ps;
      state.proposalsJSON = pJSON;
      renderProposals();
      renderHistory();
    }
    if (historyDue) {
      await loadHistory();
      historyDue = false; // else tried again, from where it stopped, next refresh
    }
    bgOk('gov');
  } catch (e) {
    if (isNoConstitution(e)) {
      state.noConstitution = true;
      renderNoConstitution();
    } else bgError(e, 'gov');
  } finally {
    govBusy = false;
    if (govAgain) { govAgain = false; setTimeout(refreshGovernance, 0); }
  }
}

// At most one governance refresh every 2 s, however fast blocks come.
function scheduleGovRefresh() {
  if (govTimer || state.noConstitution) return;
  govTimer = setTimeout(() => { govTimer = null; refreshGovernance(); }, Math.max(0, 2000 - (Date.now() - govLast)));
}

// Constitution changes: scans only the blocks after the last scan, in chunks
// a node's --rpc.rangelimit (or result limit) allows, halved down to 100
// blocks while the node refuses the range.
let historyScanned = -1, historyChunk = 10_000;
const RANGE_REFUSED = /block range|more than \d+ results|limit exceeded/i;

async function loadHistory() {
  const head = num(await httpRpc('eth_blockNumber'));
  const byVersion = new Map((state.history || []).map((h) => [h.version, h]));
  while (historyScanned < head) {
    const from = historyScanned + 1, to = Math.min(head, from + historyChunk - 1);
    let logs;
    try {
      logs = await httpRpc('eth_getLogs', [{
        address: govAddress(), fromBlock: toHex(from), toBlock: toHex(to),
        topics: [topicOf('ConstitutionChanged(uint64,uint256)')],
      }]);
    } catch (e) {
      if (historyChunk > 100 && RANGE_REFUSED.test(e.message)) {
        historyChunk = Math.max(100, Math.floor(historyChunk / 2));
        continue;
      }
      throw e;
    }
    for (const l of logs) {
      const h = { version: BigInt(l.topics[1]), proposal: BigInt(l.topics[2]), block: num(l.blockNumber) };
      byVersion.set(h.version, h);
    }
    state.history = [...byVersion.values()].sort((a, b) => b.block - a.block || Number(b.version - a.version));
    historyScanned = to;
  }
  renderHistory();
}

// Network: polled every second over the WebSocket (2 s over HTTP); one call at a time.
let netBusy = false;
async function pollNetwork() {
  if (netBusy) return;
  netBusy = true;
  try {
    state.network = await live('coco_network');
    bgOk('network');
    renderNetwork();
  } catch (e) {
    bgError(e, 'network');
  } finally {
    netBusy = false;
  }
}

// Chain: blocks by number; each head's block is fetched for its tx count.
const fetchQueue = new Set();
const headTimes = [];
let inflight = 0;

async function fetchBlock(n) {
  const b = await live('eth_getBlockByNumber', [toHex(n), false]);
  bgOk('chain');
  if (b) state.blocks.set(n, { number: n, hash: b.hash, timestamp: num(b.timestamp), txs: b.transactions.length });
}

function pumpFetches() {
  // Idle: fetch the tx counts skipped while heads came too fast (latest 15).
  if (!fetchQueue.size && inflight === 0 && headTimes.length <= 10) {
    for (const b of state.blocks.values()) {
      if (b.txs === null && !b.tried && b.number > state.head - 15) { b.tried = true; fetchQueue.add(b.number); }
    }
  }
  while (inflight < 3 && fetchQueue.size) {
    const n = Math.max(...fetchQueue); // newest first
    fetchQueue.delete(n);
    inflight++;
    fetchBlock(n).catch((e) => bgError(e, 'chain')).finally(() => { inflight--; scheduleChainRender(); pumpFetches(); });
  }
}

function setHead(n) {
  if (n <= state.head) return;
  state.head = n;
  $('#head').textContent = String(n);
}

function onHead(h) {
  const n = num(h.number);
  const known = state.blocks.get(n);
  if (!known || known.hash !== h.hash) state.blocks.set(n, { number: n, hash: h.hash, timestamp: num(h.timestamp), txs: null });
  setHead(n);
  const now = Date.now();
  headTimes.push(now);
  while (headTimes[0] < now - 1000) headTimes.shift();
  if (headTimes.length > 10) fetchQueue.clear(); // too fast: only the newest
  fetchQueue.add(n);
  pumpFetches();
  scheduleChainRender();
  scheduleGovRefresh();
}

// Fetches blocks up to the current head that no newHeads brought (at most 30).
async function catchUpHeads() {
  if (!state.seeded) return;
  const n = num(await httpRpc('eth_blockNumber'));
  bgOk('chain');
  if (n <= state.head) return;
  for (let i = Math.max(state.head + 1, n - 29); i <= n; i++) {
    if (!state.blocks.has(i)) state.blocks.set(i, { number: i, hash: null, timestamp: null, txs: null });
    fetchQueue.add(i);
  }
  setHead(n);
  pumpFetches();
  scheduleChainRender();
  scheduleGovRefresh();
}

async function seedChain() {
  const head = num(await httpRpc('eth_blockNumber'));
  const nums = [];
  for (let n = head; n >= Math.max(0, head - 29); n--) nums.push(n);
  await mapLimit(nums, 4, fetchBlock, (e) => bgError(e, 'chain'));
  setHead(head);
  state.seeded = true;
  renderChain();
}

function startLive() {
  const period = state.config.ws ? 1000 : 2000;
  if (state.config.ws) {
    state.ws = new WsClient(wsUrl, async () => {
      try {
        await state.ws.subscribe('newHeads', onHead);
        bgOk('chain'); // reconnected
      } catch (e) { bgError(e, 'chain'); }
      catchUpHeads().catch((e) => bgError(e, 'chain'));
    });
    state.ws.connect();
  }
  setInterval(() => {
    if (state.config.governed && !state.session) return; // signed out: reads need a session
    pollNetwork();
    if (!state.ws?.open) catchUpHeads().catch((e) => bgError(e, 'chain')); // no WebSocket: poll heads over HTTP
  }, period);
  setInterval(renderChain, 5000); // rates move with time even without blocks
  pollNetwork();
}

/* ======================= views ======================= */

const VIEWS = ['network', 'chain', 'constitution', 'proposals'];

function route() {
  const m = /^#\/(\w+)/.exec(location.hash);
  const view = m && VIEWS.includes(m[1]) ? m[1] : 'network';
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('nav a[data-view]')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (view === 'chain') renderChain();
}

function renderAccount() {
  const acc = $('#account');
  $('#connect').hidden = connected();
  $('#disconnect').hidden = !state.session;
  if (!state.session) { acc.textContent = 'Not connected'; return; }
  let address = state.session.address;
  try { address = toChecksumAddress(address); } catch { /* shown as given */ }
  const actor = state.notActor ? { kind: 'none' } : actorOf(address);
  const what = !actor ? '' : actor.kind === 'member' ? `member "${actor.id}"`
    : actor.kind === 'participant' ? `participant "${actor.id}"` : 'not an actor';
  acc.replaceChildren(el('code', { class: 'addr' }, address), what ? ` — ${what}` : '');
}

function teeBadge(kind) {
  if (kind === 'simulation') return el('span', { class: 'badge tee-simulation' }, 'SIMULATION — not a real enclave');
  if (!kind || kind === 'none' || kind === 'unattested') return el('span', { class: 'badge warn' }, kind || 'none');
  return el('span', { class: 'badge ok' }, kind);
}

function leaderOf(nodes) {
  const self = nodes.find((n) => n.self);
  if (self?.reachable && self.leader) return self.leader;
  return nodes.find((n) => n.reachable && n.role === 'leader')?.id || '';
}

function renderNetwork() {
  const nodes = state.network || [];
  const rows = nodes.map((n) => {
    const health = !n.reachable
      ? [el('span', { class: 'badge bad' }, 'unreachable'), n.error ? ` ${n.error}` : '']
      : n.halted
        ? [el('span', { class: 'badge bad' }, 'halted'), ` ${n.halted}`]
        : [el('span', { class: 'badge ok' }, 'reachable')];
    return el('tr', { 'data-node': n.id, 'data-role': n.role, 'data-reachable': String(!!n.reachable), class: n.reachable ? null : 'unreachable' },
      el('th', { scope: 'row' }, n.id, n.self ? el('span', { class: 'badge self' }, 'this node') : null),
      el('td', {}, el('code', {}, n.address || '—')),
      el('td', { class: `role role-${n.role}` }, n.role),
      el('td', { class: 'num' }, String(n.appliedIndex ?? '—')),
      el('td', { class: 'num' }, n.reachable ? String(n.lag ?? 0) : '—'),
      el('td', { title: n.lastSeen && !n.lastSeen.startsWith('0001') ? `last seen ${n.lastSeen}` : null }, health),
      el('td', {}, n.tee ? teeBadge(n.tee) : '—'),
      el('td', {}, n.code ? hexCode(n.code) : '—'));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8 }, 'No validating nodes reported.')));
  $('#nodes tbody').replaceChildren(...rows);
  $('#leader').textContent = leaderOf(nodes) || 'no leader';
  $('#network-updated').textContent = new Date().toLocaleTimeString();
}

// Chain rates over the last minute; the window shrinks to the data we have.
function chainStats(nowSec) {
  const timed = [...state.blocks.values()].filter((b) => b.timestamp !== null);
  if (!timed.length) return null;
  const start = nowSec - 60;
  const oldest = Math.min(...timed.map((b) => b.timestamp));
  const span = Math.max(1, nowSec - Math.max(start, oldest));
  const inWin = timed.filter((b) => b.timestamp > start);
  const fetched = inWin.filter((b) => b.txs !== null);
  const txs = fetched.reduce((s, b) => s + b.txs, 0);
  // Blocks whose tx count was skipped (heads too fast) count at the average.
  const tps = fetched.length ? (txs / fetched.length) * inWin.length / span : 0;
  return { blockRate: inWin.length / span, tps };
}

let chainTimer = null;
function scheduleChainRender() {
  if (!chainTimer) chainTimer = setTimeout(() => { chainTimer = null; renderChain(); }, 300);
}

function renderChain() {
  const nowSec = Date.now() / 1000;
  // Keep 6 minutes of blocks, and always the latest 15.
  const latest = [...state.blocks.keys()].sort((a, b) => b - a);
  for (const n of latest.slice(15)) {
    const b = state.blocks.get(n);
    if (b.timestamp !== null && b.timestamp < nowSec - 360) state.blocks.delete(n);
  }
  const stats = chainStats(nowSec);
  $('#block-rate').textContent = stats ? stats.blockRate.toFixed(2) : '—';
  $('#tps').textContent = stats ? stats.tps.toFixed(2) : '—';
  const rows = latest.slice(0, 15).map((n) => state.blocks.get(n)).filter(Boolean).map((b) =>
    el('tr', { 'data-block': b.number },
      el('td', { class: 'num' }, String(b.number)),
      el('td', {}, b.timestamp !== null ? fmtTime(b.timestamp) : '…'),
      el('td', { class: 'num' }, b.txs !== null ? String(b.txs) : '…'),
      el('td', {}, b.hash ? hexCode(b.hash, 6) : '…')));
  $('#blocks tbody').replaceChildren(...rows);
  if (!$('#view-chain').hidden) drawTpsChart(nowSec);
}

// Bars of tx/s in 10-second buckets over the last 5 minutes.
function drawTpsChart(nowSec) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = $('#tps-chart');
  const W = 760, H = 220, L = 48, R = 12, T = 12, B = 30, N = 30;
  const s = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const start = nowSec - 300;
  const buckets = new Array(N).fill(0);
  for (const b of state.blocks.values()) {
    if (b.timestamp === null || b.txs === null || b.timestamp < start) continue;
    buckets[Math.min(N - 1, Math.floor((b.timestamp - start) / 10))] += b.txs / 10;
  }
  const peak = Math.max(...buckets);
  const top = peak <= 1 ? 1 : Math.pow(10, Math.floor(Math.log10(peak))) * [1, 2, 5, 10].find((f) => f * Math.pow(10, Math.floor(Math.log10(peak))) >= peak);
  const plotW = W - L - R, plotH = H - T - B, bw = plotW / N;
  const parts = [s('title', {}, `Transactions per second, last 5 minutes; peak ${peak.toFixed(1)} tx/s`)];
  for (const f of [0, 0.5, 1]) {
    const y = T + plotH * (1 - f);
    parts.push(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: 'grid' }));
    parts.push(s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, String(+(top * f).toFixed(2))));
  }
  buckets.forEach((v, i) => {
    const h = (v / top) * plotH;
    const bar = s('rect', { x: L + i * bw + 1, y: T + plotH - h, width: Math.max(1, bw - 2), height: h, class: 'bar' });
    bar.append(s('title', {}, `${Math.round((N - i) * 10)}–${Math.round((N - i - 1) * 10)} s ago: ${v.toFixed(2)} tx/s`));
    parts.push(bar);
  });
  for (let m = 5; m >= 0; m--) {
    const x = L + plotW * (1 - m / 5);
    parts.push(s('text', { x, y: H - 10, 'text-anchor': m === 5 ? 'start' : m === 0 ? 'end' : 'middle', class: 'axis' }, m ? `−${m} min` : 'now'));
  }
  parts.push(s('line', { x1: L, x2: L, y1: T, y2: T + plotH, class: 'axis-line' }));
  parts.push(s('line', { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, class: 'axis-line' }));
  parts.push(s('text', { x: 12, y: T + plotH / 2, transform: `rotate(-90 12 ${T + plotH / 2})`, 'text-anchor': 'middle', class: 'axis' }, 'tx/s'));
  svg.replaceChildren(...parts);
}

// Voting policy in words: "2 of 3 members", "unanimous", "majority", "any one member".
function policyWords(policy, n) {
  switch (policy?.kind) {
    case 'unanimous': return `unanimous (all ${plural(n, 'member')})`;
    case 'm-of-n': return `${policy.m ?? 0} of ${plural(n, 'member')}`;
    case 'one-of-n': return 'any one member';
    case 'majority': return `majority (more than half of ${plural(n, 'member')})`;
  }
  return String(policy?.kind ?? 'unknown');
}

// What a proposal needs to pass: "needs 2 of 3 members".
function ruleWords(policy, n, threshold) {
  if (!threshold) return `cannot pass with ${plural(n, 'member')} under the current policy`;
  if (policy?.kind === 'one-of-n') return 'needs any one member';
  const why = policy?.kind === 'unanimous' ? ' (unanimous)' : policy?.kind === 'majority' ? ' (majority)' : '';
  return `needs ${threshold} of ${plural(n, 'member')}${why}`;
}

const accountList = (accounts) => el('ul', { class: 'plain' }, (accounts || []).map((a) => el('li', {}, el('code', {}, a))));

function renderNoConstitution() {
  const text = 'This network has no constitution: it is not governed, so there are no members, proposals or votes.';
  for (const id of ['constitution', 'proposals']) {
    $(`#${id}-none`).textContent = text;
    $(`#${id}-none`).hidden = false;
    $(`#${id}-body`).hidden = true;
  }
}

function renderConstitution() {
  const c = state.constitution;
  $('#constitution-none').hidden = true;
  $('#constitution-body').hidden = false;
  $('#constitution-version').textContent = String(c.version);
  $('#constitution-block').textContent = String(c.block);
  $('#policy').textContent = policyWords(c.policy, c.members.length);
  $('#members tbody').replaceChildren(...c.members.map((m) => el('tr', {},
    el('th', { scope: 'row' }, m.id), el('td', {}, accountList(m.accounts)),
    el('td', {}, m.recoveryKey && !isZeroHex(m.recoveryKey) ? el('span', { title: m.recoveryKey }, 'yes') : 'no'))));
  $('#participants tbody').replaceChildren(...(c.participants.length
    ? c.participants.map((p) => el('tr', {}, el('th', { scope: 'row' }, p.id), el('td', {}, accountList(p.accounts))))
    : [el('tr', {}, el('td', { colspan: 2 }, 'No participants.'))]));
  $('#constitution-nodes tbody').replaceChildren(...c.nodes.map((n) => el('tr', {},
    el('th', { scope: 'row' }, n.id), el('td', {}, n.owner), el('td', {}, el('code', {}, n.raftAddr)),
    el('td', {}, isZeroHex(n.codeId) ? 'any in manifest' : hexCode(n.codeId, 6)))));
  $('#code-manifest').replaceChildren(...(c.codeManifest.length
    ? c.codeManifest.map((h) => el('li', {}, el('code', { class: 'wrap' }, h)))
    : [el('li', { class: 'muted' }, 'No code identities.')]));
  $('#tee-manifest').replaceChildren(...(c.teeManifest.length
    ? c.teeManifest.map((k) => el('li', {}, k === 'simulation' ? [el('code', {}, k), ' ', teeBadge(k)] : el('code', {}, k)))
    : [el('li', { class: 'muted' }, 'No TEE kinds.')]));
  const st = c.settings || {};
  const settings = [
    ['Proposal lifetime', plural(st.proposalLifetime ?? 0, 'block')],
    ['Key epoch length', plural(st.epochLength ?? 0, 'block')],
    ['Open sending', st.openSending ? 'on: any account may send transactions' : "off: only members' and participants' accounts send transactions"],
    ['Sign-in sessions', st.sessionLifetime ? `up to ${durationWords(st.sessionLifetime)}` : 'up to 24 h (the default)'],
    ['Recovery threshold', st.recoveryThreshold ? plural(st.recoveryThreshold, 'recovery key') : 'a majority of the members with a recovery key'],
  ];
  $('#settings').replaceChildren(...settings.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function renderHistory() {
  const tbody = $('#history tbody');
  if (!state.history) return;
  const byId = new Map((state.proposals || []).map((p) => [String(p.id), p]));
  const genesis = el('tr', {}, el('td', { class: 'num' }, '1'), el('td', { class: 'num' }, '0'),
    el('td', { class: 'num' }, '—'), el('td', {}, 'the genesis constitution'));
  tbody.replaceChildren(...state.history.map((h) => el('tr', {},
    el('td', { class: 'num' }, String(h.version)), el('td', { class: 'num' }, String(h.block)),
    el('td', { class: 'num' }, String(h.proposal)), el('td', {}, byId.get(String(h.proposal))?.description ?? '—'))), genesis);
}

// An action's arguments as a key/value list.
function argsList(args) {
  if (!args || typeof args !== 'object') return el('span', { class: 'muted' }, 'no arguments');
  const value = (k, v) => {
    if (Array.isArray(v)) return v.length ? el('ul', { class: 'plain' }, v.map((x) => el('li', {}, value(k, x)))) : el('span', { class: 'muted' }, '(none)');
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (v && typeof v === 'object') return argsList(v);
    const s = String(v ?? '');
    if (/^0x[0-9a-fA-F]*$/.test(s)) {
      if (k === 'codeId' && isZeroHex(s)) return 'zero: any code identity of the manifest';
      return s.length > 68 ? hexCode(s, 8) : el('code', { class: 'wrap' }, s);
    }
    return s;
  };
  return el('dl', { class: 'kv args' }, Object.entries(args).flatMap(([k, v]) => [el('dt', {}, label(k)), el('dd', {}, value(k, v))]));
}

function proposalCard(p, me) {
  const c = state.constitution;
  const n = c ? c.members.length : 0;
  const titleId = `proposal-${p.id}-title`;
  const change = [el('p', { class: 'action' }, actionLabel(p.action)), argsList(p.args)];
  if (p.action === 'set-policy' && p.args) change.push(el('p', {}, `New policy: ${policyWords(p.args, n)}`));
  const facts = [
    ['What passing would change', change],
    ['Proposer', p.proposer],
    ['Created at block', String(p.createdAt)],
    [p.state === 'open' ? 'Expires at block' : 'Expiry block', String(p.expiresAt)],
    ['Approvals', `${p.approvals} of ${p.threshold || '—'}${c ? ` (${ruleWords(c.policy, n, p.threshold)})` : ''}`],
    ['Rejections', String(p.rejections)],
  ];
  if (p.reason) facts.push(['Reason', p.reason]);
  const ballots = p.ballots?.length
    ? el('table', { class: 'ballots' },
      el('caption', {}, 'Ballots'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Member'), el('th', { scope: 'col' }, 'Vote'), el('th', { scope: 'col' }, 'Block'))),
      el('tbody', {}, p.ballots.map((b) => el('tr', {},
        el('td', {}, b.member), el('td', { class: b.approve ? 'yes' : 'no' }, b.approve ? 'yes' : 'no'), el('td', { class: 'num' }, String(b.block))))))
    : el('p', { class: 'muted' }, 'No ballots.');
  const buttons = [];
  if (p.state === 'open' && connected()) {
    const b = (cls, text, fn) => {
      const btn = el('button', { type: 'button', class: cls, 'aria-describedby': titleId }, text);
      btn.addEventListener('click', () => fn(btn));
      return btn;
    };
    buttons.push(b('vote-yes', 'Vote yes', (btn) => vote(p.id, true, btn)));
    buttons.push(b('vote-no', 'Vote no', (btn) => vote(p.id, false, btn)));
    if (me?.kind === 'member' && me.id === p.proposer) buttons.push(b('withdraw secondary', 'Withdraw', (btn) => withdraw(p.id, btn)));
  }
  return el('article', { class: 'proposal', 'data-proposal': p.id, 'data-state': p.state, 'aria-labelledby': titleId },
    el('h4', { id: titleId }, `Proposal ${p.id}: ${p.description}`, ' ', el('span', { class: `badge state-${p.state}` }, p.state)),
    el('dl', { class: 'kv' }, facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    ballots,
    buttons.length ? el('div', { class: 'buttons' }, buttons) : null);
}

function renderProposals() {
  if (!state.proposals) return;
  $('#proposals-none').hidden = true;
  $('#proposals-body').hidden = false;
  // Re-rendering replaces the buttons: put the focus back where it was.
  const f = document.activeElement;
  const card = f?.closest?.('[data-proposal]');
  const focusKey = card && f.tagName === 'BUTTON' ? [card.dataset.proposal, f.classList[0]] : null;
  const me = state.session ? actorOf(state.session.address) : null;
  const open = state.proposals.filter((p) => p.state === 'open');
  const closed = state.proposals.filter((p) => p.state !== 'open').reverse();
  $('#proposals-open').replaceChildren(...(open.length ? open.map((p) => proposalCard(p, me)) : [el('p', { class: 'muted' }, 'No open proposals.')]));
  $('#proposals-closed').replaceChildren(...(closed.length ? closed.map((p) => proposalCard(p, me)) : [el('p', { class: 'muted' }, 'No closed proposals.')]));
  if (focusKey) document.querySelector(`[data-proposal="${CSS.escape(focusKey[0])}"] button.${focusKey[1]}`)?.focus();
}

/* ---------- the propose form, generated from the ABI ---------- */

const POLICY_KINDS = ['Unanimous', 'MOfN', 'OneOfN', 'Majority'];

function proposeFunctions() {
  return (state.gov?.abi || []).filter((f) => f.type === 'function' && /^propose/.test(f.name));
}

function buildProposeForm() {
  const select = $('#propose-action');
  const fns = proposeFunctions();
  select.replaceChildren(...fns.map((f) => el('option', { value: f.name }, functionLabel(f.name))));
  renderProposeInputs();
}

function currentProposeFunction() {
  return proposeFunctions().find((f) => f.name === $('#propose-action').value);
}

function hintFor(input) {
  const t = input.type;
  if (t === 'address[]') return 'Addresses (0x…), separated by commas';
  if (t === 'bytes') return 'Hex bytes: 0x…; leave empty for none';
  if (/^bytes\d+$/.test(t)) return `${t.slice(5)} bytes: 0x and ${2 * Number(t.slice(5))} hex digits; empty for zero`;
  if (/^uint/.test(t)) return `A whole number (${t}), decimal or 0x hex`;
  return '';
}

function argField(input) {
  const id = `arg-${input.name}`, hintId = `${id}-hint`;
  const caption = label(input.name);
  if (input.type === 'bool') {
    return el('div', { class: 'field check' },
      el('input', { type: 'checkbox', id, name: input.name }), el('label', { for: id }, caption));
  }
  let control;
  if (/^enum .*PolicyKind$/.test(input.internalType || '')) {
    control = el('select', { id, name: input.name }, POLICY_KINDS.map((k, i) => el('option', { value: String(i) }, k)));
  } else {
    const hint = /^enum /.test(input.internalType || '') ? `${input.internalType.slice(5)}: its number` : hintFor(input);
    control = el('input', {
      type: 'text', id, name: input.name, autocomplete: 'off', spellcheck: 'false',
      'aria-describedby': hint ? hintId : null, 'data-type': input.type,
    });
    if (hint) return el('div', { class: 'field' }, el('label', { for: id }, caption), control, el('p', { id: hintId, class: 'hint' }, hint));
  }
  return el('div', { class: 'field' }, el('label', { for: id }, caption), control);
}

function renderProposeInputs() {
  const fs = $('#propose-args');
  const fn = currentProposeFunction();
  fs.replaceChildren(el('legend', {}, 'Arguments'), ...(fn ? fn.inputs.map(argField) : []));
}

function readArg(form, input) {
  const field = form.elements.namedItem(input.name);
  if (input.type === 'bool') return field.checked;
  const v = field.value.trim();
  if (/^bytes\d+$/.test(input.type) && v === '') return '0x' + '00'.repeat(Number(input.type.slice(5)));
  if (input.type === 'bytes' && v === '') return '0x';
  if (input.type === 'address[]') return splitList(v);
  if (/^uint/.test(input.type) && v === '') throw new Error(`${label(input.name)}: required`);
  return v;
}

function onPropose(ev) {
  ev.preventDefault();
  const fn = currentProposeFunction();
  if (!fn) return;
  if (!state.session) { showError('Connect a wallet of a member first: only members propose.'); return; }
  let data;
  try {
    const values = fn.inputs.map((i) => readArg(ev.target, i));
    data = encodeCall(selectorOf(signatureOf(fn)), fn.inputs.map((i) => i.type), values, fn.inputs.map((i) => label(i.name)));
  } catch (e) {
    showError(e.message);
    return;
  }
  const name = functionLabel(fn.name);
  const created = topicOf('ProposalCreated(uint256,string,uint8,string)');
  sendGovTx(data, `Proposal "${name}"`, $('#propose-submit'), (receipt) => {
    const log = receipt.logs?.find((l) => l.topics?.[0]?.toLowerCase() === created.toLowerCase());
    return log ? `Proposal ${BigInt(log.topics[1])} ("${name}")` : null;
  });
}

/* ======================= boot ======================= */

let configReady = Promise.resolve(false); // true once config.json is read

async function loadConfig() {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    state.config = await res.json();
    return true;
  } catch (e) {
    showError(`Cannot read the dashboard's config.json: ${e.message}`);
    return false;
  }
}

async function boot() {
  route();
  window.addEventListener('hashchange', route);
  $('#connect').addEventListener('click', connect);
  $('#disconnect').addEventListener('click', signOut);
  $('#propose-action').addEventListener('change', renderProposeInputs);
  $('#propose-form').addEventListener('submit', onPropose);
  configReady = loadConfig();
  if (!(await configReady)) return;

  if (window.ethereum?.on) {
    window.ethereum.on('accountsChanged', (accounts) => {
      const a = accounts?.[0];
      if (state.session && a && a.toLowerCase() !== state.session.address.toLowerCase()) {
        showError(`The wallet switched to ${a}, but this page is signed in as ${state.session.address}: sign out and connect again to use ${a}.`);
      }
    });
    window.ethereum.on('chainChanged', (id) => {
      if (BigInt(id) !== BigInt(state.config.chainId)) showError(`The wallet switched to chain ${BigInt(id)}; this network is chain ${BigInt(state.config.chainId)}.`);
    });
  }

  if (!state.config.governed) {
    if (!window.ethereum) showStatus(`${NO_WALLET} (needed only to sign transactions).`);
    await startData();
    return;
  }
  state.session = loadStoredSession();
  renderAccount();
  if (state.session) await afterSignIn();
  else {
    $('#signin').hidden = false;
    if (!window.ethereum) showError(NO_WALLET);
  }
}

if (HAS_DOM) boot().catch((e) => showError(e?.message || String(e)));
