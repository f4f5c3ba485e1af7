// 2 x 2 max pooling with stride 2, no padding or dilation (LightCNN's pool, ceil or floor mode) on
// planes with W % 8 == 0, four windows side by side per invocation, every access a vec4: lavapipe
// runs each storage access per lane (~10 instructions), so four floats per access instead of one,
// and no per-value integer division. P = N·C planes of H x W → OH x OW, OW = W / 2 (a multiple of 4,
// so every output row and every input row starts on a vec4).
//   maxForwardQuads:  Y [P, OH, OW] = the window's maximum, Indices [P, OH, OW] = flat ih·W + iw
//                     (f32) of its FIRST maximum in row-major order, a NaN taking over: values and
//                     indices are pool.wgsl's maxForward's. The last window row of an odd H in ceil
//                     mode holds one input row. One invocation per 4 windows (oh, 4q .. 4q + 3).
//   maxBackwardQuads: GX [P, H, W] from G and Indices [P, OH, OW]: each window writes its own 2 x 2
//                     block (G at its index, 0 elsewhere); rows past OH (floor mode's dropped last
//                     row of an odd H) get zeros. One invocation per 4 tiles (2 rows x 8 columns).
//   Invariant: the windows tile the plane (kernel = stride, no padding), so each input position has
//   at most one window and this is pool.wgsl's maxBackward (a sum of that one window's term).
// Bindings (0: params): 1 In4 (read: X forward, G backward), 2 IndicesIn4 (read: backward's
//   indices, else a placeholder), 3 Out4 (write: Y or GX), 4 Indices4 (write: forward's indices,
//   else a scratch buffer). Arrays of vec4<f32>. 1-D grids (gid.x + gid.y · nwg.x · WG).
// Params: pool.wgsl's struct (planes, H, W, OH, OW; the rest unused here).
//!include pool_params
//!include operand
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> In4: array<vec4<Operand>>;
@group(0) @binding(2) var<storage, read> IndicesIn4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out4: array<vec4<Operand>>;
@group(0) @binding(4) var<storage, read_write> Indices4: array<vec4<f32>>;
override WG: u32 = 256;
//!include is_nan

//!include max_pool_winner

@compute @workgroup_size(WG)
fn maxForwardQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  let quadsPerRow = p.OW >> 2u;
  if (index >= p.planes * p.OH * quadsPerRow) { return; }
  let quad = index % quadsPerRow;
  let row = index / quadsPerRow;  // plane · OH + oh
  let oh = row % p.OH;
  let plane = row / p.OH;
  // Window row oh's first input row, within the plane and in vec4s of the whole tensor.
  let topInPlane = 2u * oh * p.W;
  let top4 = (plane * p.H * p.W + topInPlane) >> 2u;
  let rows = min(2u, p.H - 2u * oh);
  let a0 = vec4<f32>(In4[top4 + 2u * quad]);
  let a1 = vec4<f32>(In4[top4 + 2u * quad + 1u]);
  var b0 = a0;
  var b1 = a1;
  if (rows == 2u) {
    b0 = vec4<f32>(In4[top4 + (p.W >> 2u) + 2u * quad]);
    b1 = vec4<f32>(In4[top4 + (p.W >> 2u) + 2u * quad + 1u]);
  }
  let w0 = winnerOf(a0.xy, b0.xy, rows);
  let w1 = winnerOf(a0.zw, b0.zw, rows);
  let w2 = winnerOf(a1.xy, b1.xy, rows);
  let w3 = winnerOf(a1.zw, b1.zw, rows);
  let offsets = vec4<u32>(w0.offset, w1.offset, w2.offset, w3.offset);
  // Window j's top-left column is 8·quad + 2j; offset o is row o >> 1, column o & 1 of the window.
  let flat = vec4<u32>(topInPlane + 8u * quad) + vec4<u32>(0u, 2u, 4u, 6u) + (offsets >> vec4<u32>(1u)) * p.W + (offsets & vec4<u32>(1u));
  Out4[index] = vec4<Operand>(vec4<f32>(w0.value, w1.value, w2.value, w3.value));
  Indices4[index] = vec4<f32>(flat);
}

@compute @workgroup_size(WG)
fn maxBackwardQuads(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = gid.x + gid.y * nwg.x * WG;
  let quadsPerRow = p.OW >> 2u;
  let tilesH = (p.H + 1u) >> 1u;
  if (index >= p.planes * tilesH * quadsPerRow) { return; }
  let quad = index % quadsPerRow;
  let tileRow = index / quadsPerRow;  // plane · tilesH + th
  let th = tileRow % tilesH;
  let plane = tileRow / tilesH;
  let topInPlane = 2u * th * p.W;
  // Flat in-plane indices of the tile rows' 8 positions (exact in f32 below 2^24, as the indices).
  let column = f32(topInPlane + 8u * quad);
  let topLeft = vec4<f32>(column) + vec4<f32>(0.0, 1.0, 2.0, 3.0);
  let topRight = topLeft + vec4<f32>(4.0);
  var g = vec4<f32>(0.0);
  // An index no position has: tiles outside every window (th >= OH) get zeros.
  var winners = vec4<f32>(-1.0);
  if (th < p.OH) {
    let o = (plane * p.OH + th) * quadsPerRow + quad;
    g = vec4<f32>(In4[o]);
    winners = IndicesIn4[o];
  }
  let gLeft = g.xxyy;
  let gRight = g.zzww;
  let winLeft = winners.xxyy;
  let winRight = winners.zzww;
  let out4 = (plane * p.H * p.W + topInPlane) >> 2u;
  Out4[out4 + 2u * quad] = vec4<Operand>(select(vec4<f32>(0.0), gLeft, topLeft == winLeft));
  Out4[out4 + 2u * quad + 1u] = vec4<Operand>(select(vec4<f32>(0.0), gRight, topRight == winRight));
  if (2u * th + 1u < p.H) {
    let below = out4 + (p.W >> 2u) + 2u * quad;
    let W = f32(p.W);
    Out4[below] = vec4<Operand>(select(vec4<f32>(0.0), gLeft, topLeft + W == winLeft));
    Out4[below + 1u] = vec4<Operand>(select(vec4<f32>(0.0), gRight, topRight + W == winRight));
  }
}
