// Bundles the browser-safe core (src/index.ts) into one ES module: dist/webfer.browser.js.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(root, 'dist/webfer.browser.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  // Dawn and Node built-ins are only imported on the Node path of init().
  external: ['webgpu', 'node:*'],
  logLevel: 'warning',
});
