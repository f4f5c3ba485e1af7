// Serves the browser application (dist/web, built by `npm run build:web`) on localhost, port PORT
// (default 8080): `npm run web`, then open the printed address in a browser with WebGPU (Chrome,
// Edge; Safari 26+; Firefox 141+ on Windows).
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../dist/web/', import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const types = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };
createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path === '/' ? 'index.html' : path);
  if (!file.startsWith(root) || !existsSync(file)) return response.writeHead(404).end();
  response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  response.end(readFileSync(file));
}).listen(port, '127.0.0.1', () => console.log(`webfer browser app: http://127.0.0.1:${port}/`));
