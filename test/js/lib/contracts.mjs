// Loads the compiled test contracts (internal/testcontracts/artifacts) and
// deploys them with ethers.
import fs from 'node:fs';
import path from 'node:path';
import { ethers } from 'ethers';
import { REPO_ROOT, DEV_KEY } from './node.mjs';

export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'internal', 'testcontracts', 'artifacts');

/** Returns {contractName, abi, bytecode, deployedBytecode}. */
export function artifact(name) {
  return JSON.parse(fs.readFileSync(path.join(ARTIFACTS_DIR, `${name}.json`), 'utf8'));
}

/** Deploys `name` with `args` from `signer`, waits for the receipt, returns the contract. */
export async function deploy(signer, name, args = [], overrides = {}) {
  const a = artifact(name);
  const factory = new ethers.ContractFactory(a.abi, a.bytecode, signer);
  const c = await factory.deploy(...args, overrides);
  await c.waitForDeployment();
  return c;
}

/** The dev account as an ethers Wallet connected to `provider`. */
export function devWallet(provider) {
  return new ethers.Wallet(DEV_KEY, provider);
}

/** Creates `n` random wallets funded with `amount` wei each by `funder`. */
export async function fundedWallets(funder, n, amount = ethers.parseEther('10')) {
  const wallets = [];
  const txs = [];
  for (let i = 0; i < n; i++) {
    const w = ethers.Wallet.createRandom().connect(funder.provider);
    wallets.push(w);
    txs.push(await funder.sendTransaction({ to: w.address, value: amount }));
  }
  for (const tx of txs) {
    const r = await tx.wait();
    if (r.status !== 1) throw new Error(`funding tx ${tx.hash} failed`);
  }
  return wallets;
}
