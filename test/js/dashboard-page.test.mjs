// The dashboard page's own encoders (dashboard/web/app.js), checked against
// ethers v6: the calldata the page builds for the wallet, the Keccak-256
// and EIP-55 it needs to sign in, and the refusals of bad input. No node.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { encodeCall, keccak256, toChecksumAddress, parseUint } from '../../dashboard/web/app.js';
import { governanceAbi } from './lib/governed.mjs';

const iface = new ethers.Interface(governanceAbi());

/** The page's encoding of fn(args), with the selector ethers computes. */
function pageEncode(name, args) {
  const fn = iface.getFunction(name);
  return encodeCall(fn.selector, fn.inputs.map((i) => i.type), args);
}

test('the page encodes every kind of governance call as ethers does', () => {
  const a1 = ethers.Wallet.createRandom().address;
  const a2 = ethers.Wallet.createRandom().address;
  const cases = [
    ['vote', [7n, true]],
    ['vote', [(1n << 200n) + 5n, false]],
    ['withdraw', [1n]],
    ['proposeAddMember', ['a member whose name is longer than thirty-two bytes ✓', [a1, a2], '0x01020304', '0x']],
    ['proposeAddMember', ['Z', [], '0x02', '0x' + 'ab'.repeat(32)]],
    ['proposeAddParticipant', ['E', [a1]]],
    ['proposeAddNode', ['vn4', 'A', '10.0.0.4:30400', '0x04' + '11'.repeat(64), ethers.ZeroHash]],
    ['proposeSetPolicy', [1n, 2n]],
    ['proposeSetSettings', [100n, 200n, true, 3600n]],
    ['proposeSetRecoveryThreshold', [65535n]],
    ['proposeAddCode', ['0x' + 'cd'.repeat(32)]],
    ['proposeAddTEE', ['sgx']],
  ];
  for (const [name, args] of cases) {
    assert.equal(pageEncode(name, args), iface.encodeFunctionData(name, args), name);
  }
});

test('the page hashes and checksums as ethers does (sign-in needs EIP-55)', () => {
  for (const s of ['', 'abc', 'x'.repeat(135), 'y'.repeat(136), 'z'.repeat(300)]) {
    const b = ethers.toUtf8Bytes(s);
    assert.equal(ethers.hexlify(keccak256(b)), ethers.keccak256(b), `keccak256 of ${s.length} bytes`);
  }
  for (let i = 0; i < 20; i++) {
    const addr = ethers.Wallet.createRandom().address;
    assert.equal(toChecksumAddress(addr.toLowerCase()), addr);
  }
  assert.throws(() => toChecksumAddress('0x1234'), /not an address/);
});

test('the page refuses bad input with a reason instead of sending it', () => {
  assert.throws(() => pageEncode('vote', [-1n, true]), /out of range/);
  assert.throws(() => pageEncode('proposeSetRecoveryThreshold', [65536n]), /out of range for uint16/);
  assert.throws(() => pageEncode('proposeAddParticipant', ['E', ['0x12']]), /want an address/);
  assert.throws(() => pageEncode('proposeAddCode', ['0x1234']), /exactly 32 bytes/);
  assert.throws(() => pageEncode('proposeAddMember', ['Z', [], '0x0', '0x']), /even number of hex digits/);
  assert.throws(() => parseUint('12abc'), /whole number/);
  assert.throws(() => pageEncode('vote', [1n]), /want 2 arguments/);
});
