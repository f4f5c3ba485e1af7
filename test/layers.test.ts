// The layer rules of the source tree: the core is browser-safe (no Node built-ins outside
// src/node/ and the CLI), and each layer imports only from the layers below it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, 'utf8') }));
const nodeOnly = (path: string) => path.startsWith('node/') || path.startsWith('cli');
const STATIC_IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm;

test('browser-safe modules import no Node built-ins statically', () => {
  const offenders: string[] = [];
  for (const { path, text } of files) {
    if (nodeOnly(path)) continue;
    for (const match of text.matchAll(STATIC_IMPORT)) {
      const specifier = match[1];
      if (specifier.startsWith('node:') || ['fs', 'path', 'os', 'child_process', 'webgpu'].includes(specifier)) offenders.push(`${path} imports ${specifier}`);
    }
  }
  assert.equal(offenders, []);
});

// Lower index = lower layer. A file may import from its own layer or lower ones.
const LAYERS = ['shaders.generated.ts', 'gpu', 'kernels', 'tensor', 'nn', 'optim', 'models', 'data', 'plots', 'train', 'bench', 'selfcheck.ts', 'index.ts', 'node', 'cli'];
function layerOf(path: string): number {
  const top = path.split('/')[0];
  const index = LAYERS.findIndex((layer) => top === layer || top.startsWith(layer));
  return index;
}

test('the layer map classifies the tree', () => {
  assert.ok(files.length > 40, `${files.length} source files found`);
  assert.ok(layerOf('gpu/runtime.ts') < layerOf('kernels/launch.ts'));
  assert.ok(layerOf('tensor/tensor.ts') < layerOf('nn/functional/conv.ts'));
  assert.ok(layerOf('nn/module.ts') < layerOf('optim/sgd.ts'));
  assert.ok(layerOf('index.ts') < layerOf('cli.ts'));
  assert.ok(files.every(({ path }) => layerOf(path) >= 0), 'every source file belongs to a layer');
});

test('each layer imports only from the layers below it', () => {
  const offenders: string[] = [];
  for (const { path, text } of files) {
    const own = layerOf(path);
    if (own < 0) continue;
    for (const match of text.matchAll(STATIC_IMPORT)) {
      const specifier = match[1];
      if (!specifier.startsWith('.')) continue;
      const target = normalize(join(dirname(path), specifier));
      const other = layerOf(target);
      // data is independent of the GPU layers: it must not import them.
      const dataImportsGpu = path.startsWith('data/') && ['gpu', 'kernels', 'tensor', 'nn', 'optim', 'models'].some((l) => target.startsWith(l));
      if (other > own || dataImportsGpu) offenders.push(`${path} -> ${target}`);
    }
  }
  assert.equal(offenders, []);
});

test.run();
