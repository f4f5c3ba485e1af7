// Browser tests in headless Chromium (WebGPU on SwiftShader): the kernel checks of
// test/browser/page.html, then the application (dist/web) used as a visitor would — it loads
// without console errors, trains in its worker while requestAnimationFrame keeps ticking (with the
// kernel policy's default variants, compiling no pipeline blocking), Stop
// stops, the same seed gives the same numbers, the faces from its render workers equal (byte for
// byte, and in the numbers they train to) a page that renders in one thread, a gallery face gets
// five predictions, a checkpoint trained by `webfer train` gives the CLI's top-1 in the page, a
// page-trained checkpoint is read by `webfer eval`, the GAN panel draws, the benchmark table
// fills — and as a visitor misuses it: files that are no checkpoint are refused with the fix and
// the loaded model stays, Stop right after Train or while the run waits its turn stops it, refused
// settings in the address are named, a long file name does not widen a phone's page. Screenshots (1440 and 390 px wide) go to test-artifacts/browser/. Prints uvu-style
// "Total / Passed / Skipped" lines for scripts/run-tests.mjs.
//   node scripts/browser-test.mjs     (builds the bundles if missing; CHROMIUM=path to override)
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync, spawn } from 'node:child_process';
import { NO_CHROMIUM, findChromium, launchChromium, serveFolder } from './chromium-webgpu.mjs';
import { sampleOtherProgramsCpuShare } from './cpu-share.mjs';

const testStarted = Date.now();
/**
 * The longest frame gap a training run may cause, counted in the share of the CPUs this test's
 * processes had (cpu-share.mjs): on a quiet machine the whole gap; when other programs held 60 %
 * of the cores during a gap, 40 % of it, the time the same work would have held frames alone.
 */
const FRAME_GAP_LIMIT_MS = 250;
const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'test-artifacts/browser');
const summary = (total, passed) => console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0\n`);

const chromium = findChromium();
if (!chromium) {
  console.log(`browser test: ${NO_CHROMIUM}`);
  summary(1, 0);
  process.exit(1);
}
for (const built of ['dist/webfer.browser.js', 'dist/web/app.js', 'dist/web/worker.js', 'dist/web/render-worker.js']) {
  if (!existsSync(join(root, built))) {
    execFileSync(process.execPath, [join(root, 'scripts/build-browser.mjs')], { stdio: 'inherit' });
    break;
  }
}
mkdirSync(artifacts, { recursive: true });

const { server, url } = await serveFolder(root, { index: 'test/browser/page.html' });

/** Runs the built CLI; resolves with stdout, rejects with stderr's last lines. */
function cli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`webfer ${args[0]} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

