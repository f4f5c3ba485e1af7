// Packs what a GPU server without Node or network needs into .carry/ (git-ignored): the node
// binary (xz), and the runtime + test dependency closure of node_modules (tar.xz, Linux x64
// Dawn only). bench/gpu.sh unpacks and runs them there.
//   node scripts/device-bundle.mjs
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const carry = join(root, '.carry');
const staging = join(carry, 'staging');
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(staging, 'node_modules'), { recursive: true });

// Dependency closure of what the tests, benchmarks and CLI import at run time.
const wanted = ['tsx', 'uvu', 'webgpu', 'pngjs', 'jpeg-js', 'utif2', 'yargs', 'cli-progress', '@esbuild/linux-x64'];
const seen = new Set();
const queue = [...wanted];
while (queue.length) {
  const name = queue.shift();
  if (seen.has(name)) continue;
  const dir = join(root, 'node_modules', name);
  if (!existsSync(dir)) continue; // optional dependency for another platform
  seen.add(name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}).filter((d) => d.includes('linux-x64')));
}
for (const name of seen) {
  cpSync(join(root, 'node_modules', name), join(staging, 'node_modules', name), {
    recursive: true,
    // Dawn ships one binary per platform: keep Linux x64 only.
    filter: (src) => !(name === 'webgpu' && /dist[\\/](darwin|win32|linux-arm64)/.test(src)),
  });
}
execFileSync('tar', ['-cJf', join(carry, 'node_modules.tar.xz'), '-C', staging, 'node_modules'], { env: { ...process.env, XZ_OPT: '-6 -T2' } });
rmSync(staging, { recursive: true, force: true });

const nodeXz = join(carry, 'node.xz');
if (!existsSync(nodeXz) || statSync(nodeXz).mtimeMs < statSync(process.execPath).mtimeMs) {
  const stripped = join(carry, 'node');
  cpSync(process.execPath, stripped);
  try {
    execFileSync('strip', [stripped]);
  } catch {
    // an unstripped binary is only larger
  }
  execFileSync('xz', ['-f', '-6', '-T2', stripped]);
}
for (const f of ['node.xz', 'node_modules.tar.xz']) console.log(`${f}: ${(statSync(join(carry, f)).size / 2 ** 20).toFixed(1)} MiB`);
console.log(`packages: ${[...seen].sort().join(', ')}`);
