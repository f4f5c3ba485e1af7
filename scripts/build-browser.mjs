// Bundles the browser-safe core (src/index.ts) into one ES module, dist/webfer.browser.js, and
// the browser application into a static site in dist/web/: index.html, app.js (the page: DOM
// only), worker.js (the GPU work in a Web Worker, with the library bundled in), render-worker.js
// (the synthetic faces, rendered on workers the training worker starts), favicon.svg.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  // Dawn and Node built-ins are only imported on the Node path of init().
  external: ['webgpu', 'node:*'],
  logLevel: 'warning',
};
// dist/web is the static site alone: nothing left from older builds.
rmSync(join(root, 'dist/web'), { recursive: true, force: true });
await build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(root, 'dist/webfer.browser.js') });
await build({ ...common, entryPoints: [join(root, 'web/app/main.ts')], outfile: join(root, 'dist/web/app.js') });
await build({ ...common, entryPoints: [join(root, 'web/worker.ts')], outfile: join(root, 'dist/web/worker.js') });
await build({ ...common, entryPoints: [join(root, 'web/render-worker.ts')], outfile: join(root, 'dist/web/render-worker.js') });
mkdirSync(join(root, 'dist/web'), { recursive: true });
for (const file of ['index.html', 'favicon.svg']) copyFileSync(join(root, 'web', file), join(root, 'dist/web', file));
