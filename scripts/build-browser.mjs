// Bundles the browser-safe core (src/index.ts) into one ES module, dist/webfer.browser.js, and
// the demo page into dist/web/ (index.html + demo.js).
import { build } from 'esbuild';
import { copyFileSync } from 'node:fs';
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
// The library as one ES module, and the demo page (web/) with the library bundled in.
await build({ ...common, entryPoints: [join(root, 'src/index.ts')], outfile: join(root, 'dist/webfer.browser.js') });
await build({ ...common, entryPoints: [join(root, 'web/demo.ts')], outfile: join(root, 'dist/web/demo.js') });
copyFileSync(join(root, 'web/index.html'), join(root, 'dist/web/index.html'));
