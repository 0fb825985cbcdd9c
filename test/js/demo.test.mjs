// The supply-chain demo of confidential/examples (make demo) against the
// suite's node: every party (manufacturer, carrier, two retailers, an
// outsider, an anonymous client) sees exactly its own shipments; the demo
// exits non-zero otherwise.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useNode, test, REPO_ROOT } from './lib/node.mjs';

const ctx = useNode('demo');

test('the confidential supply-chain demo passes', async () => {
  const demo = path.join(REPO_ROOT, 'confidential', 'examples', 'demo.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [demo, ctx.node.httpUrl], { timeout: 120000 });
  assert.ok(stdout.includes('Every party saw exactly its own shipments.'), stdout);
  assert.ok(!stdout.includes('FAIL'), stdout);
});
