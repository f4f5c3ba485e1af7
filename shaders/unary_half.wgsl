// unary_half: unary.wgsl's Y[i] = f(x) (the same expressions, spliced in at EXPR) on float16
// tensors, two elements per invocation: X and Y are float16 pairs in u32 words (element 2w in the
// low half of word w, as cast.wgsl lays them out), read exactly (unpack2x16float), f computed in
// f32 and each result rounded once by halfBits (torch's rounding on every adapter): the bits of
// widening, the f32 kernel and a cast back. Pairs, because lavapipe scalarises 16-bit loads and
// stores: a 32-bit word per access is its fast path (bench/f16-native-ops.ts). An odd count's last
// word computes its padding half and stores 0 there.
// Bindings: 0 params (uniform), 1 X (read, u32 words), 2 Y (write, u32 words).
struct Params { count: u32, alpha: f32, beta: f32, seed: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> X: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<u32>;
override WG: u32 = 256;

//!include pow
//!include is_nan
//!include half_bits

fn apply(x: f32) -> f32 {
  return /*EXPR*/;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let word = gid.x + gid.y * nwg.x * WG;
  let first = 2u * word;
  if (first >= p.count) { return; }
  let x = unpack2x16float(X[word]);
  var high = 0u;
  if (first + 1u < p.count) { high = halfOf(apply(x.y)); }
  Y[word] = halfOf(apply(x.x)) | (high << 16u);
}
