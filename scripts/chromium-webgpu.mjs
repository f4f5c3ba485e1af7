// Headless Chromium with WebGPU on SwiftShader, and the static file server its pages load from: what
// the browser test, `npm run web`, the frame trace, the SwiftShader compile repro and the browser
// benchmarks share.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** WebGPU in headless Chromium on a machine without a GPU: Vulkan through SwiftShader. */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--no-sandbox'];

/** $CHROMIUM, or the first of the usual install paths that exists; undefined when none does. */
export function findChromium() {
  return process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
}

export const NO_CHROMIUM = 'no Chromium found (run `bash scripts/setup.sh --browser`, or set CHROMIUM=path)';

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };

/**
 * Serves the files under `folder` on 127.0.0.1 (`port`, default any free one). '/' is `index` (a path
 * under folder) or, without one, a blank page to import modules into. Resolves once listening.
 */
export async function serveFolder(folder, { index, port = 0 } = {}) {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/' && !index) return void response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>webfer</title>');
    const file = join(folder, path === '/' ? index : path);
    if (!file.startsWith(folder) || !existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}/` };
}

/** Headless Chromium at `executablePath` with WEBGPU_ARGS and `extraArgs`. */
export async function launchChromium(executablePath, extraArgs = []) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, headless: true, args: [...WEBGPU_ARGS, ...extraArgs] });
}

/**
 * A blank page of headless Chromium served from the repository, to import '/dist/webfer.browser.js'
 * into (the browser benchmarks): refuses, naming `what`, without Chromium or the built bundle.
 * Page errors are printed. close() ends the browser and the server.
 */
export async function openLibraryPage(what) {
  const chromium = findChromium();
  if (!chromium) throw new Error(`${what}: ${NO_CHROMIUM}`);
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(join(root, 'dist/webfer.browser.js'))) throw new Error(`${what}: dist/webfer.browser.js is missing: run \`npm run build\` first`);
  const { server, url } = await serveFolder(root);
  const browser = await launchChromium(chromium);
  const page = await browser.newPage();
  page.on('console', (message) => message.type() === 'error' && console.log(`page: ${message.text()}`));
  await page.goto(url);
  return { page, close: async () => { await browser.close(); server.close(); } };
}
