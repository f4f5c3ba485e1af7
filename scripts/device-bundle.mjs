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

// Dependency closure of what the tests, benchmarks and CLI import at run time, resolved the way
// Node does (a package's own node_modules first, then upwards), nested copies included.
const modules = join(root, 'node_modules');
const wanted = ['tsx', 'uvu', 'webgpu', 'pngjs', 'jpeg-js', 'utif2', 'yargs', 'cli-progress', '@esbuild/linux-x64'];
const found = new Set();
function resolveFrom(fromDir, name) {
  for (let dir = fromDir; dir.startsWith(modules); dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === modules) break;
  }
  const top = join(modules, name);
  return existsSync(join(top, 'package.json')) ? top : undefined;
}
const queue = wanted.map((name) => join(modules, name)).filter((dir) => existsSync(dir));
while (queue.length) {
  const dir = queue.shift();
  if (found.has(dir)) continue;
  found.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}).filter((d) => !/darwin|win32|arm|android|freebsd|openbsd|netbsd|sunos|aix|wasm/.test(d))];
  for (const dep of deps) {
    const resolved = resolveFrom(dir, dep);
    if (resolved) queue.push(resolved);
  }
}
const seen = new Set([...found].map((dir) => dir.slice(modules.length + 1)));
for (const name of seen) {
  cpSync(join(modules, name), join(staging, 'node_modules', name), {
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