/** Runs an ES module body with Node in the repository root; resolves with stdout. */
function nodeScript(body, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', body, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`node script exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

let total = 0;
let passed = 0;
function check(name, ok, detail = '') {
  total++;
  if (ok) passed++;
  console.log(`  ${ok ? '✓' : '✘'} ${name}${detail ? ` — ${detail}` : ''}`);
}

/** The machine's 1-minute load average, for the lines that time things. */
const loadAverage = () => loadavg()[0].toFixed(1);

/** The last console lines of every page (any type), printed under a failed check. */
const consoleTail = [];
function remember(label, message) {
  consoleTail.push(`${label} ${message.type()}: ${message.text().slice(0, 200)}`);
  if (consoleTail.length > 12) consoleTail.shift();
}

const loadAtStart = loadAverage();

/** The app page whose state a failed check prints (set once it exists). */
let appPage;

/** The page's state in one line: what the checks wait on (body and widget data-state, statuses, errors, the log's last lines). */
async function pageState(target) {
  if (!target || target.isClosed()) return 'page closed';
  return target.evaluate(() => {
    const parts = [`body ${JSON.stringify({ ...document.body.dataset })}`];
    const short = (text) => text.trim().replace(/\s+/g, ' ').slice(0, 160);
    for (const id of ['train-status', 'train-pause', 'loss-chart', 'predictions', 'checkpoint-status', 'gan-output', 'bench-table', 'camera-status', 'errors']) {
      const element = document.getElementById(id);
      if (!element || (id === 'errors' && element.hidden)) continue;
      const data = Object.entries(element.dataset).map(([key, value]) => `${key}=${value}`).join(' ');
      parts.push(`#${id}${data ? ` [${data}]` : ''}${id === 'loss-chart' ? '' : `: ${short(element.textContent)}`}`);
    }
    const log = document.getElementById('train-log')?.textContent.trim().split('\n').slice(-2).join(' / ');
    if (log) parts.push(`log: …${short(log)}`);
    if (window.webferApp) parts.push(`${window.webferApp.summaries.length} run summaries, app errors ${JSON.stringify(window.webferApp.errors.slice(-2))}`);
    if (window.webferReport) parts.push(`kernel report done ${window.webferReport.done}, ${window.webferReport.checks.length} checks`);
    return parts.join('; ');
  }).catch((error) => `unreadable (${error.message.split('\n')[0]})`);
}

/**
 * Waits until `predicate(arg)` holds in `target`. On timeout the error names `what` was awaited
 * and the page's state then, so a failure says which condition never came, not just "Timeout".
 */
async function waitFor(target, what, predicate, arg, { timeout, polling = 'raf' }) {
  try {
    await target.waitForFunction(predicate, arg, { timeout, polling });
  } catch (error) {
    throw new Error(`waited ${timeout / 1000} s (load ${loadAverage()}) for ${what}: ${error.message.split('\n')[0]}; page then: ${await pageState(target)}`);
  }
}

/** Waits until #id's data-state is one of `states`. */
function waitForDataState(target, id, states, timeout) {
  return waitFor(target, `#${id}[data-state] to be ${states.join(' or ')}`, ([id, states]) => states.includes(document.getElementById(id)?.dataset.state), [id, states], { timeout });
}

/** Runs one named check; a throw is a failure with its message. A failure also prints the app page's state and the last console lines. */
async function step(name, body) {
  const started = Date.now();
  let ok = false, detail;
  try {
    ({ ok, detail } = await body());
  } catch (error) {
    detail = error.message.split('\n')[0];
  }
  check(`${name} (${((Date.now() - started) / 1000).toFixed(1)} s, load ${loadAverage()})`, ok, detail);
  if (!ok) {
    console.log(`      app page now: ${await pageState(appPage)}`);
    for (const line of consoleTail) console.log(`      console: ${line}`);
  }
}

let browser;
let failed = false;
const scratch = mkdtempSync(join(tmpdir(), 'webfer-browser-'));
try {
  browser = await launchChromium(chromium, [
    // A synthetic camera (a moving test pattern) that is granted without a prompt.
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  ]);

  // A checkpoint trained by the CLI (compared near the end), made while the browser works on checks
  // that do not time frames: on two cores its lavapipe threads would hold the page's frames back.
  const nodeRun = join(scratch, 'node-run');
  let nodeTrained;
  const trainInNode = () => {
    nodeTrained = cli(['train', '--width', '0.125', '--input-size', '32', '--epochs', '1', '--synth-subjects', '2', '--synth-expressions', '3', '--out', nodeRun]);
    nodeTrained.catch(() => {});
  };

  const kernels = await browser.newPage();
  kernels.on('console', (m) => { remember('kernel page', m); if (m.type() === 'error') console.log(`  page: ${m.text()}`); });
  await kernels.goto(url);
  await waitFor(kernels, 'the kernel page\'s report (window.webferReport.done)', () => window.webferReport?.done, null, { timeout: 120_000 });
  const report = await kernels.evaluate(() => window.webferReport);
  console.log(`browser: WebGPU adapter ${JSON.stringify(report.adapter)}`);
  if (report.error) check('kernel page', false, report.error);
  for (const c of report.checks) check(`${c.name} (max error ${c.maxError})`, c.ok, c.detail);
  await kernels.close();

  // The application, with settings small enough for SwiftShader.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  appPage = page;
  page.on('console', (m) => { remember('app page', m); if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => consoleErrors.push(`request failed: ${request.url()}`));
  page.on('response', (response) => { if (response.status() >= 400) consoleErrors.push(`HTTP ${response.status()} ${response.url()}`); });
  const settings = 'epochs=1&subjects=2&expressions=3&inputSize=32&width=0.125&batchSize=16&seed=7&task=er-up&augment=0';
  const appUrl = `${url}dist/web/index.html?${settings}`;

  await step('app: loads, gets ready, shows the adapter and the gallery, no console errors', async () => {
    await page.goto(appUrl);
    await waitFor(page, 'the page to leave body[data-state=loading]', () => document.body.dataset.state !== 'loading', null, { timeout: 90_000 });
    const state = await page.evaluate(() => ({ state: document.body.dataset.state, adapter: document.getElementById('adapter').textContent, faces: document.querySelectorAll('#gallery button.face').length }));
    const expectedFaces = 2 * 4 * 3;
    return {
      ok: state.state === 'ready' && /WebGPU adapter/.test(state.adapter) && state.faces === expectedFaces && consoleErrors.length === 0,
      detail: `state ${state.state}, ${state.faces}/${expectedFaces} faces, ${state.adapter}${consoleErrors.length ? `; console: ${consoleErrors.join(' | ')}` : ''}`,
    };
  });

  /** Presses Train (on `target`) and waits for the run to end; returns the frame gaps seen meanwhile, the chart's points and the log's render rate. */
  async function trainOnce(timeout = 150_000, target = page) {
    // Sampling from before the first frame, so that every gap has samples on both sides.
    const cpuShare = sampleOtherProgramsCpuShare();
    await target.evaluate(() => {
      const monitor = { gaps: [], last: undefined, started: performance.now(), running: true, longTasks: [], slowFrames: [] };
      window.frameMonitor = monitor;
      const tick = (now) => {
        // Gaps from frame to frame: the wait for the first frame after installing this is none.
        const gap = monitor.last === undefined ? 0 : now - monitor.last;
        monitor.gaps.push(gap);
        // Where the long gaps fall (time into the run, what the run was doing): a failure names them.
        if (gap > 100) monitor.slowFrames.push({ gap, start: performance.timeOrigin + monitor.last, end: performance.timeOrigin + now, endsAt: (now - monitor.started) / 1000, status: document.getElementById('train-status').textContent.slice(0, 60) });
        monitor.last = now;
        if (monitor.running) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      // Main-thread tasks over 50 ms (Chromium's Long Tasks API): where a frame gap comes from.
      monitor.observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) monitor.longTasks.push({ duration: entry.duration, at: (entry.startTime - monitor.started) / 1000 });
      });
      monitor.observer.observe({ type: 'longtask' });
    });
    const runs = await target.evaluate(() => window.webferApp.summaries.length);
    await target.click('#train-start');
    try {
      await waitFor(target, 'the run\'s summary (webferApp.summaries to grow) or body[data-training=failed]', (n) => window.webferApp.summaries.length > n || document.body.dataset.training === 'failed', runs, { timeout, polling: 250 });
    } finally {
      cpuShare.stop();
    }
    const run = await target.evaluate(() => {
      window.frameMonitor.running = false;
      window.frameMonitor.observer.disconnect();
      const { gaps, longTasks, slowFrames } = window.frameMonitor;
      return {
        summary: window.webferApp.summaries.at(-1), errors: window.webferApp.errors,
        frames: gaps.length, maxGap: Math.max(...gaps), longTasks: longTasks.length, points: Number(document.getElementById('loss-chart').dataset.points),
        slowFrames, longTaskTimes: longTasks.map((task) => `${task.duration.toFixed(0)} ms at ${task.at.toFixed(1)} s`),
        svg: document.querySelectorAll('#loss-chart svg').length, status: document.getElementById('train-status').textContent,
        faces: (document.getElementById('train-log').textContent.match(/^faces: .*$/m) ?? ['no faces line in the log'])[0],
      };
    });
    // Each slow frame in the share of the CPUs the test's own processes had meanwhile.
    for (const frame of run.slowFrames) {
      frame.otherShare = cpuShare.otherShareDuring(frame.start, frame.end);
      frame.ownGap = frame.gap * (1 - (frame.otherShare ?? 0));
    }
    run.cpuShareMeasured = cpuShare.available;
    // Gaps under 100 ms are not listed, and are within the bound anyway.
    run.maxOwnGap = run.slowFrames.length ? Math.max(...run.slowFrames.map((frame) => frame.ownGap)) : run.maxGap;
    return run;
  }

  /** A run's frames in words: the longest gap, the gaps over 100 ms (when, during what) and the main thread's long tasks. */
  const describeSlowFrame = (frame) => `${frame.gap.toFixed(0)} ms ending at ${frame.endsAt.toFixed(1)} s (${frame.status})${frame.otherShare === undefined ? ', other programs\' share not sampled (counted whole)' : ` while other programs held ${(100 * frame.otherShare).toFixed(0)} % of the CPUs`}`;
  const describeFrames = (run) => {
    const worst = [...run.slowFrames].sort((x, y) => y.ownGap - x.ownGap).slice(0, 4);
    return `${run.frames} frames, longest gap ${run.maxGap.toFixed(0)} ms, ${run.maxOwnGap.toFixed(0)} ms in the test's own share of the CPUs`
      + `${run.cpuShareMeasured ? '' : ' (no /proc here: other programs\' load not measured)'}`
      + `${worst.length ? ` (gaps over 100 ms, the longest in that share first: ${worst.map(describeSlowFrame).join('; ')}${run.slowFrames.length > 4 ? ` and ${run.slowFrames.length - 4} more` : ''})` : ''}`
      + `, ${run.longTasks} long tasks${run.longTasks ? ` (${run.longTaskTimes.slice(0, 4).join(', ')})` : ''}`;
  };

  let first;
  await step('app: trains Fa-Net in the worker; requestAnimationFrame never waits over 250 ms (in the test\'s share of the CPUs); the loss chart gains points', async () => {
    first = await trainOnce();
    const ok = first.summary && !first.summary.stopped && first.maxOwnGap <= FRAME_GAP_LIMIT_MS && first.points > 0 && first.svg === 1 && first.summary.accuracy.fanet >= 0;
    return { ok, detail: `${describeFrames(first)}, ${first.points} chart points, ${first.status}${first.errors.length ? `; errors: ${first.errors.join(' | ')}` : ''}` };
  });
  await step('app: the worker keeps the kernel policy\'s defaults (packed convolutions on software adapters) and compiled no pipeline blocking while it trained', async () => {
    const { POLICY_DEFAULTS } = await import(pathToFileURL(join(root, 'dist/gpu/policy.js')).href);
    const adapter = await page.evaluate(() => ({ software: document.getElementById('adapter').dataset.software === 'true', kernels: JSON.parse(document.getElementById('adapter').dataset.kernels ?? '{}') }));
    // A hardware adapter's class is not in the page's summary: there only the compiles are checked.
    const expected = adapter.software ? POLICY_DEFAULTS.software : adapter.kernels;
    const defaults = Object.keys(expected).every((key) => adapter.kernels[key] === expected[key]);
    const pipelines = first?.summary?.pipelines;
    return {
      ok: defaults && pipelines?.blocking === 0 && pipelines.background > 0,
      detail: `kernels ${JSON.stringify(adapter.kernels)}${defaults ? '' : ` (expected ${JSON.stringify(expected)})`}; pipelines compiled while training: ${pipelines?.blocking} blocking, ${pipelines?.background} in the background`,
    };
  });
  await page.screenshot({ path: join(artifacts, 'app-1440-trained.png'), fullPage: true });
  trainInNode();

  await step('app: the same seed twice gives the same numbers (a fresh log each run)', async () => {
    const second = await trainOnce();
    const a = first?.summary?.losses ?? [], b = second.summary?.losses ?? [];
    const same = a.length > 0 && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const log = await page.evaluate(() => document.getElementById('train-log').textContent);
    const freshLog = (log.match(/webfer in a Web Worker/g) ?? []).length === 1;
    return { ok: same && freshLog, detail: `${a.length} numbers, ${same ? 'identical' : `first difference at ${a.findIndex((v, i) => !Object.is(v, b[i]))}: ${a.slice(0, 4)} vs ${b.slice(0, 4)}`}; log starts fresh: ${freshLog}` };
  });

  await step('app: faces from the render workers equal the training worker\'s own rendering byte for byte and train to the same numbers; a bad ?renderWorkers is refused', async () => {
    // A second page that renders in its training worker's thread (?renderWorkers=0), against the first page's pool.
    const single = await context.newPage();
    single.on('console', (m) => { remember('single-thread page', m); if (m.type() === 'error') consoleErrors.push(`single-thread page: ${m.text()}`); });
    single.on('pageerror', (error) => consoleErrors.push(`single-thread page error: ${error.message}`));
    try {
      await single.goto(`${appUrl}&renderWorkers=lots`);
      await waitFor(single, 'the page to leave body[data-state=loading]', () => document.body.dataset.state !== 'loading', null, { timeout: 30_000 });
      const refused = await single.evaluate(() => ({ state: document.body.dataset.state, text: document.getElementById('adapter').textContent, train: document.getElementById('train-start').disabled }));
      const refusedOk = refused.state === 'bad-address' && refused.train && /^\?renderWorkers=lots in the page address: expected an integer from 0 to 16/.test(refused.text);
      await single.goto(`${appUrl}&renderWorkers=0`);
      await waitFor(single, 'the page to leave body[data-state=loading]', () => document.body.dataset.state !== 'loading', null, { timeout: 90_000 });
      const galleryOf = (target) => target.evaluate(() => ({
        status: document.getElementById('gallery-status').textContent,
        faces: window.webferApp.gallery.map((face) => ({ key: face.key, image: btoa(String.fromCharCode(...face.image.pixels)), mask: btoa(String.fromCharCode(...face.mask.pixels)) })),
      }));
      const pooled = await galleryOf(page), own = await galleryOf(single);
      const differing = pooled.faces.filter((face, i) => own.faces[i]?.key !== face.key || own.faces[i].image !== face.image || own.faces[i].mask !== face.mask).map((face) => face.key);
      const sameFaces = pooled.faces.length > 0 && pooled.faces.length === own.faces.length && differing.length === 0;
      const run = await trainOnce(150_000, single);
      const a = first?.summary?.losses ?? [], b = run.summary?.losses ?? [];
      const sameNumbers = a.length > 0 && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      const where = /render worker/.test(pooled.status) && /own thread/.test(own.status) && /render worker/.test(first.faces) && /own thread/.test(run.faces);
      return {
        ok: sameFaces && sameNumbers && where && refusedOk,
        detail: `${refusedOk ? '' : `?renderWorkers=lots: ${refused.state}, ${refused.text}; `}${pooled.faces.length} gallery faces ${sameFaces ? 'identical' : `differ (${differing.slice(0, 3).join(', ')})`}; ${a.length} numbers ${sameNumbers ? 'identical' : `differ: ${a.slice(0, 3)} vs ${b.slice(0, 3)}`}; `
          + `pool: ${pooled.status} Training ${first.faces}; single thread: ${own.status} Training ${run.faces}`,
      };
    } finally {
      await single.close();
    }
  });

  await step('app: a gallery face gets five predictions from the page\'s model', async () => {
    await page.click('#gallery button.face >> nth=5');
    await page.click('#predict-face');
    await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
    const items = await page.$$eval('#predictions li', (list) => list.map((li) => ({ name: li.dataset.name, p: Number(li.dataset.probability) })));
    const sorted = items.every((item, i) => i === 0 || items[i - 1].p >= item.p);
    const text = await page.textContent('#predictions');
    return { ok: items.length === 5 && sorted && items.every((i) => i.p >= 0 && i.p <= 1), detail: items.length ? items.map((i) => `${i.name} ${(100 * i.p).toFixed(1)}%`).join(', ') : text };
  });

  await step('app: a camera frame (Chromium\'s fake camera) gets five predictions', async () => {
    await page.evaluate(() => { document.getElementById('predictions').dataset.state = 'waiting'; });
    await page.click('#camera-start');
    await waitFor(page, 'the camera to be live with a picture (body[data-camera=live], video width > 0) or unavailable', () => document.body.dataset.camera === 'unavailable' || (document.body.dataset.camera === 'live' && document.getElementById('camera-video').videoWidth > 0), null, { timeout: 20_000 });
    const camera = await page.evaluate(() => ({ state: document.body.dataset.camera, width: document.getElementById('camera-video').videoWidth, status: document.getElementById('camera-status').textContent }));
    if (camera.state !== 'live') return { ok: false, detail: `camera ${camera.state}: ${camera.status}` };
    await page.click('#camera-capture');
    await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
    const items = await page.$$eval('#predictions li', (list) => list.map((li) => Number(li.dataset.probability)));
    const input = await page.$eval('#predictions figure img', (img) => img.naturalWidth).catch(() => 0);
    await page.click('#camera-stop');
    const off = await page.evaluate(() => document.getElementById('camera-video').hidden && !document.getElementById('camera-start').disabled);
    return { ok: items.length === 5 && items.every((p) => p >= 0 && p <= 1) && input === 32 && off, detail: `${camera.width} px frame → ${input} px model input, ${items.length} predictions; camera off again: ${off}` };
  });

  await step('app: a page-trained checkpoint is read by `webfer eval` with the page\'s test accuracy', async () => {
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#checkpoint-save')]);
    const file = join(scratch, 'page-checkpoint.safetensors');
    await download.saveAs(file);
    const evaluation = JSON.parse(await cli(['eval', '--checkpoint', file, '--json']));
    const pageAccuracy = (await page.evaluate(() => window.webferApp.summaries.at(-1))).accuracy.fanet;
    return { ok: Math.abs(evaluation.accuracy - pageAccuracy) < 1e-9, detail: `webfer eval ${(100 * evaluation.accuracy).toFixed(2)} % on ${evaluation.count} images, page ${(100 * pageAccuracy).toFixed(2)} %` };
  });

  await step('app: the FaPE-GAN panel draws source | mask | generated | real, labelled', async () => {
    await page.selectOption('#gan-pose', 'HL');
    await page.click('#gallery button.face >> nth=2');
    await page.click('#gan-run');
    await waitForDataState(page, 'gan-output', ['done', 'failed'], 60_000);
    const figures = await page.$$eval('#gan-output figure', (list) => list.map((f) => ({ caption: f.textContent, width: f.querySelector('img').naturalWidth, alt: f.querySelector('img').alt })));
    return { ok: figures.length === 4 && figures.every((f) => f.width > 0 && f.alt), detail: figures.map((f) => `${f.caption} (${f.width} px)`).join(' | ') || await page.textContent('#gan-output') };
  });

  await step('app: the benchmark table fills (optimizer suite, quick shapes)', async () => {
    await page.click('#bench-start');
    await waitForDataState(page, 'bench-table', ['done', 'failed'], 90_000);
    const rows = await page.$$eval('#bench-table tbody tr', (list) => list.map((tr) => tr.textContent));
    return { ok: rows.length >= 3 && (await page.getAttribute('#bench-table', 'data-state')) === 'done', detail: `${rows.length} rows; ${rows[0] ?? await page.textContent('#bench-status')}` };
  });

  await step('app: with FaPE-GAN augmentation the run passes all four stages; the GAN panel then uses the page\'s generator', async () => {
    // The next frame-timed run starts once the CLI's training is over (a failed one is reported by its own check).
    await nodeTrained.catch(() => {});
    await page.check('#set-augment');
    const stages = [];
    await page.exposeFunction('recordStage', (stage) => { if (stages.at(-1) !== stage) stages.push(stage); }).catch(() => {});
    await page.evaluate(() => {
      const status = document.getElementById('train-status');
      new MutationObserver(() => status.dataset.stage && window.recordStage(status.dataset.stage)).observe(status, { attributes: true, childList: true, subtree: true, characterData: true });
    });
    const run = await trainOnce(240_000);
    await page.uncheck('#set-augment');
    await page.click('#gallery button.face >> nth=1');
    await page.click('#gan-run');
    await waitForDataState(page, 'gan-output', ['done', 'failed'], 60_000);
    const generator = await page.textContent('#gan-output p');
    const accuracy = run.summary?.accuracy ?? {};
    const ok = !run.summary?.stopped && stages.join(',') === 'synth,fanet,fapegan,fanet-augmented' && accuracy['fanet-augmented'] >= 0 && /this page's FaPE-GAN/.test(generator) && run.maxOwnGap <= FRAME_GAP_LIMIT_MS;
    return { ok, detail: `stages ${stages.join(' → ')}; ${run.status}; ${describeFrames(run)}; ${generator}` };
  });

  await step('app: Pause holds a long run still, Resume continues it, Stop ends it within seconds', async () => {
    await page.fill('#set-epochs', '50');
    const runs = await page.evaluate(() => window.webferApp.summaries.length);
    await page.click('#train-start');
    const points = () => page.evaluate(() => Number(document.getElementById('loss-chart').dataset.points));
    await waitFor(page, 'the live chart\'s first points (#loss-chart[data-points] > 0)', () => Number(document.getElementById('loss-chart').dataset.points) > 0 || document.body.dataset.training === 'failed', null, { timeout: 60_000, polling: 100 });
    await page.click('#train-pause');
    // The batches already loaded (up to the loader's prefetch) still run; then nothing moves.
    // Settled = no step and no redraw over 5 s: the status line changes with every step, while
    // the chart's count alone would not (it is redrawn at most every 1.5 s, later under load, so
    // a step's points could land after a quiet 5 s and look like a run that kept moving).
    const progress = () => page.evaluate(() => `${document.getElementById('train-status').textContent.replace(/^(paused · )+/, '')} | ${document.getElementById('loss-chart').dataset.points} chart points`);
    let settled = await progress();
    for (let waited = 0; waited < 30_000; waited += 5000) {
      await page.waitForTimeout(5000);
      const now = await progress();
      if (now === settled) break;
      settled = now;
    }
    const pausedAt = await points();
    await page.waitForTimeout(5000);
    const afterHold = await progress();
    const stillPaused = afterHold === settled && (await page.textContent('#train-pause')) === 'Resume';
    await page.click('#train-pause');
    await waitFor(page, `new chart points after Resume (#loss-chart[data-points] > ${pausedAt})`, (n) => Number(document.getElementById('loss-chart').dataset.points) > n, pausedAt, { timeout: 30_000, polling: 100 });
    const pressed = Date.now();
    await page.click('#train-stop');
    await waitFor(page, 'the stopped run\'s summary (webferApp.summaries to grow)', (n) => window.webferApp.summaries.length > n, runs, { timeout: 60_000, polling: 100 });
    const seconds = (Date.now() - pressed) / 1000;
    const result = await page.evaluate(() => ({ summary: window.webferApp.summaries.at(-1), start: document.getElementById('train-start').disabled, stop: document.getElementById('train-stop').disabled, state: document.body.dataset.training }));
    await page.fill('#set-epochs', '1');
    return {
      ok: stillPaused && result.summary.stopped && result.state === 'stopped' && !result.start && result.stop && seconds < 20,
      detail: `paused at ${pausedAt} chart points: ${stillPaused ? 'held' : `kept moving (${settled} → ${afterHold})`}; resumed; stopped ${seconds.toFixed(1)} s after the click, ${result.summary.losses.length} numbers read`,
    };
  });

  await step('app: a checkpoint trained by `webfer train` gives the CLI\'s top-1 in the page (`webfer predict --json`)', async () => {
    await nodeTrained;
    // Two synthetic faces written as PNG files by the Node library, read by both sides.
    const { renderSynthSample } = await import(pathToFileURL(join(root, 'dist/data/synth/generator.js')).href);
    const { encodePng } = await import(pathToFileURL(join(root, 'dist/data/codecs.js')).href);
    const images = [[0, 1, 'HL'], [1, 2, 'F']].map(([subject, expression, pose], k) => {
      const file = join(scratch, `face-${k}.png`);
      writeFileSync(file, encodePng(renderSynthSample({ subjects: 2, expressions: 3, size: 64, channels: 1, seed: 11 }, { subject, expression, clip: 0, frame: 0, pose }).image));
      return file;
    });
    const checkpoint = join(nodeRun, 'checkpoint.safetensors');
    const node = JSON.parse(await cli(['predict', ...images, '--checkpoint', checkpoint, '--json']));
    await page.setInputFiles('#checkpoint-input', checkpoint);
    await waitForDataState(page, 'checkpoint-status', ['loaded', 'failed'], 30_000);
    const loaded = await page.textContent('#checkpoint-status');
    const matches = [];
    for (const [k, file] of images.entries()) {
      await page.evaluate(() => { document.getElementById('predictions').dataset.state = 'waiting'; });
      await page.setInputFiles('#image-input', file);
      await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
      const top = await page.$$eval('#predictions li', (list) => list.map((li) => ({ name: li.dataset.name, probability: Number(li.dataset.probability) })));
      const expected = node[k].predictions[0];
      matches.push({ ok: top[0]?.name === expected.name && Math.abs(top[0].probability - expected.probability) < 1e-3, text: `${top[0]?.name} ${top[0]?.probability?.toFixed(4)} vs CLI ${expected.name} ${expected.probability.toFixed(4)}` });
    }
    return { ok: matches.length === 2 && matches.every((m) => m.ok), detail: `${loaded}; ${matches.map((m) => m.text).join('; ')}` };
  });

  await step('app: a PyTorch LightCNN .pth loads in the page and gives Node\'s probabilities for `webfer convert`\'s file', async () => {
    const fixture = join(root, 'test/reference/fixtures/pytorch/lightcnn9-tiny.pth');
    const converted = join(scratch, 'lightcnn9-tiny.safetensors');
    await cli(['convert', fixture, '--out', converted]);
    const { renderSynthSample } = await import(pathToFileURL(join(root, 'dist/data/synth/generator.js')).href);
    const { encodePng } = await import(pathToFileURL(join(root, 'dist/data/codecs.js')).href);
    const image = join(scratch, 'face-pth.png');
    writeFileSync(image, encodePng(renderSynthSample({ subjects: 1, expressions: 5, size: 64, channels: 1, seed: 5 }, { subject: 0, expression: 3, clip: 0, frame: 0, pose: 'F' }).image));
    // Node: the converted weights in the configuration convert recorded, through the evaluation transform.
    const node = JSON.parse(await nodeScript(`
      const [file, image] = process.argv.slice(1);
      const { init } = await import('./dist/index.js');
      const { loadSafetensors } = await import('./dist/node/checkpoint.js');
      const { createLightCNN } = await import('./dist/models/lightcnn.js');
      const { predictImages } = await import('./dist/train/predict.js');
      const { decodeImage } = await import('./dist/data/codecs.js');
      const { readFileSync } = await import('node:fs');
      await init();
      const content = loadSafetensors(file);
      const config = JSON.parse(content.metadata.model);
      const model = createLightCNN(config);
      model.loadStateDict(content.tensors);
      const names = Array.from({ length: config.classes }, (_, id) => String(id));
      const images = { format: 'files', source: 'test', classes: names, problems: [], samples: [{ path: image, label: 0 }], loadImage: async () => decodeImage(readFileSync(image), image, 1) };
      const { results } = await predictImages(model, images, { names, top: config.classes });
      console.log(JSON.stringify(results[0].predictions));
      process.exit(0);`, [converted, image]));
    await page.evaluate(() => { document.getElementById('checkpoint-status').dataset.state = 'waiting'; document.getElementById('predictions').dataset.state = 'waiting'; });
    await page.setInputFiles('#checkpoint-input', fixture);
    await waitForDataState(page, 'checkpoint-status', ['loaded', 'failed'], 30_000);
    const loaded = await page.textContent('#checkpoint-status');
    await page.setInputFiles('#image-input', image);
    await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
    const top = await page.$$eval('#predictions li', (list) => list.map((li) => ({ name: li.dataset.name, probability: Number(li.dataset.probability) })));
    // This model's logits are far apart (expected.json), so the probabilities span many decades:
    // compared as log-probabilities (logit differences), down to where float32 softmax underflows.
    const logDifference = (page, cli) => (cli < 1e-30 ? (page < 1e-30 ? 0 : Infinity) : Math.abs(Math.log(page) - Math.log(cli)));
    const worst = Math.max(...node.map((p, i) => (top[i]?.name === p.name ? logDifference(top[i].probability, p.probability) : Infinity)));
    const list = (predictions) => predictions.map((p) => `${p.name} ${p.probability.toPrecision(3)}`).join(', ');
    return { ok: top.length === 5 && worst < 1e-3, detail: `${loaded}; page ${list(top)}; Node ${list(node)}; largest log-probability difference ${worst.toExponential(1)}` };
  });

  /** Chooses `file` in #checkpoint-input and waits for the page's verdict. */
  async function loadCheckpointInPage(file) {
    await page.evaluate(() => { document.getElementById('checkpoint-status').dataset.state = 'waiting'; });
    await page.setInputFiles('#checkpoint-input', file);
    await waitForDataState(page, 'checkpoint-status', ['loaded', 'failed'], 30_000);
    return { state: await page.getAttribute('#checkpoint-status', 'data-state'), text: await page.textContent('#checkpoint-status') };
  }

  /** Predicts the selected gallery face; resolves with the predictions box's state, its top-5 and its text. */
  async function predictSelectedFace() {
    await page.evaluate(() => { document.getElementById('predictions').dataset.state = 'waiting'; });
    await page.click('#predict-face');
    await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
    return page.evaluate(() => ({ state: document.getElementById('predictions').dataset.state, items: document.querySelectorAll('#predictions li').length, text: document.getElementById('predictions').textContent }));
  }

  await step('app: the .safetensors state dict `webfer convert` writes loads in the page and predicts as its .pth does', async () => {
    const topOf = async (checkpoint) => {
      const verdict = await loadCheckpointInPage(checkpoint);
      await page.evaluate(() => { document.getElementById('predictions').dataset.state = 'waiting'; });
      await page.setInputFiles('#image-input', join(scratch, 'face-pth.png'));
      await waitForDataState(page, 'predictions', ['done', 'failed'], 30_000);
      return { ...verdict, top: await page.$$eval('#predictions li', (list) => list.map((li) => `${li.dataset.name} ${li.dataset.probability}`).join(', ')) };
    };
    const pth = await topOf(join(root, 'test/reference/fixtures/pytorch/lightcnn9-tiny.pth'));
    const converted = await topOf(join(scratch, 'lightcnn9-tiny.safetensors'));
    return {
      ok: converted.state === 'loaded' && /^loaded lightcnn9-tiny\.safetensors \(LightCNN state dict: lightcnn9 \(width 0\.0625/.test(converted.text) && pth.top !== '' && converted.top === pth.top,
      detail: `${converted.text}; top-5 ${converted.top || 'none'}${converted.top === pth.top ? ' (as the .pth)' : ` vs the .pth's ${pth.top}`}`,
    };
  });

  await step('app: a file that is not a LightCNN state dict is refused with the reason', async () => {
    await page.evaluate(() => { document.getElementById('checkpoint-status').dataset.state = 'waiting'; });
    await page.setInputFiles('#checkpoint-input', join(root, 'test/reference/fixtures/pytorch/dtypes.pth'));
    await waitForDataState(page, 'checkpoint-status', ['loaded', 'failed'], 30_000);
    const text = await page.textContent('#checkpoint-status');
    return { ok: (await page.getAttribute('#checkpoint-status', 'data-state')) === 'failed' && /dtypes\.pth is not a LightCNN state dict webfer can build: the keys match none/.test(text), detail: text };
  });

  await step('app: files that are not checkpoints (an image, text, an empty file, a 3 GiB file) are refused with what to choose instead, the 3 GiB file and the text as images too; the loaded model still predicts', async () => {
    const image = join(scratch, 'face-0.png'), text = join(scratch, 'notes.txt'), empty = join(scratch, 'empty.safetensors'), huge = join(scratch, 'huge.safetensors');
    writeFileSync(text, 'these are my notes, not weights\n');
    writeFileSync(empty, '');
    // Sparse: 3 GiB to the browser, no disk used.
    const handle = openSync(huge, 'w');
    ftruncateSync(handle, 3 * 2 ** 30);
    closeSync(handle);
    const expected = [
      [image, /^face-0\.png is a PNG image, not a checkpoint: to get its expression, choose it under Predict/],
      [text, /^notes\.txt: .*not safetensors\. Choose a \.safetensors checkpoint from `webfer train`/],
      [empty, /^empty\.safetensors: 0 bytes .*\. Choose a \.safetensors checkpoint/],
      [huge, /^huge\.safetensors is 3\.0 GiB, more than the 1 GiB this page reads/],
    ];
    const wrong = [];
    for (const [file, message] of expected) {
      const verdict = await loadCheckpointInPage(file);
      if (verdict.state !== 'failed' || !message.test(verdict.text)) wrong.push(`${verdict.state}: ${verdict.text}`);
    }
    // The 3 GiB file and the text as images to predict: refused in the page (not an uncaught read error, not the CLI's --skip-bad).
    for (const [file, message] of [[huge, /^failed: huge\.safetensors is 3\.0 GiB, more than the 1 GiB this page reads: choose a face photo/], [text, /^failed: notes\.txt is not a PNG, JPEG or TIFF image \(it starts with bytes 74 68 65 73\): choose a face photo in one of those formats$/]]) {
      await page.evaluate(() => { document.getElementById('predictions').dataset.state = 'waiting'; });
      await page.setInputFiles('#image-input', file);
      // A verdict that never comes is a failure that names the wait, not a later 'waiting' mismatch.
      const answered = await waitForDataState(page, 'predictions', ['done', 'failed'], 10_000).then(() => true, (error) => { wrong.push(`as an image, ${error.message}`); return false; });
      if (!answered) continue;
      const asImage = await page.evaluate(() => `${document.getElementById('predictions').dataset.state}: ${document.getElementById('predictions').textContent}`);
      if (!message.test(asImage)) wrong.push(`as an image, ${asImage}`);
    }
    const prediction = await predictSelectedFace();
    const stillLoaded = prediction.state === 'done' && prediction.items === 5 && /^by lightcnn9-tiny\.safetensors/.test(prediction.text);
    return { ok: wrong.length === 0 && stillLoaded, detail: `${wrong.length ? `not as expected: ${wrong.join(' | ')}; ` : `${expected.length} refused with the fix (and as images); `}then ${prediction.state}: ${prediction.text.slice(0, 80)}` };
  });

  await step('app: a checkpoint whose weights hold a NaN (a diverged run) is refused, as `webfer predict` refuses it', async () => {
    const bytes = readFileSync(join(nodeRun, 'checkpoint.safetensors'));
    // A NaN in the classifier's first weight (its place from the safetensors header).
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const [begin] = JSON.parse(bytes.subarray(8, 8 + headerLength).toString())['model.fc2.weight'].data_offsets;
    bytes.writeFloatLE(NaN, 8 + headerLength + begin);
    const diverged = join(scratch, 'diverged.safetensors');
    writeFileSync(diverged, bytes);
    const verdict = await loadCheckpointInPage(diverged);
    return { ok: verdict.state === 'failed' && /^diverged\.safetensors: tensor "model\.fc2\.weight" holds 1 NaN or infinite value\(s\) of \d+; these weights cannot be used/.test(verdict.text), detail: `${verdict.state}: ${verdict.text}` };
  });

  await step('app: Stop pressed (twice) right after Train, before the run reaches the worker, stops it', async () => {
    await page.evaluate(() => {
      document.getElementById('train-start').click();
      document.getElementById('train-stop').click();
      document.getElementById('train-stop').click();
    });
    // On the old page the run trained to its end here.
    await waitFor(page, 'the run to end (body[data-training] no longer running)', () => document.body.dataset.training !== 'running', null, { timeout: 20_000, polling: 100 });
    const after = await page.evaluate(() => ({ training: document.body.dataset.training, status: document.getElementById('train-status').textContent, start: !document.getElementById('train-start').disabled }));
    return { ok: after.training === 'stopped' && after.start, detail: `${after.training}: ${after.status}; Train enabled again: ${after.start}` };
  });

  await step('app: Train pressed while a prediction runs waits its turn; Pause then Stop while it waits stop it as stopped and release the Pause button; the model still predicts', async () => {
    const runs = await page.evaluate(() => window.webferApp.summaries.length);
    const pauseShown = await page.evaluate(async () => {
      document.getElementById('predictions').dataset.state = 'waiting';
      document.getElementById('predict-face').click();
      document.getElementById('train-start').click();
      // The run's request goes out after the page's own awaits; Pause and Stop come after it, while the prediction still has the GPU.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const pause = document.getElementById('train-pause');
      pause.click();
      for (let waited = 0; pause.textContent !== 'Resume' && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      const shown = pause.textContent;
      document.getElementById('train-stop').click();
      return shown;
    });
    await waitFor(page, 'the run to end (body[data-training] no longer running)', () => document.body.dataset.training !== 'running', null, { timeout: 30_000, polling: 100 });
    const after = await page.evaluate((n) => ({
      training: document.body.dataset.training, status: document.getElementById('train-status').textContent, summary: window.webferApp.summaries[n], errorShown: !document.getElementById('errors').hidden, error: document.getElementById('errors').textContent,
      pause: `${document.getElementById('train-pause').textContent} (aria-pressed ${document.getElementById('train-pause').getAttribute('aria-pressed')})`,
    }), runs);
    const prediction = await predictSelectedFace();
    return {
      ok: after.training === 'stopped' && after.summary?.stopped === true && !after.errorShown && pauseShown === 'Resume' && after.pause === 'Pause (aria-pressed false)' && prediction.state === 'done' && prediction.items === 5,
      detail: `${after.training}: ${after.status}${after.errorShown ? `; error shown: ${after.error}` : ''}; Pause while waiting showed ${pauseShown}, after Stop ${after.pause}; then a prediction: ${prediction.state}, ${prediction.items} classes`,
    };
  });

  await step('app: settings in the address that the page refuses (?subjects=abc, ?epochs=-3) are named in the page and the suggested values used; the page gets ready', async () => {
    const linked = await context.newPage();
    linked.on('console', (m) => { remember('bad-address page', m); if (m.type() === 'error') consoleErrors.push(`bad-address page: ${m.text()}`); });
    linked.on('pageerror', (error) => consoleErrors.push(`bad-address page error: ${error.message}`));
    try {
      await linked.goto(appUrl.replace('subjects=2', 'subjects=abc').replace('epochs=1', 'epochs=-3'));
      await waitFor(linked, 'the page to leave body[data-state=loading]', () => document.body.dataset.state !== 'loading', null, { timeout: 90_000 });
      const seen = await linked.evaluate(() => ({
        state: document.body.dataset.state, error: document.getElementById('errors').hidden ? '' : document.getElementById('errors').textContent,
        subjects: document.getElementById('set-subjects').value, epochs: document.getElementById('set-epochs').value, faces: document.querySelectorAll('#gallery button.face').length,
      }));
      const named = /^the page address asks for \?epochs=-3 \(epochs must be an integer from 1 to 200, got -3\), \?subjects=abc \(subjects must be an integer from 2 to 40, got nothing\): the suggested value is used instead/.test(seen.error);
      const suggested = seen.subjects !== '' && Number(seen.epochs) >= 1 && seen.faces === Number(seen.subjects) * 4 * 3;
      return { ok: seen.state === 'ready' && named && suggested, detail: `${seen.state}; subjects ${seen.subjects}, epochs ${seen.epochs}, ${seen.faces} faces; ${seen.error || 'no message'}` };
    } finally {
      await linked.close();
    }
  });

  await page.screenshot({ path: join(artifacts, 'app-1440.png'), fullPage: true });
  await step('app: the layout fits a 390 px wide phone (no horizontal scrolling)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    await page.screenshot({ path: join(artifacts, 'app-390.png'), fullPage: true });
    return { ok: widths.scroll <= widths.client + 1, detail: `document ${widths.scroll} px in a ${widths.client} px viewport` };
  });

  await step('app: at 390 px, the refusal of a checkpoint with a long file name wraps instead of widening the page', async () => {
    const longName = join(scratch, 'my_expression_model_from_the_lab_server_run_2026_12_04_final_v3_really_final.safetensors');
    copyFileSync(join(scratch, 'notes.txt'), longName);
    const verdict = await loadCheckpointInPage(longName);
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    await page.screenshot({ path: join(artifacts, 'app-390-refused-checkpoint.png'), fullPage: true });
    return { ok: verdict.state === 'failed' && widths.scroll <= widths.client + 1, detail: `${verdict.state}; document ${widths.scroll} px in a ${widths.client} px viewport` };
  });

  check('app: no console errors, failed requests or page errors all along', consoleErrors.length === 0, consoleErrors.slice(0, 3).join(' | '));
  await context.close();
} catch (error) {
  console.log(`  ✘ browser test could not run: ${error.message}`);
  console.log(`      app page then: ${await pageState(appPage)}`);
  for (const line of consoleTail) console.log(`      console: ${line}`);
  total = Math.max(total, 1);
  failed = true;
} finally {
  await browser?.close();
  server.close();
  rmSync(scratch, { recursive: true, force: true });
}
if (total === 0) total = 1;
console.log(`screenshots: ${artifacts}`);
console.log(`browser test: ${((Date.now() - testStarted) / 1000).toFixed(0)} s wall, load average ${loadAtStart} at the start, ${loadAverage()} at the end`);
summary(total, passed);
process.exit(failed || passed !== total ? 1 : 0);
