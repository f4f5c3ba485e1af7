// pad_half: pad.wgsl (reflect / replicate padding and its adjoint, same layouts, index rules and
// params) on float16 tensors, two consecutive elements of the target per invocation: Source and
// Target are float16 pairs in u32 words (element 2w in the low half of word w, as cast.wgsl lays
// them out), read exactly (unpack2x16float), the adjoint's sums taken in f32 and each value rounded
// once by halfBits (torch's rounding on every adapter). Pairs, because lavapipe scalarises 16-bit
// loads and stores: a 32-bit word per access is its fast path (bench/f16-native-ops.ts).
// Bindings: 0 params, 1 source (read, u32 words), 2 target (write, u32 words).
struct Params { planes: u32, H: u32, W: u32, outH: u32, outW: u32, top: u32, left: u32, reflect: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> Source: array<u32>;
@group(0) @binding(2) var<storage, read_write> Target: array<u32>;
override WG: u32 = 256;

//!include pad_index
//!include half_bits

fn sourceAt(i: u32) -> f32 { return unpack2x16float(Source[i >> 1u])[i & 1u]; }

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  let first = 2u * word;
  let count = p.planes * p.outH * p.outW;
  if (first >= count) { return; }
  var high = 0u;
  if (first + 1u < count) { high = halfOf(paddedValue(first + 1u)); }
  Target[word] = halfOf(paddedValue(first)) | (high << 16u);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  let first = 2u * word;
  let count = p.planes * p.H * p.W;
  if (first >= count) { return; }
  var high = 0u;
  if (first + 1u < count) { high = halfOf(adjointValue(first + 1u)); }
  Target[word] = halfOf(adjointValue(first)) | (high << 16u);
}
