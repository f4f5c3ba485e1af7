// Where a page's held frames come from: trains once in the app (headless Chromium, the browser
// test's settings) while the page records every requestAnimationFrame and its long tasks, and the
// training worker's WebGPU calls are timed by wrapping GPUDevice / GPUQueue / GPUBuffer methods
// from outside (no change to the page). Prints the longest frame gap and, for every gap over
// 150 ms, the calls made inside it: blocking compiles (createComputePipeline), background ones
// (createComputePipelineAsync), submits, read-backs, and main-thread long tasks.
// Later runs (--runs N) reuse the pipelines: their times are the kernels' alone.
//   node scripts/trace-frames.mjs [site folder, default dist/web] [augment] [--runs N]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findChromium, launchChromium, serveFolder } from './chromium-webgpu.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 1;
const site = args[0] ?? join(root, 'dist/web');
const augment = args[1] === 'augment' ? 1 : 0;
const chromiumPath = findChromium();
if (!chromiumPath || !existsSync(join(site, 'worker.js'))) {
  console.log(`trace-frames: needs Chromium (set CHROMIUM=path) and a built site in ${site} (npm run build:web)`);
  process.exit(1);
}

const { server, url } = await serveFolder(site);
const browser = await launchChromium(chromiumPath, ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']);
try {
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  page.on('console', (message) => message.type() === 'error' && console.log(`page: ${message.text()}`));
  const settings = `epochs=1&subjects=2&expressions=3&inputSize=32&width=0.125&batchSize=16&seed=7&task=er-up&augment=${augment}`;
  await page.goto(`${url}index.html?${settings}`);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', null, { timeout: 90_000 });
  const worker = page.workers().find((w) => /\/worker\.js/.test(w.url()));
  // Times on both threads as performance.timeOrigin + now(), so they compare across threads.
  await worker.evaluate(() => {
    const now = () => performance.timeOrigin + performance.now();
    const calls = (self.webferTrace = []);
    const wrap = (prototype, method, kind) => {
      const original = prototype[method];
      prototype[method] = function (...args) {
        const entry = { kind, start: now(), label: kind === 'submit' ? undefined : args[0]?.label };
        calls.push(entry);
        const result = original.apply(this, args);
        if (result && typeof result.then === 'function') result.then(() => { entry.settled = now() - entry.start; }, () => {});
        return result;
      };
    };
    wrap(GPUDevice.prototype, 'createComputePipeline', 'compile');
    wrap(GPUDevice.prototype, 'createComputePipelineAsync', 'compileAsync');
    wrap(GPUQueue.prototype, 'submit', 'submit');
    wrap(GPUBuffer.prototype, 'mapAsync', 'map');
  });
  await page.evaluate(() => {
    const frames = (window.webferFrames = { stamps: [], longTasks: [], running: true });
    const tick = () => { frames.stamps.push(performance.timeOrigin + performance.now()); if (frames.running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => { for (const e of list.getEntries()) frames.longTasks.push([performance.timeOrigin + e.startTime, e.duration]); }).observe({ type: 'longtask' });
  });
  const start = await page.evaluate(() => performance.timeOrigin + performance.now());
  for (let run = 1; run <= runs; run++) {
    await page.click('#train-start');
    await page.waitForFunction((n) => window.webferApp.summaries.length >= n || document.body.dataset.training === 'failed', run, { timeout: 600_000, polling: 250 });
  }
  const { stamps, longTasks, summaries } = await page.evaluate(() => ({ ...window.webferFrames, summaries: window.webferApp.summaries }));
  const calls = await worker.evaluate(() => self.webferTrace);

  const at = (time) => `${((time - start) / 1000).toFixed(2)} s`;
  const gaps = stamps.slice(1).map((end, i) => ({ start: stamps[i], end, ms: end - stamps[i] }));
  const count = (kind) => calls.filter((c) => c.kind === kind).length;
  console.log(`training ${summaries.length ? `done in ${summaries.map((summary) => `${summary.seconds.toFixed(1)} s`).join(', then ')}` : 'failed'}; ${stamps.length} frames, longest gap ${Math.max(...gaps.map((g) => g.ms)).toFixed(0)} ms`);
  console.log(`WebGPU calls: ${count('compile')} blocking compiles, ${count('compileAsync')} background compiles, ${count('submit')} submits, ${count('map')} read-backs`);
  const background = calls.filter((c) => c.kind === 'compileAsync' && c.settled !== undefined).sort((a, b) => b.settled - a.settled);
  if (background.length) console.log(`slowest background compiles: ${background.slice(0, 5).map((c) => `${c.label} ${c.settled.toFixed(0)} ms`).join(', ')}`);
  for (const gap of gaps.filter((g) => g.ms > 150)) {
    // Calls from shortly before the gap count: the GPU process works on them after the worker made them.
    const inside = calls.filter((c) => c.start >= gap.start - 300 && c.start <= gap.end);
    const kinds = ['compile', 'compileAsync', 'submit', 'map'].map((kind) => [kind, inside.filter((c) => c.kind === kind).length]).filter(([, n]) => n > 0).map(([kind, n]) => `${n} ${kind}`).join(', ') || 'no WebGPU calls';
    const tasks = longTasks.filter(([taskStart, duration]) => taskStart < gap.end && taskStart + duration > gap.start).map(([, duration]) => `${duration.toFixed(0)} ms`);
    const compiled = inside.filter((c) => c.kind === 'compile').map((c) => c.label);
    console.log(`gap ${gap.ms.toFixed(0)} ms at ${at(gap.start)}: ${kinds}; main-thread long tasks: ${tasks.join(', ') || 'none'}${compiled.length ? `; compiled: ${compiled.join(' ')}` : ''}`);
  }
} finally {
  await browser.close();
  server.close();
}
