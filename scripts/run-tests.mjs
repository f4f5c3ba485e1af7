// Runs every uvu suite under test/ (TypeScript through tsx) and then the browser smoke test,
// and ends with the line CI reads: "N passed, N failed".
//   node scripts/run-tests.mjs [pattern]   only test files whose path matches pattern
//   WEBFER_SKIP_BROWSER=1                   skip the browser test (GPU servers without Chromium)
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pattern = process.argv[2] ?? '';
const env = { ...process.env, FORCE_COLOR: '0' };
if (!env.XDG_RUNTIME_DIR) {
  env.XDG_RUNTIME_DIR = join(tmpdir(), `webfer-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
}

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => { out += chunk; process.stdout.write(chunk); });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function counts({ code, out }) {
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  let failed = total - passed - skipped;
  if (code !== 0 && failed === 0) failed = 1; // a suite that crashed before reporting
  return { passed, failed };
}

// Type-check sources and tests together first (tsx strips types without checking them).
let typecheckPassed = 0, typecheckFailed = 0;
if (!pattern) {
  const typecheck = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json']);
  if (typecheck.code === 0) typecheckPassed = 1;
  else typecheckFailed = 1;
  console.log(`typecheck (tsc -p tsconfig.test.json): ${typecheck.code === 0 ? 'ok' : 'FAILED'}`);
}

const filePattern = pattern ? `.*${pattern}.*\\.test\\.ts$` : '\\.test\\.ts$';
const unit = counts(await run(process.execPath, ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', filePattern]));
let passed = unit.passed + typecheckPassed, failed = unit.failed + typecheckFailed;

if (!process.env.WEBFER_SKIP_BROWSER && (!pattern || 'browser'.includes(pattern))) {
  const browser = counts(await run(process.execPath, ['scripts/browser-test.mjs']));
  passed += browser.passed; failed += browser.failed;
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
