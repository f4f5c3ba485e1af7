// SwiftShader's compile-time blow-up behind the hung Cout = 1 kernels, reproduced in headless Chromium
// (the browser test's flags: WebGPU on SwiftShader). A kernel whose loop holds several if / else blocks
// that each call a helper testing bounds with short-circuit `&&` (a branch apiece in SPIR-V) takes
// about ten times longer to compile per extra block; with `&` it compiles at once. Three runs:
//   kernels:  the pipeline of every Cout = 1 entry point, as the current shaders/ build them, timed;
//   library:  webfer's conv2d (1×8×20×20, 3×3, pad 1, Cout 1, bias) forward and backward under
//             convSingleChannel 'dedicated', against 'generic' (the packed kernels);
//   minimal:  the construct alone, 6 to 12 blocks, `&&` against `&` (no webfer code).
// Each case runs in a fresh browser, so a hung GPU process cannot stall the next.
//   node --import tsx scripts/repro-swiftshader-compile.mjs [kernels|library|minimal ...] [--timeout ms]
//   (default: all three, 30 s per case; CHROMIUM=path to override the browser)
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { shaderSources } from '../src/shaders.generated.ts';
import { NO_CHROMIUM, findChromium, launchChromium, serveFolder } from './chromium-webgpu.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({ allowPositionals: true, options: { timeout: { type: 'string', default: '30000' } } });
const runs = positionals.length ? positionals : ['kernels', 'library', 'minimal'];
const timeout = Number(values.timeout);
const chromium = findChromium();
if (!chromium) throw new Error(`repro: ${NO_CHROMIUM}`);
if (runs.includes('library') && !existsSync(join(root, 'dist/webfer.browser.js'))) throw new Error('repro: dist/webfer.browser.js is missing: run `npm run build` first');

const { server, url } = await serveFolder(root);

/** Runs fn(arg) in a blank page of a fresh browser; resolves with its result or a timeout message. */
async function inPage(fn, arg) {
  const browser = await launchChromium(chromium);
  try {
    const page = await browser.newPage();
    await page.goto(url);
    return await Promise.race([page.evaluate(fn, arg), new Promise((resolve) => setTimeout(() => resolve({ error: `no result after ${timeout} ms` }), timeout))]);
  } catch (error) {
    return { error: error.message.split('\n')[0] };
  } finally {
    // A hung GPU process can hold close() up: do not wait for it.
    await Promise.race([browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
}

/** In the page: createComputePipelineAsync's time for one entry point. */
async function compileTime({ code, entryPoint, constants }) {
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter.requestDevice({ requiredFeatures: adapter.features.has('subgroups') ? ['subgroups'] : [] });
  const module = device.createShaderModule({ code });
  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length) return { error: errors.map((m) => m.message).join(' | ') };
  const start = performance.now();
  await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint, constants } });
  return { ms: performance.now() - start, adapter: `${adapter.info.vendor} ${adapter.info.architecture}, subgroups ${adapter.info.subgroupMinSize}-${adapter.info.subgroupMaxSize}` };
}

const report = (name, result) => console.log(`  ${name}: ${result.error ?? `${result.ms.toFixed(0)} ms${result.detail ? `, ${result.detail}` : ''}`}`);

if (runs.includes('kernels')) {
  console.log('pipeline compile time of the Cout = 1 entry points (current shaders/):');
  const entryPoints = [
    ['conv2d_single', 'single', { WG: 64 }], ['conv2d_single_subgroup', 'singleSubgroup', { WG: 64 }], ['conv2d_single_subgroup', 'rowsSubgroup', { WG: 8 }],
    ['conv_transpose2d_single', 'single', { WG: 64 }], ['conv_transpose2d_single_subgroup', 'singleSubgroup', { WG: 64 }],
    ['conv2d_weight_grad_single', 'weightGradSingle', { WG: 64, WIDE: 1 }], ['conv2d_weight_grad_single_subgroup', 'weightGradSingleSubgroup', { WG: 64, WIDE: 1 }],
    ['conv2d_weight_grad_single_subgroup', 'weightGradSingleRowsSubgroup', { WG: 64, WIDE: 1, KERNEL_H: 7 }],
    ['conv2d_single_sliced', 'rowsSliced', { WG: 8, KERNEL_H: 4, KERNEL_W: 4 }], ['conv2d_single_sliced', 'rowsSliced', { WG: 8, KERNEL_H: 8, KERNEL_W: 8 }],
  ];
  for (const [file, entryPoint, constants] of entryPoints) {
    const result = await inPage(compileTime, { code: shaderSources[file], entryPoint, constants });
    report(`${file}.wgsl ${entryPoint} ${JSON.stringify(constants)}`, { ...result, detail: result.adapter });
  }
}

if (runs.includes('library')) {
  console.log("webfer conv2d 1×8×20×20, 3×3, pad 1, Cout 1, bias: forward and backward, 'dedicated' against 'generic':");
  const result = await inPage(async () => {
    const webfer = await import('/dist/webfer.browser.js');
    await webfer.init();
    const start = performance.now();
    const run = async (choice) => {
      webfer.gpu().policy.set({ convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convSingleChannel: choice });
      webfer.manualSeed(3);
      const x = webfer.randn([1, 8, 20, 20], { requiresGrad: true });
      const w = webfer.randn([1, 8, 3, 3], { requiresGrad: true });
      const b = webfer.randn([1], { requiresGrad: true });
      const y = webfer.F.conv2d(x, w, b, { padding: 1 });
      webfer.F.sum(webfer.F.mul(y, y)).backward();
      return Promise.all([y, x.grad, w.grad].map(async (t) => Array.from(await t.toArray())));
    };
    const dedicated = await run('dedicated');
    const ms = performance.now() - start;
    const generic = await run('generic');
    let diff = 0, scale = 0;
    dedicated.forEach((values, t) => values.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - generic[t][i])); scale = Math.max(scale, Math.abs(generic[t][i])); }));
    return { ms, detail: `largest difference from generic ${(diff / scale).toExponential(1)} of the largest value` };
  });
  report("'dedicated' forward + backward (compiles included)", result);
}

if (runs.includes('minimal')) {
  console.log('the construct alone: a loop of if / else blocks whose branches call a bounds-tested load:');
  for (const op of ['&&', '&']) {
    for (const blocks of [6, 8, 10, 12]) {
      const guard = op === '&&' ? 'inRow && i >= 0 && i < i32(n.x)' : 'inRow & (i >= 0) & (i < i32(n.x))';
      const block = '  tap++;\n  if (tap == n.z) { tap = 0u; s += at(0) + at(1) + at(2) + at(3) + at(4) + at(5) + at(6) + at(7); } else { s += at(i32(tap) + 7); }';
      const code = `@group(0) @binding(0) var<uniform> n: vec4<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
var<private> inRow: bool;
var<private> tap: u32;
fn at(i: i32) -> f32 { let inside = ${guard}; return select(0.0, X[u32(clamp(i, 0, i32(n.x) - 1))], inside); }
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  inRow = gid.x < n.y;
  var s = 0.0;
  for (var k = 0u; k < n.w; k++) {
${Array.from({ length: blocks }, () => block).join('\n')}
  }
  Y[gid.x] = s;
}`;
      report(`${blocks} blocks, ${op}`, await inPage(compileTime, { code, entryPoint: 'main', constants: {} }));
    }
  }
}
server.close();
process.exit(0);
