// What one lane-varying access costs on lavapipe, by kind: storage stores (f32, vec4), storage loads (lane-varying, at a
// subgroup-uniform address, at a constant one, lanes on consecutive floats), uniform-buffer loads, workgroup-memory loads
// (lane-varying and uniform) and private arrays indexed per lane. Each kernel does ACCESSES accesses per invocation of a 1-D
// grid; the CPU ms per million lane accesses is printed beside a register-only kernel with the same loop and arithmetic.
//   node --import tsx bench/lane-access-probe.ts [--rounds 5]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gpu, init } from '../src/gpu/index.js';
import { kernel } from '../src/kernels/launch.js';
import { shaderSources } from '../src/shaders.generated.js';
import { randomBuffer } from './random-buffer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, only: { type: 'string' } } });
await init();

const ACCESSES = 256;
const INVOCATIONS = 64 * 1024;
const HEADER = `
enable subgroups;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(8) var<storage, read> X2: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read> X4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> Y2: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> Z: array<f32>;
@group(0) @binding(6) var<storage, read_write> Z2: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> Z4: array<vec4<f32>>;
var<workgroup> tile: array<f32, 1024>;
var<private> own: array<f32, 64>;
const A = ${ACCESSES}u;
`;
// Each body runs inside  for (var k = 0u; k < A; k++) { ... }  with g the invocation, l the local index, s the running sum.
const BODIES: Record<string, { before?: string; body: string; after?: string; accesses?: number }> = {
  registers: { body: 's = s * 0.999 + f32(k ^ g);' },
  macs: { body: 'let v = f32(k ^ g); a0 = a0 * v + a1; a1 = a1 * v + a2; a2 = a2 * v + a3; a3 = a3 * v + a0; a4 = a4 * v + a5; a5 = a5 * v + a6; a6 = a6 * v + a7; a7 = a7 * v + a4;', after: 's = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;', accesses: 8 },
  fmas: { body: 'let v = f32(k ^ g); a0 = fma(a0, v, a1); a1 = fma(a1, v, a2); a2 = fma(a2, v, a3); a3 = fma(a3, v, a0); a4 = fma(a4, v, a5); a5 = fma(a5, v, a6); a6 = fma(a6, v, a7); a7 = fma(a7, v, a4);', after: 's = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;', accesses: 8 },
  loadStorage: { body: 's = s * 0.999 + X[(g * 7u + k * 64u) & 0xfffffu];' },
  loadVec2: { body: 'let v = X2[(g * 7u + k * 64u) & 0x7ffffu]; s = s * 0.999 + v.x + v.y;', accesses: 2 },
  loadVec4: { body: 'let v = X4[(g * 7u + k * 64u) & 0x3ffffu]; s = s * 0.999 + v.x + v.y + v.z + v.w;', accesses: 4 },
  loadStorageUniform: { body: 's = s * 0.999 + X[(wid * 7u + k * 64u) & 0xfffffu];' },
  // An address from the loop counter alone (the same for every invocation), lanes reading 8 consecutive floats, and vec4 loads
  // at consecutive / subgroup-uniform addresses: lavapipe loads lane by lane in each.
  loadConstantAddress: { body: 's = s * 0.999 + X[(k * 64u) & 0xfffffu];' },
  loadLaneConsecutive: { body: 's = s * 0.999 + X[(wid * 8u + k * 64u + l % 8u) & 0xfffffu];' },
  loadLaneConsecutiveVec4: { body: 'let v = X4[(wid * 8u + k * 64u + l % 8u) & 0x3ffffu]; s = s * 0.999 + v.x + v.y + v.z + v.w;', accesses: 4 },
  loadUniformVec4: { body: 'let v = X4[(wid * 8u + k * 64u) & 0x3ffffu]; s = s * 0.999 + v.x + v.y + v.z + v.w;', accesses: 4 },
  // The uniform buffer (the params slot, 16 vec4) at a subgroup-uniform index: one load for the subgroup where the component
  // is a constant; a component chosen at run time is picked lane by lane.
  loadUniformBufferConstantComponent: { body: 's = s * 0.999 + U[(wid * 7u + k * 5u) & 15u].x;' },
  loadUniformBufferComponent: { body: 's = s * 0.999 + U[(wid * 7u + k * 5u) & 15u][k & 3u];' },
  loadStorageBroadcast: { body: 's = s * 0.999 + X[subgroupBroadcastFirst((g * 7u + k * 64u) & 0xfffffu)];' },
  loadShared: {
    before: 'for (var t = 0u; t < 16u; t++) { tile[l * 16u + t] = X[(wid * 1024u + l * 16u + t) & 0xfffffu]; } workgroupBarrier();',
    body: 's = s * 0.999 + tile[(l * 7u + k * 5u) & 1023u];',
  },
  loadSharedUniform: {
    before: 'for (var t = 0u; t < 16u; t++) { tile[l * 16u + t] = X[(wid * 1024u + l * 16u + t) & 0xfffffu]; } workgroupBarrier();',
    body: 's = s * 0.999 + tile[(k * 5u) & 1023u];',
  },
  loadPrivateIndexed: {
    before: 'for (var t = 0u; t < 64u; t++) { own[t] = f32(t + g); }',
    body: 's = s * 0.999 + own[(g + k) & 63u];',
  },
  storeScalar: { body: 's = s * 0.999 + f32(k); Y[(g * A + k) & 0xfffffu] = s;' },
  storeScalarUniform: { body: 's = s * 0.999 + f32(k); Y[(wid * A + k) & 0xfffffu] = s;' },
  storeVec4: { body: 's = s * 0.999 + f32(k); Y4[(g * A + k) & 0x3ffffu] = vec4<f32>(s, s + 1.0, s + 2.0, s + 3.0);', accesses: 4 },
  storeVec2: { body: 's = s * 0.999 + f32(k); Y2[(g * A + k) & 0x7ffffu] = vec2<f32>(s, s + 1.0);', accesses: 2 },
  storeScalarFar: { body: 's = s * 0.999 + f32(k); Z[g * A + k] = s;' },
  storeScalarFarLanes: { body: 's = s * 0.999 + f32(k); Z[(g / 8u * A + k) * 8u + g % 8u] = s;' },
  storeVec2Far: { body: 's = s * 0.999 + f32(k); Z2[(g * A + k) / 2u] = vec2<f32>(s, s + 1.0);' },
  storeVec4Far: { body: 's = s * 0.999 + f32(k); Z4[(g * A + k) / 4u] = vec4<f32>(s, s + 1.0, s + 2.0, s + 3.0);' },
  storeShared: { body: 's = s * 0.999 + f32(k); tile[(l * 7u + k * 5u) & 1023u] = s;', after: 'workgroupBarrier(); s += tile[l];' },
};
for (const [name, b] of Object.entries(BODIES)) {
  shaderSources[`lane_${name}`] = `${HEADER}${name.startsWith('loadUniformBuffer') ? '\n@group(0) @binding(0) var<uniform> U: array<vec4<f32>, 16>;' : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) l: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let g = gid.x;
  let wid = wg.x;
  var s = 0.0;
  var a0 = 0.1; var a1 = 0.2; var a2 = 0.3; var a3 = 0.4; var a4 = 0.5; var a5 = 0.6; var a6 = 0.7; var a7 = 0.8;
  ${b.before ?? ''}
  for (var k = 0u; k < A; k++) { ${b.body} }
  ${b.after ?? ''}
  Y[g] = s;
}`;
}
const x = randomBuffer(1 << 20, 3);
const y = gpu().pool.acquire(4 << 20);
const y4 = gpu().pool.acquire(4 << 20);
const y2 = gpu().pool.acquire(4 << 20);
const z = gpu().pool.acquire(INVOCATIONS * ACCESSES * 4);
const z2 = gpu().pool.acquire(INVOCATIONS * ACCESSES * 4);
const z4 = gpu().pool.acquire(INVOCATIONS * ACCESSES * 4);
const only = values.only?.split(',');
const names = Object.keys(BODIES).filter((n) => !only || only.includes(n));
async function cpuMs(name: string): Promise<number> {
  const k = kernel(`lane_${name}`, { name: `lane.${name}`, entryPoint: 'main' });
  await gpu().sync();
  const start = process.cpuUsage();
  // U (binding 0) is the params slot: 256 bytes, bound only where a body reads it.
  gpu().dispatch(k, [x, y, y4, y2, z, z2, z4, x, x], name.startsWith('loadUniformBuffer') ? new Uint8Array(256) : undefined, [INVOCATIONS / 64, 1]);
  await gpu().sync();
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1000;
}
const best = new Map<string, number>();
for (const n of names) await cpuMs(n);
for (let r = 0; r < Number(values.rounds); r++) for (const n of names) best.set(n, Math.min(best.get(n) ?? Infinity, await cpuMs(n)));
console.log(`best CPU ms of ${values.rounds} rounds, ${INVOCATIONS} invocations × ${ACCESSES} accesses; load ${loadavg().map((v) => v.toFixed(1)).join(' / ')}`);
const base = best.get('registers');
for (const n of names) {
  const ms = best.get(n)!;
  const perMillion = base === undefined ? NaN : ((ms - base) / ((INVOCATIONS * ACCESSES * (BODIES[n]!.accesses ?? 1)) / 1e6));
  console.log(`${n.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${perMillion.toFixed(2).padStart(6)} ms per million lane accesses over registers`);
}
