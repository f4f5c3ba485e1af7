// fill: Y[i] = value for i < count.  Bindings: 0 params, 1 Y (write; Operand,
// shaders/include/operand.wgsl: the f16 build writes float16).
struct Params { count: u32, value: f32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
//!include operand
@group(0) @binding(1) var<storage, read_write> Y: array<Operand>;
override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.count) { return; }
  Y[i] = Operand(p.value);
}
