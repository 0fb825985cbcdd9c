// Confidential reads on cocogeth with ethers v6: sign in once (a Sign-In
// with Ethereum session), then read through providers that present the
// session; or sign one call (EIP-712). See the README's "Confidential
// contracts" and confidential/doc.go for what the node checks.
import { ethers } from 'ethers';

const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** An EIP-4361 message in the canonical form cocogeth verifies. */
export function siweMessage({ address, chainId, uri, issuedAt = new Date(), ttl = 3600, statement = 'Sign in to cocogeth' }) {
  const host = new URL(uri).host;
  const nonce = ethers.hexlify(ethers.randomBytes(8)).slice(2);
  const expires = new Date(issuedAt.getTime() + ttl * 1000);
  return `${host} wants you to sign in with your Ethereum account:\n${ethers.getAddress(address)}\n\n` +
    `${statement}\n\nURI: ${uri}\nVersion: 1\nChain ID: ${chainId}\nNonce: ${nonce}\n` +
    `Issued At: ${iso(issuedAt)}\nExpiration Time: ${iso(expires)}`;
}

/** One JSON-RPC call over HTTP; throws the node's error message. */
async function rpc(url, method, params) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw Object.assign(new Error(`${method}: ${body.error.message}`), { code: body.error.code });
  return body.result;
}

/**
 * Signs in `signer` at the node of `url` (http or https): the signer signs
 * a SIWE message (personal_sign) and coco_login exchanges it for a session.
 * Returns {token, address, expires} (expires in unix seconds). ttl is in
 * seconds (the network allows at most 24 h by default).
 */
export async function login(signer, url, { ttl = 3600 } = {}) {
  const chainId = BigInt(await rpc(url, 'eth_chainId', []));
  const message = siweMessage({ address: await signer.getAddress(), chainId, uri: url, ttl });
  const signature = await signer.signMessage(message);
  return rpc(url, 'coco_login', [message, signature]);
}

/** `url` with the session in its query, for wallets that take only a URL (MetaMask). */
export function sessionUrl(url, token) {
  const u = new URL(url);
  u.searchParams.set('session', token);
  return u.toString();
}

/**
 * An ethers provider for `url` that presents the session: over HTTP as
 * "Authorization: Bearer", over WebSocket in the URL. ethers' 250 ms
 * request cache is off (cacheTimeout -1): on a chain this fast it hands
 * back stale pending nonces.
 */
export function sessionProvider(url, token, { network, ...options } = {}) {
  const opts = { cacheTimeout: -1, ...options };
  if (url.startsWith('ws://') || url.startsWith('wss://')) {
    return new ethers.WebSocketProvider(sessionUrl(url, token), network, opts);
  }
  const req = new ethers.FetchRequest(url);
  req.setHeader('Authorization', `Bearer ${token}`);
  return new ethers.JsonRpcProvider(req, network, opts);
}

const CALL_TYPES = {
  Call: [
    { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
    { name: 'data', type: 'bytes' }, { name: 'blockNumber', type: 'uint64' }, { name: 'blockHash', type: 'bytes32' },
    { name: 'expiry', type: 'uint64' },
  ],
};

/**
 * The call object of `tx` ({to, data, value}) signed by `signer`
 * (eth_signTypedData_v4), anchored to the head of `provider`'s chain and
 * valid for `ttl` seconds: an "auth" member that eth_call and
 * eth_estimateGas verify.
 */
export async function signCall(signer, provider, tx, { ttl = 300 } = {}) {
  const from = await signer.getAddress();
  const [block, network] = await Promise.all([provider.getBlock('latest'), provider.getNetwork()]);
  const expiry = Math.floor(Date.now() / 1000) + ttl;
  const value = {
    from, to: tx.to ?? ethers.ZeroAddress, value: BigInt(tx.value ?? 0), data: tx.data ?? '0x',
    blockNumber: block.number, blockHash: block.hash, expiry,
  };
  const signature = await signer.signTypedData({ name: 'cocogeth', version: '1', chainId: network.chainId }, CALL_TYPES, value);
  const call = { from, data: value.data, auth: { blockNumber: ethers.toQuantity(block.number), blockHash: block.hash, expiry: ethers.toQuantity(expiry), signature } };
  if (tx.to) call.to = tx.to;
  if (tx.value) call.value = ethers.toQuantity(tx.value);
  return call;
}

/** eth_call of `tx` as `signer`, proven by a signed call; returns the result data. */
export async function signedCall(signer, provider, tx, opts) {
  return provider.send('eth_call', [await signCall(signer, provider, tx, opts), 'latest']);
}
