// Compiles test/contracts/*.sol with solcjs into internal/testcontracts/artifacts/<Name>.json.
//
//   npm run compile
//
// Each artifact is {"contractName","abi","bytecode","deployedBytecode"} with 0x-prefixed hex.
// Only contracts defined in test/contracts are written (not imported library contracts).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc');

const here = path.dirname(fileURLToPath(import.meta.url));
const contractsDir = path.resolve(here, '..', 'contracts');
const outDir = path.resolve(here, '..', '..', 'internal', 'testcontracts', 'artifacts');

const files = fs.readdirSync(contractsDir).filter((f) => f.endsWith('.sol')).sort();
if (files.length === 0) throw new Error(`no .sol files in ${contractsDir}`);

const sources = {};
for (const f of files) sources[f] = { content: fs.readFileSync(path.join(contractsDir, f), 'utf8') };

const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'prague',
    metadata: { bytecodeHash: 'none' },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

function findImports(importPath) {
  const candidates = [
    path.join(here, 'node_modules', importPath),
    path.join(contractsDir, importPath),
    path.resolve(here, '..', '..', importPath), // the repo's own, e.g. confidential/ICocoConfidential.sol
  ];
  for (const c of candidates) {
    if (fs.existsSync(c)) return { contents: fs.readFileSync(c, 'utf8') };
  }
  return { error: `File not found: ${importPath}` };
}

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage || e.message);
if (errors.length > 0) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
for (const old of fs.readdirSync(outDir)) {
  if (old.endsWith('.json')) fs.rmSync(path.join(outDir, old));
}
let n = 0;
for (const file of files) {
  for (const [name, c] of Object.entries(output.contracts[file] || {})) {
    const artifact = {
      contractName: name,
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    n++;
  }
}
console.log(`solc ${solc.version()}: wrote ${n} artifacts to ${path.relative(process.cwd(), outDir)}`);
