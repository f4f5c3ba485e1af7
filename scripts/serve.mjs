// Serves the browser application (dist/web, built by `npm run build:web`) on localhost, port PORT
// (default 8080): `npm run web`, then open the printed address in a browser with WebGPU (Chrome,
// Edge; Safari 26+; Firefox 141+ on Windows).
import { fileURLToPath } from 'node:url';
import { serveFolder } from './chromium-webgpu.mjs';

const root = fileURLToPath(new URL('../dist/web/', import.meta.url));
const { url } = await serveFolder(root, { index: 'index.html', port: Number(process.env.PORT ?? 8080) });
console.log(`webfer browser app: ${url}`);
