// Sessions for the tests: a Sign-In with Ethereum message signed by an
// ethers signer (personal_sign), exchanged with coco_login for a token, and
// ethers providers that present it.
import WebSocket from 'ws';
import { ethers } from 'ethers';
import { CHAIN_ID } from './node.mjs';

/** An EIP-4361 message in canonical form. */
export function siweMessage(address, { chainId = CHAIN_ID, issuedAt = new Date(), ttlMs = 3600_000 } = {}) {
  const exp = new Date(issuedAt.getTime() + ttlMs);
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `app.example wants you to sign in with your Ethereum account:\n${address}\n\n` +
    `Sign in to cocogeth\n\nURI: https://app.example\nVersion: 1\nChain ID: ${chainId}\n` +
    `Nonce: ${ethers.hexlify(ethers.randomBytes(8)).slice(2)}\nIssued At: ${iso(issuedAt)}\nExpiration Time: ${iso(exp)}`;
}

/** Signs in `signer` on `node`: returns coco_login's {token, address, expires}. */
export async function login(node, signer, opts) {
  const message = siweMessage(signer.address, opts);
  return node.rpc('coco_login', [message, await signer.signMessage(message)]);
}

/** An HTTP provider presenting `token` (ethers' cache off). */
export function sessionProvider(node, token) {
  const req = new ethers.FetchRequest(node.httpUrl);
  req.setHeader('Authorization', `Bearer ${token}`);
  const p = new ethers.JsonRpcProvider(req, Number(CHAIN_ID), { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  node.providers.push(p);
  return p;
}

/** A WebSocket provider whose handshake presents `token`. */
export function sessionWsProvider(node, token) {
  const p = new ethers.WebSocketProvider(
    () => new WebSocket(node.wsUrl, { headers: { Authorization: `Bearer ${token}` } }),
    Number(CHAIN_ID), { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  node.providers.push(p);
  return p;
}
