// A confidential supply chain on cocogeth, end to end:
//
//   node demo.mjs [http://127.0.0.1:8545]      (make demo starts a --dev node)
//
// A manufacturer ships goods to two retailers through a carrier. Each party
// signs in (a SIWE session, cocogeth-confidential) and reads the same
// contract: each sees exactly its own shipments, events and transactions;
// an outsider and an anonymous client see none. Exits non-zero if any
// party sees more or less than it should.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ethers } from 'ethers';
import { login, sessionProvider } from 'cocogeth-confidential';

const url = process.argv[2] || 'http://127.0.0.1:8545';
const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'; // the public dev key of --dev
const here = path.dirname(fileURLToPath(import.meta.url));

function compile() {
  const solc = createRequire(import.meta.url)('solc');
  // Source units are named from confidential/, so the contract's
  // "../ICocoConfidential.sol" is confidential/ICocoConfidential.sol.
  const read = (p) => fs.readFileSync(path.join(here, '..', p), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'examples/SupplyChain.sol': { content: read('examples/SupplyChain.sol') } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'prague', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: (p) => ({ contents: read(p) }) }));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const c = out.contracts['examples/SupplyChain.sol'].SupplyChain;
  return { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
}

let failures = 0;
function expect(what, got, want) {
  const ok = JSON.stringify(got) === JSON.stringify(want);
  if (!ok) failures++;
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(got)}${ok ? '' : ` (want ${JSON.stringify(want)})`}`);
}

async function main() {
  const { abi, bytecode } = compile();
  const anon = new ethers.JsonRpcProvider(url, undefined, { cacheTimeout: -1 });
  const dev = new ethers.NonceManager(new ethers.Wallet(DEV_KEY, anon));
  const names = ['manufacturer', 'carrier', 'retailer', 'retailer2', 'outsider'];
  const parties = {};
  for (const name of names) {
    const wallet = ethers.Wallet.createRandom();
    await (await dev.sendTransaction({ to: wallet.address, value: ethers.parseEther('1') })).wait();
    const { token } = await login(wallet, url, { ttl: 600 });
    const provider = sessionProvider(url, token);
    parties[name] = { wallet: wallet.connect(provider), provider };
  }
  console.log(`Signed in ${names.join(', ')} at ${url}`);
  const m = parties.manufacturer.wallet;
  const factory = new ethers.ContractFactory(abi, bytecode, m);
  const chain = await factory.deploy();
  await chain.waitForDeployment();
  const address = await chain.getAddress();
  console.log(`SupplyChain deployed at ${address} (confidential: it answers supportsInterface(ICocoConfidential))`);

  const as = (name) => new ethers.Contract(address, abi, parties[name].wallet);
  const created1 = await (await as('manufacturer').create(parties.carrier.wallet.address, parties.retailer.wallet.address, '40 pallets of tea')).wait();
  await (await as('manufacturer').create(parties.carrier.wallet.address, parties.retailer2.wallet.address, '12 crates of coffee')).wait();
  await (await as('carrier').pickUp(1)).wait();
  await (await as('carrier').deliver(1)).wait();
  await (await as('retailer').confirm(1)).wait();
  console.log('Shipment 1: manufacturer → carrier → retailer, received. Shipment 2: for retailer2, created.');

  const sees = {
    manufacturer: { events: 5, one: true, two: true, receipt: true },
    carrier: { events: 5, one: true, two: true, receipt: true },
    retailer: { events: 4, one: true, two: false, receipt: true },
    retailer2: { events: 1, one: false, two: true, receipt: false },
    outsider: { events: 0, one: false, two: false, receipt: false },
  };
  const readAs = async (name, provider) => {
    const c = new ethers.Contract(address, abi, provider);
    const canRead = async (id) => c.shipment(id).then(() => true, () => false);
    return {
      events: (await provider.getLogs({ address, fromBlock: 0 })).length,
      one: await canRead(1),
      two: await canRead(2),
      receipt: (await provider.getTransactionReceipt(created1.hash)) !== null,
    };
  };
  for (const name of names) {
    console.log(`${name}:`);
    const got = await readAs(name, parties[name].provider);
    for (const k of Object.keys(got)) expect(k === 'events' ? 'events seen' : k === 'receipt' ? 'sees the first create transaction' : `reads shipment ${k === 'one' ? 1 : 2}`, got[k], sees[name][k]);
  }
  console.log('anonymous:');
  const got = await readAs('anonymous', anon);
  for (const [k, v] of Object.entries({ events: 0, one: false, two: false, receipt: false })) expect(k, got[k], v);
  const storage = await anon.send('eth_getStorageAt', [address, '0x0', 'latest']).then(() => 'readable', (e) => e.error?.message ?? e.message);
  expect('storage', storage.includes('confidential contract') ? 'refused' : storage, 'refused');
  for (const p of Object.values(parties)) p.provider.destroy();
  anon.destroy();
  if (failures) {
    console.log(`${failures} expectation(s) failed`);
    process.exit(1);
  }
  console.log('Every party saw exactly its own shipments.');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
