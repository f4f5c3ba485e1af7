// Browser smoke test: serves the browser bundle on localhost, opens test/browser/page.html in
// headless Chromium (WebGPU on SwiftShader) and checks what the page computed. Prints uvu-style
// "Total / Passed / Skipped" lines for scripts/run-tests.mjs.
//   node scripts/browser-test.mjs            (builds the bundles if missing; CHROMIUM=path to override,
//                                              WEBFER_SCREENSHOT=file.png saves the demo page)
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = fileURLToPath(new URL('..', import.meta.url));
const summary = (total, passed) => console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0\n`);

const chromium = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!chromium) {
  console.log('browser test: no Chromium found (run `bash scripts/setup.sh --browser`, or set CHROMIUM=path)');
  summary(1, 0);
  process.exit(1);
}
if (!existsSync(join(root, 'dist/webfer.browser.js')) || !existsSync(join(root, 'dist/web/demo.js'))) execFileSync(process.execPath, [join(root, 'scripts/build-browser.mjs')], { stdio: 'inherit' });

const types = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json' };
const server = createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(root, path === '/' ? 'test/browser/page.html' : path);
  if (!file.startsWith(root) || !existsSync(file)) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  response.end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const { chromium: launcher } = await import('playwright-core');
let browser;
let failed = false;
let total = 0;
let passed = 0;
try {
  browser = await launcher.launch({
    executablePath: chromium,
    headless: true,
    args: [
      '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--no-sandbox',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
  });
  const page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log(`  page: ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => window.webferReport?.done, null, { timeout: 120_000 });
  const report = await page.evaluate(() => window.webferReport);
  console.log(`browser: WebGPU adapter ${JSON.stringify(report.adapter)}`);
  if (report.error) {
    console.log(`  ✘ page failed: ${report.error}`);
    total += 1;
  }
  for (const c of report.checks) {
    total++;
    if (c.ok) passed++;
    console.log(`  ${c.ok ? '✓' : '✘'} ${c.name} (max error ${c.maxError})${c.detail ? ` — ${c.detail}` : ''}`);
  }
  if (total === 0) total = 1;

  // The demo page runs the whole quick pipeline (synthesis, Fa-Net, FaPE-GAN, augmentation).
  const demo = await browser.newPage();
  demo.on('console', (m) => m.type() === 'error' && console.log(`  demo page: ${m.text()}`));
  await demo.goto(`${url}dist/web/index.html?auto=quick`);
  await demo.waitForFunction(() => window.webferDemo?.done, null, { timeout: 600_000, polling: 1000 });
  const outcome = await demo.evaluate(() => window.webferDemo);
  if (process.env.WEBFER_SCREENSHOT) await demo.screenshot({ path: process.env.WEBFER_SCREENSHOT, fullPage: true });
  total++;
  const demoOk = !outcome.error && outcome.result && outcome.result.counts.synthetic > 0 && outcome.result.baseline >= 0;
  if (demoOk) passed++;
  console.log(`  ${demoOk ? '✓' : '✘'} demo page, quick run: ${outcome.error ?? JSON.stringify(outcome.result)}`);
} catch (error) {
  console.log(`  ✘ browser test could not run: ${error.message}`);
  total = Math.max(total, 1);
  failed = true;
} finally {
  await browser?.close();
  server.close();
}
summary(total, passed);
process.exit(failed || passed !== total ? 1 : 0);
