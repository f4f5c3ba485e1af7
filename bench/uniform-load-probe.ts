// Whether lavapipe runs a storage load whose address is subgroup-uniform (built from workgroup_id, uniforms and a uniform loop
// counter) as one scalar load, against the lane-varying load it runs lane by lane: 8 loads an iteration into 8 sums.
//   node --import tsx bench/uniform-load-probe.ts [--rounds 5]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel } from '../src/kernels/launch.js';
import { shaderSources } from '../src/shaders.generated.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, wg: { type: 'string', default: '8' } } });
await init();
const WG = Number(values.wg);
const A = 256, INVOCATIONS = 64 * 1024;
const BODIES: Record<string, string> = {
  registers: 'let v = vec4<f32>(f32(k), f32(k + 1u), f32(k + 2u), f32(k + 3u)); let u = v.yzwx;',
  laneVarying: 'let b = (g * 8u + k * 64u) & 0xffff8u; let v = vec4<f32>(X[b], X[b + 1u], X[b + 2u], X[b + 3u]); let u = vec4<f32>(X[b + 4u], X[b + 5u], X[b + 6u], X[b + 7u]);',
  laneVaryingVec4: 'let b = (g * 2u + k * 16u) & 0x3fffeu; let v = X4[b]; let u = X4[b + 1u];',
  uniformScalar: 'let b = (wid * 8u + k * 64u) & 0xffff8u; let v = vec4<f32>(X[b], X[b + 1u], X[b + 2u], X[b + 3u]); let u = vec4<f32>(X[b + 4u], X[b + 5u], X[b + 6u], X[b + 7u]);',
  uniformVec4: 'let b = (wid * 2u + k * 16u) & 0x3fffeu; let v = X4[b]; let u = X4[b + 1u];',
  uniformParams: 'let b = (p.x * wid * 2u + k * 16u) & 0x3fffeu; let v = X4[b]; let u = X4[b + 1u];',
};
for (const [name, body] of Object.entries(BODIES)) {
  shaderSources[`uniform_${name}`] = `
struct P { x: u32, y: u32, z: u32, w: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> X4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = gid.x;
  let wid = wg.x;
  let f = f32(g);
  var a = vec4<f32>(f);
  var c = vec4<f32>(f + 1.0);
  for (var k = 0u; k < ${A}u; k++) { ${body} a += v * f; c += u * f; }
  Y[g] = a.x + a.y + a.z + a.w + c.x + c.y + c.z + c.w;
}`;
}
const x = randomBuffer(1 << 20, 3);
const y = gpu().pool.acquire(INVOCATIONS * 4);
const params = new Uint32Array([1, 0, 0, 0]);
async function cpuMs(name: string): Promise<number> {
  const k = kernel(`uniform_${name}`, { name: `uniform.${name}`, entryPoint: 'main' });
  await gpu().sync();
  const start = process.cpuUsage();
  gpu().dispatch(k, [x, x, y], new Uint8Array(params.buffer), [INVOCATIONS / WG, 1]);
  await gpu().sync();
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1000;
}
const names = Object.keys(BODIES);
const best = new Map<string, number>();
for (const n of names) await cpuMs(n);
for (let r = 0; r < Number(values.rounds); r++) for (const n of names) best.set(n, Math.min(best.get(n) ?? Infinity, await cpuMs(n)));
console.log(`best CPU ms of ${values.rounds} rounds, ${INVOCATIONS} invocations (workgroups of ${WG}) x ${A} iterations of 8 loads; load ${loadavg().map((v) => v.toFixed(1)).join(' / ')}`);
const base = best.get('registers')!;
for (const n of names) {
  const ms = best.get(n)!;
  console.log(`${n.padEnd(18)} ${ms.toFixed(1).padStart(8)} ms  ${(((ms - base) * 1e6) / (INVOCATIONS * A * 8)).toFixed(3)} ns per lane float over registers`);
}
