// Compiles governance/IGovernance.sol with solcjs and writes its ABI to
// governance/abi.json, which the Go package embeds and parses.
//
//   node governance/abigen.mjs     (from the repository root; needs
//                                   `cd test/js && npm ci` once for solc)
//
// Run it after every change of IGovernance.sol; TestSolidityMatchesABI fails
// until abi.json matches the interface again.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '..', 'test', 'js', 'package.json'));
const solc = require('solc');

const source = fs.readFileSync(path.join(here, 'IGovernance.sol'), 'utf8');
const input = {
  language: 'Solidity',
  sources: { 'IGovernance.sol': { content: source } },
  settings: { outputSelection: { '*': { '*': ['abi'] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of output.errors || []) console.error(e.formattedMessage || e.message);
if ((output.errors || []).some((e) => e.severity === 'error')) process.exit(1);

const abi = output.contracts['IGovernance.sol'].IGovernance.abi;
// Stable order: events then functions, each by name.
abi.sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type.localeCompare(b.type)));
fs.writeFileSync(path.join(here, 'abi.json'), JSON.stringify(abi, null, 2) + '\n');
console.log(`wrote governance/abi.json (${abi.length} entries, solc ${solc.version()})`);
