// Sessions for the tests, through the repo's own module
// (confidential/js, installed as cocogeth-confidential): a Sign-In with
// Ethereum message signed by an ethers signer, exchanged with coco_login
// for a token, and ethers providers that present it.
import * as confidential from 'cocogeth-confidential';
import { CHAIN_ID } from './node.mjs';

/** An EIP-4361 message in canonical form (ttlMs: lifetime in ms). */
export function siweMessage(address, { chainId = CHAIN_ID, issuedAt = new Date(), ttlMs = 3600_000 } = {}) {
  return confidential.siweMessage({ address, chainId, uri: 'https://app.example', issuedAt, ttl: ttlMs / 1000 });
}

/**
 * Signs in `signer` on `node`: returns coco_login's {token, address,
 * expires}. With opts, the message is made by siweMessage (for refusals).
 */
export async function login(node, signer, opts) {
  if (!opts) return confidential.login(signer, node.httpUrl);
  const message = siweMessage(signer.address, opts);
  return node.rpc('coco_login', [message, await signer.signMessage(message)]);
}

const providerOptions = { staticNetwork: true, pollingInterval: 50, network: Number(CHAIN_ID) };

/** An HTTP provider presenting `token` (the module's; ethers' cache off). */
export function sessionProvider(node, token) {
  const p = confidential.sessionProvider(node.httpUrl, token, providerOptions);
  node.providers.push(p);
  return p;
}

/** A WebSocket provider presenting `token` (in the URL, as browsers must). */
export function sessionWsProvider(node, token) {
  const p = confidential.sessionProvider(node.wsUrl, token, providerOptions);
  node.providers.push(p);
  return p;
}

export const { signCall, signedCall, sessionUrl } = confidential;
