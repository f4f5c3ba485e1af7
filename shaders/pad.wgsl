// pad: reflect / replicate padding of the last two dimensions, and its adjoint.
// Layout: X [planes, H, W] -> Y [planes, outH, outW], with `top` rows and `left` columns before.
// Source index of an output coordinate o along a dimension of size n (i = o - before):
//   reflect:   i < 0 -> -i,  i >= n -> 2(n - 1) - i      (PyTorch's reflect: edge not repeated)
//   replicate: clamp(i, 0, n - 1)
// forward:  one invocation per output element, gathers its source.
// backward: one invocation per input element, sums the outputs whose source it is — a gather,
//           so no atomics are needed. Reflect has at most 3 such outputs per dimension;
//           replicate has the interior one plus the whole pad run at an edge.
// Bindings: 0 params, 1 source (read), 2 target (write).
struct Params { planes: u32, H: u32, W: u32, outH: u32, outW: u32, top: u32, left: u32, reflect: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Source: array<f32>;
@group(0) @binding(2) var<storage, read_write> Target: array<f32>;
override WG: u32 = 256;

//!include pad_index

fn sourceAt(i: u32) -> f32 { return Source[i]; }

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.outH * p.outW) { return; }
  Target[index] = paddedValue(index);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  if (index >= p.planes * p.H * p.W) { return; }
  Target[index] = adjointValue(index);
}
