// accumulate: Y[i] = Y[i] + alpha * X[i], in place (gradient accumulation, optimizer updates).
// Bindings: 0 params, 1 X (read), 2 Y (read_write).
struct Params { count: u32, alpha: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  Y[i] = Y[i] + p.alpha * X[i];
}
