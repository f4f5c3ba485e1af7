// The browser page: runs src/train/paper-demo.ts — the same pipeline as `webfer demo` — on
// navigator.gpu, drawing the pictures and a live progress bar. `?auto=quick` starts by itself
// and sets window.webferDemo when done (the headless browser test reads it).
import { init, gpu, selfCheck } from '../src/index.js';
import { defaultPaperDemoOptions, formatPaperDemo, runPaperDemo, type PaperDemoResult } from '../src/train/paper-demo.js';
import { curveRuns } from '../src/train/demo/report.js';
import { trainingCurvesSpec, type VegaLiteSpec } from '../src/plots/specs.js';
import { renderSvg } from '../src/plots/render.js';
import type { ImageU8 } from '../src/data/image.js';
import type { Progress } from '../src/train/progress.js';

const $ = (id: string) => document.getElementById(id)!;
const status = $('status');
const logBox = $('log');
const gallery = $('gallery');
const bar = $('progress') as HTMLProgressElement;
const buttons = [$('quick'), $('full')] as HTMLButtonElement[];
const report: { done: boolean; error: string | null; result: unknown } = { done: false, error: null, result: null };
(window as unknown as { webferDemo: typeof report }).webferDemo = report;

function log(line: string): void {
  logBox.textContent += `${line}\n`;
  logBox.scrollTop = logBox.scrollHeight;
}

function show(name: string, node: HTMLElement): void {
  const figure = document.createElement('figure');
  const caption = document.createElement('figcaption');
  caption.textContent = name;
  figure.append(node, caption);
  const existing = gallery.querySelector(`[data-name="${name.replace(/\d+$/, '')}"]`);
  figure.dataset.name = name.replace(/\d+$/, '');
  if (existing) existing.replaceWith(figure);
  else gallery.append(figure);
}

function canvasOf(image: ImageU8): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const rgba = new ImageData(image.width, image.height);
  for (let i = 0; i < image.width * image.height; i++) {
    for (let c = 0; c < 3; c++) rgba.data[4 * i + c] = image.data[i * image.channels + (image.channels === 1 ? 0 : c)];
    rgba.data[4 * i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
  return canvas;
}

/** The chart as inline SVG: the same spec and renderer as the CLI's curves.svg. */
async function chartOf(spec: VegaLiteSpec): Promise<HTMLElement> {
  const div = document.createElement('div');
  div.className = 'chart';
  div.innerHTML = await renderSvg(spec);
  return div;
}

function progress(label: string, total: number): Progress {
  return {
    update: (done, figures = {}) => {
      bar.max = total;
      bar.value = done;
      status.textContent = `${label}: ${done}/${total}  ${Object.entries(figures).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toPrecision(4) : v}`).join('  ')}`;
    },
    log,
    stop: () => {},
  };
}

function table(result: PaperDemoResult): HTMLElement {
  const div = document.createElement('div');
  const pre = document.createElement('pre');
  pre.textContent = formatPaperDemo(result);
  div.append(pre);
  return div;
}

async function run(quick: boolean): Promise<void> {
  buttons.forEach((b) => (b.disabled = true));
  try {
    const checks = await selfCheck();
    const failed = checks.filter((c) => !c.ok);
    log(`self-check: ${checks.length - failed.length}/${checks.length} passed${failed.length ? ` — failed: ${failed.map((c) => c.name).join(', ')}` : ''}`);
    if (failed.length) throw new Error('the kernel self-check failed on this GPU');
    const options = defaultPaperDemoOptions(gpu().info.isSoftware, quick);
    const result = await runPaperDemo(options, {
      progress,
      log,
      image: (name, image) => show(name, canvasOf(image)),
      png: (name, png) => {
        const img = document.createElement('img');
        img.src = URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
        show(name, img);
      },
      fanetEpoch: (run, record) => log(`${run} epoch ${record.epoch}: loss ${record.trainLoss.toFixed(3)}, test ${record.evalAccuracy === undefined ? '-' : (100 * record.evalAccuracy).toFixed(1)} %`),
    });
    for (const run of curveRuns(result)) show(`${run.name} curves`, await chartOf(trainingCurvesSpec(run.history, run.name)));
    $('results').replaceChildren(table(result));
    status.textContent = `done in ${result.seconds.toFixed(0)} s`;
    report.result = {
      tasks: result.tasks.map((t) => ({ task: t.task, baseline: t.baseline.mean, augmented: t.augmented?.mean, counts: t.counts })),
      transfer: result.transfer?.map((t) => ({ set: t.set, scratch: t.scratch.mean, pretrained: t.pretrained.mean })),
      classes: result.classIds.length,
      // The fields scripts/browser-test.mjs checks: the first task's Fa-Net accuracy and the re-posed faces made.
      baseline: result.tasks[0]!.baseline.mean,
      counts: { synthetic: result.tasks.reduce((n, t) => n + (t.runs[0]?.synthetic ?? 0), 0) },
    };
  } catch (error) {
    report.error = String((error as Error).stack ?? error);
    status.textContent = `error: ${(error as Error).message}`;
    log(report.error);
  } finally {
    report.done = true;
    buttons.forEach((b) => (b.disabled = false));
  }
}

try {
  await init();
  const info = gpu().info;
  status.textContent = `WebGPU adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${info.isSoftware ? ' (software: small sizes)' : ''}`;
  buttons[0].onclick = () => run(true);
  buttons[1].onclick = () => run(false);
  if (new URLSearchParams(location.search).get('auto') === 'quick') await run(true);
} catch (error) {
  status.textContent = `WebGPU is not available here: ${(error as Error).message}`;
  report.error = String(error);
  report.done = true;
  buttons.forEach((b) => (b.disabled = true));
}
