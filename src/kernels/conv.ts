// Launchers for conv2d's three kernels: forward (implicit GEMM), the transposed convolution
// (conv2d's input gradient, convTranspose2d's forward) and the weight gradient (a GEMM over the
// output pixels, split-K). Sizes are always named from conv2d's point of view:
// x [N, Cin, H, W] --(weight [Cout, Cin, KH, KW])--> y [N, Cout, OH, OW].
// The 'packed' variant (software Vulkan) packs the weights once per launch (conv_pack_weights.wgsl)
// and runs the forward and the stride-1 input gradient through conv2d_vec4.wgsl / conv2d_packed.wgsl
// (conv2d_packed_subgroup.wgsl where subgroups are 8 wide),
// the input gradient at stride > 1 by phases (conv_transpose2d_phase*.wgsl), the weight gradient
// through conv2d_weight_grad_vec4.wgsl (else conv2d_weight_grad_packed_subgroup.wgsl where subgroups
// are 8 wide), each where its geometry allows; a conv with one output channel (Cout = 1) runs the
// dedicated conv2d_single*.wgsl, conv_transpose2d_single*.wgsl and conv2d_weight_grad_single*.wgsl
// under the policy's convSingleChannel (singleChannelKernels), and a stride-1 input gradient into 1-2 channels the Cout = 1
// forward's rowsWindow over gy (convThinUnitStrideInputGrad, thinWindowInputGradRuns; into one channel with kernel rows of up
// to 5 taps and rows of whole 16s, conv_transpose2d_quad_rows.wgsl under thinInputGradRows, quadRowsRun); a 1×1, stride-1, unpadded conv runs its
// forward, input gradient and weight gradient as batched GEMMs through the matmul launcher under the
// policy's convPointwise 'gemm' (pointwiseGemm), its mfm forward as one GEMM with the max-feature-map
// epilogue (matmulMfm) where the subgroup matmul kernel runs it; under pointwiseForwardLayout (pixelRowsForward) both
// forwards there as xᵀ·Wᵀ stored transposed (matmulColumnsOut; matmulMfm's pairs 'columns').
// A batch whose tensors exceed one storage binding (gpu().maxBindingBytes) runs as several
// launches over runs of whole images (batchChunks); the weight gradient adds their results.
// f16 operands (operands 'f16': the conv's two inputs are f16 buffers) run the same
// kernels as f32, each built for f16 (`.f16` names; f32 accumulation): x / gy read as f16 and
// converted on load, the weights packed from f16 into the same f32 packings the f32 kernels read.
// The forward's and the input gradient's output is f32 or f16 (`output`): f16 stored by the kernels
// themselves where the policy's halfStores is 'epilogue' (`.toHalf` builds, shaders/include/stored.wgsl),
// else (and by rowsSliced) an f32 output rounded by a cast pass (cast.ts resultAs).
// Only the autotuner is not asked for them (it times f32 kernels on f32 scratch).
import { assertShaderF16, gpu, type Binding, type Kernel, type TuningRun } from '../gpu/index.js';
import type { KernelChoices } from '../gpu/policy.js';
import { Params, alloc, batchChunks, bytesPerElement, epilogueStores, grid1d, images, kernel, registerTileShape, subgroupsOfEight, workgroupTileGrid, type OperandType, type WindowGeometry } from './launch.js';
import { resultAs } from './cast.js';
import { accumulate, stridedCopy } from './elementwise.js';
import { matmul, matmulColumnsOut, matmulMfm, subgroupMatmulRuns, type MatrixOperand } from './matmul.js';
import { reduceAxis } from './reduce.js';
// Where the subgroup kernels run; imported from here by the tests and benchmarks.
export { subgroupsOfEight } from './launch.js';

export interface ConvGeometry extends WindowGeometry {
  N: number;
  Cin: number;
  Cout: number;
}

/** The variants all three kernels have, chosen per kernel by gpu().policy: 'convForward', 'convInputGrad', 'convWeightGrad'. */
export type ConvVariant = KernelChoices['convWeightGrad'];

/** What the autotuner times for each conv kernel ('direct' is the test oracle, never the fastest). */
const TUNED_VARIANTS: readonly ConvVariant[] = ['registerTiled', 'workgroupTiled', 'packed'];

/** The generic kernels (conv2d.wgsl, conv_transpose2d.wgsl, conv2d_weight_grad.wgsl). */
type GenericConvVariant = Exclude<ConvVariant, 'packed'>;

/**
 * The variant f16 operands run for a pass: the policy's choice, as f32 (every kernel has an f16
 * build). The autotuner is not asked: it would time the f32 kernels on f32 scratch.
 */
function f16Variant(key: 'convForward' | 'convInputGrad' | 'convWeightGrad', what: string): ConvVariant {
  assertShaderF16(what);
  return gpu().policy.get(key);
}

/** An autotuner shape class: the pass and every size the kernels' choice can depend on. */
function shapeClass(pass: string, g: ConvGeometry, hasBias: boolean): string {
  return `conv ${pass} N${g.N} ${g.Cin}x${g.H}x${g.W}->${g.Cout}x${g.OH}x${g.OW} k${g.KH}x${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}${hasBias ? ' bias' : ''}`;
}

/**
 * The autotuner's run of one pass on scratch inputs of the given element counts (the caller's
 * buffers may be reused by the time it runs): `launch` records the pass and returns its outputs.
 */
function scratchRun(elements: () => number[], launch: (inputs: GPUBuffer[]) => GPUBuffer[]): () => TuningRun {
  return () => {
    const inputs = elements().map((count) => alloc(count));
    return {
      run: () => launch(inputs).forEach((output) => gpu().pool.release(output)),
      dispose: () => inputs.forEach((input) => gpu().pool.release(input)),
    };
  };
}

/** The fused max-feature-map epilogue of conv2d's forward (Params.mfm in shaders/include/conv_geometry.wgsl). */
const MFM_MODE = { off: 0, withMask: 1, withoutMask: 2 } as const;

function params(g: ConvGeometry, hasBias: boolean, kChunk = 0, mfm = 0, packedWidth = 0): Uint8Array {
  return new Params()
    .u32(g.N, g.Cin, g.H, g.W, g.Cout, g.OH, g.OW, hasBias ? 1 : 0, g.KH, g.KW, g.SH, g.SW)
    .i32(g.PH, g.PW)
    .u32(g.DH, g.DW, kChunk, mfm, packedWidth, 0)
    .done();
}

/**
 * GEMM rows per invocation of the packed kernels (their ROWS override): 8, half the weight loads
 * per pixel load of 4 (side by side on LightCNN-9's layers the two were within the machine's noise,
 * 0.6-1.6× either way), and 4 when there are at most 4 rows (conv1's input gradient has 1).
 */
const packedRowsFor = (rows: number) => (rows <= 4 ? 4 : 8);

/**
 * GEMM rows per invocation of the subgroup kernels (conv2d_packed_subgroup.wgsl, conv_transpose2d_phase_subgroup.wgsl: their
 * ROWS): the policy's convSubgroupRows (16 or 32) where there are more than 16 rows, else 16.
 */
const subgroupRowsFor = (rows: number) => (rows > 16 ? gpu().policy.get('convSubgroupRows') : 16);

/** shaders/conv_pack_weights.wgsl's row orders (PackParams.order): forward rows in filter order, in mfm pair order, or the stride-1 input gradient's. */
const PACK_ORDER = { forward: 0, forwardMfm: 1, transposed: 2 } as const;

/**
 * Which kernels read a packing: 'tiled' the vec4 / packedTiled / phaseTiled kernels; 'broadcast'
 * conv2d_subgroup.wgsl's, whose lanes share weight loads by subgroupBroadcast; 'shuffle' the 16-row
 * kernels whose lanes trade weight quads by subgroupShuffle (conv2d_packed_subgroup.wgsl,
 * conv_transpose2d_phase_subgroup.wgsl); 'window' conv2d_window_subgroup.wgsl (32 rows, a quad per lane).
 */
type PackedReader = 'tiled' | 'broadcast' | 'shuffle' | 'window';

interface PackedWeights {
  buffer: GPUBuffer;
  /** vec4s per reduction index k (Params.packedWidth): whole blocks of rowsPerInvocation / 4. */
  width: number;
  rowsPerInvocation: number;
  reader: PackedReader;
}

/** The reader of a packed forward (or stride-1 input gradient) over geometry g. */
function packedReaderFor(g: ConvGeometry): PackedReader {
  if (!subgroupKernels()) return 'tiled';
  const { entryPoint } = packedEntryPoint(g);
  if (entryPoint === 'fiveWidePair' && windowGeometry(g) && gpu().policy.get('convFiveWideForward') === 'window') return 'window';
  if (entryPoint === 'fiveWidePair' || entryPoint === 'pointwise' || entryPoint === 'threeWidePair') return 'broadcast';
  if (entryPoint === 'packedTiled' && windowGeometry(g) && gpu().policy.get('convThinForward') === 'window') return 'window';
  // conv2d_packed_subgroup.wgsl where packedTiled would run, with more than 8 rows and at least 2
  // input channels (it pairs them).
  return entryPoint === 'packedTiled' && g.Cout > 8 && g.Cin >= 2 ? 'shuffle' : 'tiled';
}

/**
 * The weights as [K][width] vec4 of 4 GEMM rows each (one launch; the caller releases the buffer),
 * for the packed kernels running `runs`: g itself, or for the transposed order its forward-of-gradient
 * geometry.
 */
function packWeights(weight: GPUBuffer, g: ConvGeometry, order: keyof typeof PACK_ORDER, runs: ConvGeometry, operands: OperandType): PackedWeights {
  const KHW = g.KH * g.KW;
  const rows = order === 'transposed' ? g.Cin : g.Cout;
  const K = (order === 'transposed' ? g.Cout : g.Cin) * KHW;
  const reader = packedReaderFor(runs);
  const rowsPerInvocation = reader === 'window' ? WINDOW_ROWS : reader === 'shuffle' ? subgroupRowsFor(rows) : packedRowsFor(rows);
  const width = Math.ceil(rows / rowsPerInvocation) * (rowsPerInvocation / 4);
  const buffer = alloc(K * width * 4);
  const packParams = new Params().u32(rows, K, width, PACK_ORDER[order], g.Cout, g.Cin, KHW, 0);
  // f16 weights are packed into f32 (exact): the conv kernels read one packing type.
  gpu().dispatch(kernel('conv_pack_weights', { name: 'conv_pack_weights', entryPoint: 'pack', operands }), [weight, buffer], packParams.done(), grid1d(K * width));
  return { buffer, width, rowsPerInvocation, reader };
}

type Vec4Geometry = 'pointwise' | 'threeWide' | 'fiveWide';

/**
 * The vec4 kernels' geometries (conv2d_vec4.wgsl, conv2d_weight_grad_vec4.wgsl), where 4 neighbouring
 * outputs read 4 neighbouring inputs: 'pointwise' a 1×1 stride-1 unpadded conv over planes of whole
 * vec4s, 'threeWide' a 3-wide row with padding 1 at stride 1 in rows of whole vec4s, 'fiveWide' the
 * same for a 5-wide row with padding 2 (when the policy's convFiveWide takes it).
 */
function vec4EntryPoint(g: ConvGeometry): Vec4Geometry | undefined {
  if (isPointwise(g) && (g.H * g.W) % 4 === 0) return 'pointwise';
  const rowOfVec4s = g.SW === 1 && g.DW === 1 && g.OW === g.W && g.W % 4 === 0;
  if (rowOfVec4s && g.KW === 3 && g.PW === 1) return 'threeWide';
  if (rowOfVec4s && g.KW === 5 && g.PW === 2 && gpu().policy.get('convFiveWide') !== 'generic') return 'fiveWide';
  return undefined;
}

/**
 * The packed forward kernel for a geometry: conv2d_vec4.wgsl's where it applies (threeWidePair and
 * fiveWidePair, 4 rows x 2 quads, where image rows hold whole pairs of quads), else
 * conv2d_packed.wgsl's (any geometry).
 */
function packedEntryPoint(g: ConvGeometry): { file: string; entryPoint: string; pixelsPerInvocation: number; fourRows: boolean } {
  const vec4 = vec4EntryPoint(g);
  if ((vec4 === 'threeWide' || vec4 === 'fiveWide') && g.W % 8 === 0) return { file: 'conv2d_vec4', entryPoint: `${vec4}Pair`, pixelsPerInvocation: 8, fourRows: true };
  if (vec4 === 'pointwise' || vec4 === 'threeWide') return { file: 'conv2d_vec4', entryPoint: vec4, pixelsPerInvocation: 4, fourRows: false };
  return { file: 'conv2d_packed', entryPoint: 'packedTiled', pixelsPerInvocation: 4, fourRows: false };
}

/**
 * The packed kernels' workgroup: 256 invocations, WGY the largest power of 2 up to 16 that divides
 * the row blocks, so no workgroup row computes rows past the last (registerTileShape's 16 would
 * waste a quarter of group1's 48-channel input gradient), WGX narrowed for tiny outputs.
 */
function packedTileShape(rowBlocks: number, pixelBlocks: number): { constants: { WGX: number; WGY: number }; workgroups: [number, number] } {
  let wgy = 1;
  while (wgy < 16 && rowBlocks % (2 * wgy) === 0) wgy *= 2;
  let wgx = 256 / wgy;
  while (wgx > 1 && wgx / 2 >= pixelBlocks) wgx /= 2;
  return { constants: { WGX: wgx, WGY: wgy }, workgroups: [Math.ceil(pixelBlocks / wgx), Math.ceil(rowBlocks / wgy)] };
}

/** Kernel names say the pass first (profiles and `bench --step` group them by it): the input gradient runs the forward's kernels. */
type PackedPass = 'forward' | 'inputGrad';

/** The forward conv over packed weights: the kernel its reader and packedEntryPoint name. */
function launchPackedChunk(pass: PackedPass, x: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  if (packed.reader === 'broadcast') return launchSubgroupChunk(pass, x, packed, bias, g, y, mask, mfm, operands, stores);
  if (packed.reader === 'shuffle') return launchPackedSubgroupChunk(pass, x, packed, bias, g, y, mask, mfm, operands, stores);
  if (packed.reader === 'window') return launchWindowSubgroupChunk(pass, x, packed, bias, g, y, mask, mfm, operands, stores);
  const { file, entryPoint, pixelsPerInvocation, fourRows } = packedEntryPoint(g);
  // threeWidePair reads a packing made for 8 rows as blocks of 4 (its width is a whole number of them).
  const rows = fourRows ? 4 : packed.rowsPerInvocation;
  const rowBlocks = Math.ceil(g.Cout / rows);
  const pixelBlocks = Math.ceil((g.N * g.OH * g.OW) / pixelsPerInvocation);
  const shape = packedTileShape(rowBlocks, pixelBlocks);
  const name = pass === 'inputGrad' ? `conv_transpose2d.${entryPoint}` : `conv2d${mfm ? 'Mfm' : ''}.${entryPoint}`;
  const k = kernel(file, { name, entryPoint, constants: { ...shape.constants, ROWS: rows }, operands, stores });
  gpu().dispatch(k, [x, packed.buffer, bias ?? gpu().placeholder, y, mask], params(g, bias !== undefined, 0, mfm, packed.width), shape.workgroups);
}

/** conv2d_packed_subgroup.wgsl over a 16-row packing (the subgroup's lanes share their rows: WGX of whole subgroups). */
function launchPackedSubgroupChunk(pass: PackedPass, x: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  const pixelBlocks = Math.ceil((g.N * g.OH * g.OW) / 4);
  const rows = packed.rowsPerInvocation;
  const shape = packedTileShape(Math.ceil(g.Cout / rows), Math.max(pixelBlocks, 16));
  const name = pass === 'inputGrad' ? 'conv_transpose2d.packedSubgroup' : `conv2d${mfm ? 'Mfm' : ''}.packedSubgroup`;
  const skipPaddingRows = gpu().policy.get('convSubgroupPaddingRows') === 'skip' ? 1 : 0;
  const k = kernel('conv2d_packed_subgroup', { name, entryPoint: 'packedSubgroup', constants: { ...shape.constants, ROWS: rows, SKIP_PADDING_ROWS: skipPaddingRows }, operands, stores });
  gpu().dispatch(k, [x, packed.buffer, bias ?? gpu().placeholder, y, mask], params(g, bias !== undefined, 0, mfm, packed.width), shape.workgroups);
}

/** GEMM rows per invocation of conv2d_window_subgroup.wgsl: a weight quad per lane of 8. */
const WINDOW_ROWS = 32;

/**
 * Whether conv2d_window_subgroup.wgsl (sliding windows of X along each row of taps, 32 rows x 8 outputs of one row per
 * invocation) can run a forward (or stride-1 input gradient) where the subgroup kernels run: few input channels (at most 4:
 * FaPE-GAN's G-in and D-1 have 2, where packedSubgroup takes one channel pair per tap; LightCNN's conv1 1), more than 16
 * rows, width stride 1 or 2 without width dilation, and output rows of whole octets. It takes those packedTiled /
 * packedSubgroup would run under the policy's convThinForward 'window', and the 5-wide ones fiveWidePair would run under
 * convFiveWideForward 'window' (packedReaderFor).
 */
function windowGeometry(g: ConvGeometry): boolean {
  return g.Cin <= 4 && g.Cout > 16 && (g.SW === 1 || g.SW === 2) && g.DW === 1 && g.OW % 8 === 0;
}

/**
 * conv2d_window_subgroup.wgsl's ROW_TAPS: a whole row of taps per update of its sums under windowTapOrder 'byRow' — 5 (KW 5,
 * width stride 1: conv1) or 4 (KW 4, width stride 2: D-1) — else 0 (one tap at a time).
 */
function windowRowTaps(g: ConvGeometry): number {
  if (gpu().policy.get('windowTapOrder') !== 'byRow') return 0;
  if (g.SW === 1 && g.KW === 5) return 5;
  return g.SW === 2 && g.KW === 4 ? 4 : 0;
}

/**
 * conv2d_window_subgroup.wgsl's outputs of a row per invocation: 16 under windowRowPixels 16 with 5-tap rows (rowTaps 5) in output rows of
 * whole 16s and float32 stores, else 8. Float16 stores keep 8: lavapipe compiled the 8-output float16-store build in 390 s
 * at load 12 (each of its 64 quad stores rounds inline), and the 16-output one did not finish in 190 s.
 */
function windowRowPixels(rowTaps: number, g: ConvGeometry, stores: OperandType): number {
  return rowTaps === 5 && g.OW % 16 === 0 && stores === 'f32' ? gpu().policy.get('windowRowPixels') : 8;
}

type WindowTilesEntryPoint = 'windowTapsSubgroup' | 'windowStrideTwoTapsSubgroup';

/**
 * The register-tiled entry point of conv2d_window_subgroup.wgsl that runs under the policy's windowSums 'tiles', if any:
 * windowTapsSubgroup for conv1's geometry — one input channel, 5-tap rows (rowTaps 5: KW 5 at width stride 1), at most 5 rows
 * of taps; windowStrideTwoTapsSubgroup for D-1's — 4-tap rows at width stride 2 (rowTaps 4), at most 4 rows of taps from at
 * most 4 channels, 8 rows of taps in all (each row's 34 inputs and 4 weight quads held at once); both on output rows of
 * whole 16s with float32 stores (the float16-store builds of the written-out epilogues took minutes to compile on lavapipe).
 */
function windowTilesEntryPoint(rowTaps: number, g: ConvGeometry, stores: OperandType): WindowTilesEntryPoint | undefined {
  if (gpu().policy.get('windowSums') !== 'tiles' || g.OW % 16 !== 0 || stores !== 'f32') return undefined;
  if (rowTaps === 5 && g.Cin === 1 && g.KH <= 5) return 'windowTapsSubgroup';
  if (rowTaps === 4 && g.KH <= 4 && g.Cin * g.KH <= 8) return 'windowStrideTwoTapsSubgroup';
  return undefined;
}

/**
 * Output rows per register-tiled invocation (TILE_ROWS): up to WINDOW_TILE_ROWS, the output rows split evenly into the fewest
 * blocks, at height dilation 1 and a height stride that windowTapsSubgroup slides by (1) or windowStrideTwoTapsSubgroup does
 * (TILE_ROW_STEP: any below the kernel's height) — where each next output row's rows of taps but SH are the last one's, slid
 * up; else 1. conv1 (N16, 128²), best CPU ms side by side (bench/conv1-tiles-probe.ts, load
 * 4-6): 1 row 88-104 ms, 2 74-79, 4 71-76, 8 69-72, 16 66-77, 32 65; rows (windowSubgroup) 104-143 (bench/RESULTS.md, conv1b).
 */
function windowTileRows(entryPoint: WindowTilesEntryPoint, g: ConvGeometry): number {
  const slides = entryPoint === 'windowTapsSubgroup' ? g.SH === 1 : g.SH < g.KH;
  if (g.DH !== 1 || !slides) return 1;
  return Math.ceil(g.OH / Math.ceil(g.OH / WINDOW_TILE_ROWS));
}

const WINDOW_TILE_ROWS = 16;

/**
 * A windowTilesEntryPoint: 16 outputs of each of windowTileRows output rows x 32 GEMM rows per invocation, 64 invocations per
 * workgroup along x, the 32-row blocks along y; inputs as aligned quads where rows of X are whole quads (the policy's
 * windowInputLoads 'quads'; INPUT_SHIFT: an invocation's first input column past the aligned one before it).
 */
function launchWindowTilesChunk(entryPoint: WindowTilesEntryPoint, pass: PackedPass, x: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  const tileRows = windowTileRows(entryPoint, g);
  const tiles = g.N * Math.ceil(g.OH / tileRows) * (g.OW / 16);
  const wgx = 64;
  const inputQuads = g.W % 4 === 0 && gpu().policy.get('windowInputLoads') === 'quads';
  const constants = { WGX: wgx, WGY: 1, STRIDE_W: g.SW, QUAD_STORES: gpu().policy.get('windowStores') === 'quads' ? 1 : 0, KERNEL_H: g.KH, TILE_ROWS: tileRows, TILE_MFM: mfm, X_QUADS: inputQuads ? 1 : 0, INPUT_SHIFT: inputQuads ? (((-g.PW) % 4) + 4) % 4 : 0, ...(entryPoint === 'windowStrideTwoTapsSubgroup' ? { TILE_CIN: g.Cin, TILE_ROW_STEP: g.SH } : {}) };
  const name = pass === 'inputGrad' ? `conv_transpose2d.${entryPoint}` : `conv2d${mfm ? 'Mfm' : ''}.${entryPoint}`;
  const k = kernel('conv2d_window_subgroup', { name, entryPoint, constants, operands, stores });
  gpu().dispatch(k, [x, packed.buffer, bias ?? gpu().placeholder, y, mask, x], params(g, bias !== undefined, 0, mfm, packed.width), [Math.ceil(tiles / wgx), Math.ceil(g.Cout / WINDOW_ROWS)]);
}

/**
 * conv2d_window_subgroup.wgsl over a 32-row packing: 8 or 16 outputs per invocation along x (whole subgroups), 32 rows along
 * y. With 16 outputs (512 sums an invocation) workgroups of 64: at conv1's shape 64 ran 1.2x faster than 256 side by side.
 * conv1's and D-1's geometries take windowTapsSubgroup / windowStrideTwoTapsSubgroup under windowSums 'tiles' (launchWindowTilesChunk).
 */
function launchWindowSubgroupChunk(pass: PackedPass, x: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  const rowTaps = windowRowTaps(g);
  const tilesEntryPoint = windowTilesEntryPoint(rowTaps, g, stores);
  if (tilesEntryPoint) return launchWindowTilesChunk(tilesEntryPoint, pass, x, packed, bias, g, y, mask, mfm, operands, stores);
  const rowPixels = windowRowPixels(rowTaps, g, stores);
  const pixelBlocks = (g.N * g.OH * g.OW) / rowPixels;
  const rowBlocks = Math.ceil(g.Cout / WINDOW_ROWS);
  const shape = rowPixels === 16 ? { constants: { WGX: 64, WGY: 1 }, workgroups: [Math.ceil(pixelBlocks / 64), rowBlocks] as [number, number] } : packedTileShape(rowBlocks, Math.max(pixelBlocks, 16));
  const name = pass === 'inputGrad' ? 'conv_transpose2d.windowSubgroup' : `conv2d${mfm ? 'Mfm' : ''}.windowSubgroup`;
  // The 4-tap stride-2 rows' inputs as aligned quads: padding 1 and rows of whole quads (windowInputLoads).
  const inputQuads = rowTaps === 4 && g.PW === 1 && g.W % 4 === 0 && gpu().policy.get('windowInputLoads') === 'quads';
  const k = kernel('conv2d_window_subgroup', { name, entryPoint: 'windowSubgroup', constants: { ...shape.constants, STRIDE_W: g.SW, QUAD_STORES: gpu().policy.get('windowStores') === 'quads' ? 1 : 0, ROW_TAPS: rowTaps, X_QUADS: inputQuads ? 1 : 0, PIXEL_QUADS: rowPixels / 4 }, operands, stores });
  gpu().dispatch(k, [x, packed.buffer, bias ?? gpu().placeholder, y, mask, x], params(g, bias !== undefined, 0, mfm, packed.width), shape.workgroups);
}

/**
 * Whether the subgroup kernels run: the policy's convSubgroups, on a device with subgroups of
 * exactly 8 lanes (lavapipe: its 8-lane SIMD vectors), which they share loads across (conv2d_subgroup.wgsl,
 * conv2d_packed_subgroup.wgsl, conv_transpose2d_phase_subgroup.wgsl).
 */
function subgroupKernels(): boolean {
  return gpu().policy.get('convSubgroups') === 'shared' && subgroupsOfEight();
}

/**
 * conv2d_subgroup.wgsl's kernels (pointwise: 4 pixels per invocation, fiveWidePair: 8, fiveWideRow: 16): one block
 * of rows per workgroup row (wid.y), so all lanes of a subgroup need the same weights; 64
 * invocations per workgroup (a whole number of subgroups of any power-of-2 size up to 64).
 */
function launchSubgroupChunk(pass: PackedPass, x: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  const pair = packedEntryPoint(g);
  // A single row (conv1's input gradient) in rows of whole spans of 16 pixels: fiveWideRow, 1 row per workgroup row.
  const single = pair.entryPoint === 'fiveWidePair' && g.Cout === 1 && g.W % 16 === 0 && !mfm;
  const { entryPoint, pixelsPerInvocation } = single ? { entryPoint: 'fiveWideRow', pixelsPerInvocation: 16 } : pair;
  // threeWidePair takes the policy's rows (blocks of 4 of the packing, as conv2d_vec4's reads it), up to the packing's.
  const threeWideRows = Math.min(gpu().policy.get('convThreeWideRows'), packed.rowsPerInvocation);
  const rows = single ? 1 : entryPoint === 'threeWidePair' ? threeWideRows : packed.rowsPerInvocation;
  const spans = Math.ceil((g.N * g.OH * g.OW) / pixelsPerInvocation);
  const wgx = 64;
  const name = pass === 'inputGrad' ? `conv_transpose2d.${entryPoint}Subgroup` : `conv2d${mfm ? 'Mfm' : ''}.${entryPoint}Subgroup`;
  const k = kernel('conv2d_subgroup', { name, entryPoint, constants: { WGX: wgx, WGY: 1, ROWS: rows }, operands, stores });
  gpu().dispatch(k, [x, packed.buffer, bias ?? gpu().placeholder, y, mask], params(g, bias !== undefined, 0, mfm, packed.width), [Math.ceil(spans / wgx), Math.ceil(g.Cout / rows)]);
}

/** The forward's variant: the policy's (autotuned on scratch inputs where the autotuner is on; f16 untuned). */
function forwardVariant(whole: ConvGeometry, hasBias: boolean, mfm: number, operands: OperandType): ConvVariant {
  if (operands === 'f16') return f16Variant('convForward', 'conv2dForward');
  const inputs = () => [whole.N * whole.Cin * whole.H * whole.W, whole.Cout * whole.Cin * whole.KH * whole.KW, ...(hasBias ? [whole.Cout] : [])];
  return gpu().policy.choose('convForward', () => shapeClass(mfm ? `forward mfm${mfm}` : 'forward', whole, hasBias), TUNED_VARIANTS, scratchRun(inputs, ([sx, sw, sb]) => {
    if (!mfm) return [conv2dForward(sx!, sw!, sb, whole)];
    const { y, mask } = conv2dMfmForward(sx!, sw!, sb, whole, mfm === MFM_MODE.withMask);
    return mask ? [y, mask] : [y];
  }));
}

function launchForward(variant: ConvVariant, x: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, whole: ConvGeometry, y: GPUBuffer, mask: GPUBuffer | undefined, mfm: number, operands: OperandType, stores: OperandType): void {
  const xPerImage = whole.Cin * whole.H * whole.W;
  const yPerImage = (mfm ? whole.Cout / 2 : whole.Cout) * whole.OH * whole.OW;
  const single = variant === 'packed' && !mfm && singleChannelKernels(whole);
  const packed = variant === 'packed' && !single ? packWeights(weight, whole, mfm ? 'forwardMfm' : 'forward', whole, operands) : undefined;
  const [xBytes, yBytes] = [bytesPerElement(operands), bytesPerElement(stores)];
  // y and the mask (u32) share their images' element count.
  for (const chunk of batchChunks(whole.N, [xPerImage, yPerImage, yPerImage], [xBytes, yBytes, 4])) {
    const g = { ...whole, N: chunk.count };
    const outputs = [images(y, chunk, whole.N, yPerImage, yBytes), mask ? images(mask, chunk, whole.N, yPerImage) : gpu().placeholderOutput];
    const xChunk = images(x, chunk, whole.N, xPerImage, xBytes);
    if (single) launchSingleForwardChunk(xChunk, weight, bias, g, outputs[0], operands, stores);
    else if (variant === 'packed') launchPackedChunk('forward', xChunk, packed!, bias, g, outputs[0], outputs[1], mfm, operands, stores);
    else launchForwardChunk(variant, xChunk, weight, bias, g, outputs[0], outputs[1], mfm, operands, stores);
  }
  if (packed) gpu().pool.release(packed.buffer);
}

/**
 * Whether a conv with one output channel runs the Cout = 1 kernels (under the packed variant):
 * conv2d_single*.wgsl forward, conv_transpose2d_single*.wgsl input gradient (at stride 1), and
 * conv2d_weight_grad_single*.wgsl weight gradient where also KW <= 8. They walk input rows with a
 * sliding window: stride 1 and no dilation along the width (stride-2 and dilated-width Cout = 1 convs
 * run the packed kernels). Policy convSingleChannel 'dedicated' or 'shared' takes them on any adapter:
 * on Chromium's SwiftShader (subgroups of 4) the plain ones ran FaPE-GAN's output layers' forward at
 * 1.1-1.4x and backward at 2.3-6.7x the packed kernels (bench/RESULTS.md, 2026-12-05), once their
 * bounds tests stopped using && (a compile that never finished there: scripts/repro-swiftshader-compile.mjs).
 */
function singleChannelKernels(g: ConvGeometry): boolean {
  return g.Cout === 1 && g.SW === 1 && g.DW === 1 && gpu().policy.get('convSingleChannel') !== 'generic';
}

/**
 * The Cout = 1 forward: 8 neighbouring outputs of one row per invocation (rowsSubgroup, under
 * convSingleChannel 'shared': of 4 rows; rowsWindow, under convSingleForward 'window' too: of up to 16 rows), 64 per
 * workgroup (a whole number of subgroups); conv2d_single_subgroup.wgsl shares the weight loads where subgroupKernels(),
 * conv2d_single.wgsl elsewhere. Under 'shared', few tiles over many input channels take rowsSliced
 * (launchSlicedForwardChunk) on any adapter, except where rowsWindow runs.
 */
function launchSingleForwardChunk(x: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, operands: OperandType, stores: OperandType): void {
  const shared = subgroupKernels();
  const tiles = g.N * Math.ceil(g.OH / 4) * Math.ceil(g.OW / 8);
  const tileable = singleTileable(g);
  if (tileable && !windowRowsRun(g) && tiles < 1024 && g.Cin >= SLICED_MIN_CHANNELS) {
    if (stores !== 'f32') throw new Error('conv2d: the sliced Cout = 1 forward stores f32 only (conv2dForward casts its result)');
    return launchSlicedForwardChunk(x, weight, bias, g, y, tiles, operands);
  }
  if (windowRowsRun(g)) return launchRowsWindowChunk('forward', x, weight, bias, g, y, operands, stores);
  const rows = shared && tileable;
  // Few tiles run 8 to a workgroup (lavapipe runs a workgroup on one thread): D's 4×4 512→1 at batch 4
  // (14² outputs, 32 tiles) ran at 0.29× singleSubgroup in one workgroup of 64, 1.24× in 4 of 8.
  const wg = rows && tiles < 1024 ? 8 : 64;
  const entryPoint = rows ? 'rowsSubgroup' : shared ? 'singleSubgroup' : 'single';
  const k = kernel(shared ? 'conv2d_single_subgroup' : 'conv2d_single', { name: `conv2d.${entryPoint}`, entryPoint, constants: { WG: wg }, operands, stores });
  const invocations = rows ? tiles : g.N * g.OH * Math.ceil(g.OW / 8);
  gpu().dispatch(k, [x, weight, bias ?? gpu().placeholder, y], params(g, bias !== undefined), grid1d(invocations, wg));
}

/** Whether the Cout = 1 forward runs in tiles of 4 rows (rowsSubgroup, or rowsSliced over few tiles and many channels). */
function singleTileable(g: ConvGeometry): boolean {
  return gpu().policy.get('convSingleChannel') === 'shared' && g.SH === 1 && g.DH === 1 && g.KH <= 8 && g.KW <= 8;
}

/**
 * Whether the Cout = 1 forward runs rowsWindow: a tileable geometry under convSingleForward 'windowShared' or 'window' where
 * subgroups are 8 wide.
 */
function windowRowsRun(g: ConvGeometry): boolean {
  return singleTileable(g) && subgroupKernels() && gpu().policy.get('convSingleForward') !== 'rows';
}

/** Whether some batch run of this forward may take rowsSliced (which sums f32 slices, so stores no float16). */
function mayRunSliced(g: ConvGeometry, variant: ConvVariant, mfm: number): boolean {
  return variant === 'packed' && !mfm && singleChannelKernels(g) && singleTileable(g) && !windowRowsRun(g) && g.Cin >= SLICED_MIN_CHANNELS;
}

/** The most output rows a rowsWindow tile has (its sums: 2 vec4 a row, private to the invocation). */
const WINDOW_MAX_ROWS = 16;

/**
 * The Cout = 1 forward in tiles of up to WINDOW_MAX_ROWS output rows x 16 columns (conv2d_single_subgroup.wgsl rowsWindow; 8 under
 * convSingleForwardColumns 8 or outputs at most 8 wide): the rows split evenly into the fewest tiles (D's 14 rows: one tile of
 * 14; G's 128: 8 of 16), KERNEL_W the kernel's width;
 * workgroups of 64, of 8 under 1024 tiles (as rowsSubgroup). G-out (7×7 64→1 on 134², N16): 0.36-0.38 → 0.98-1.12× the
 * matmul rate; D-out (4×4 512→1 on 15²): 0.18-0.30 (rowsSliced + reduction) → 0.44-0.79× in 8 columns, 0.95× in 16 (0.83× in 8
 * beside it) (bench/RESULTS.md, 2026-12-05 single-out). Under convSingleForward 'windowShared' the forward's tiles go 8 to a
 * subgroup side by side along the rows (SHARED_COLUMNS: 8 invocations a subgroup tile of 64 or 128 columns), each lane loading
 * only its own columns of an input row and taking the next lane's first KW - 1 by shuffle, where at least half of a subgroup
 * tile's columns are outputs (G-out's 128: one subgroup tile a row tile; D-out's 14 keep rowsWindow).
 * The input gradient ('inputGrad', thinWindowInputGradRuns) passes its forward over gy (asForwardOfGradient: 1-2 output
 * channels, one per workgroup z) and the conv's own weights, which FLIPPED_WEIGHTS reads rotated and transposed in place (a
 * handful of loads per channel and invocation: no pack step). Its packed path filled 1-2 of 4 GEMM rows per invocation
 * (LightCNN's conv1 at 0.52× the matmul rate, FaPE-GAN's G-in at 0.15×).
 */
function launchRowsWindowChunk(pass: PackedPass, x: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, operands: OperandType, stores: OperandType): void {
  const flipped = pass === 'inputGrad';
  // Two output channels in one invocation's sums (8 columns): under convThinUnitStrideInputGrad 'pairs'.
  const paired = flipped && g.Cout === 2 && gpu().policy.get('convThinUnitStrideInputGrad') === 'pairs';
  const rows = Math.ceil(g.OH / Math.ceil(g.OH / WINDOW_MAX_ROWS));
  const octets = g.OW > 8 && !paired ? gpu().policy.get('convSingleForwardColumns') / 8 : 1;
  const tiles = g.N * Math.ceil(g.OH / rows) * Math.ceil(g.OW / (8 * octets));
  // The forward's lanes side by side along a row, sharing their windows (convSingleForward 'windowShared'), where at least half
  // of a subgroup's 8 lane tiles hold outputs (the others compute and store nothing).
  const shared = !flipped && gpu().policy.get('convSingleForward') === 'windowShared' && g.OW >= 32 * octets;
  const invocations = shared ? 8 * g.N * Math.ceil(g.OH / rows) * Math.ceil(g.OW / (64 * octets)) : tiles;
  const wg = invocations < 1024 ? 8 : 64;
  const constants = { WG: wg, WINDOW_ROWS: rows, KERNEL_W: g.KW, WINDOW_OCTETS: octets, FLIPPED_WEIGHTS: flipped ? 1 : 0, CHANNEL_PAIR: paired ? 1 : 0, SHARED_COLUMNS: shared ? 1 : 0 };
  const name = flipped ? `conv_transpose2d.${paired ? 'thinRowsWindowPair' : 'thinRowsWindow'}` : shared ? 'conv2d.rowsWindowShared' : 'conv2d.rowsWindow';
  const k = kernel('conv2d_single_subgroup', { name, entryPoint: 'rowsWindow', constants, operands, stores });
  gpu().dispatch(k, [x, weight, bias ?? gpu().placeholder, y], params(g, bias !== undefined), [...grid1d(invocations, wg), paired ? 1 : g.Cout]);
}

/** Input channels from which the Cout = 1 forward over few tiles splits its channels (rowsSliced): D's 512, not G's 64. */
const SLICED_MIN_CHANNELS = 128;
/** Invocations rowsSliced aims for (tiles x slices), each slice at least SLICE_CHANNELS channels. */
const SLICED_INVOCATIONS = 256;
const SLICE_CHANNELS = 32;

/**
 * The Cout = 1 forward over few 4 x 8 output tiles with many input channels (conv2d_single_sliced.wgsl rowsSliced,
 * under convSingleChannel 'shared' on any adapter): the kernel size fixed at compile time, the channels split into
 * slices so that about SLICED_INVOCATIONS run, the slices' partial sums added by reduceAxis and copied into y.
 * D's 4×4 512→1 on 15² (lavapipe, per CPU second, side by side): 1.16-1.24× rowsSubgroup at batch 4, 1.1-1.6× at 16
 * (bench/RESULTS.md, 2026-12-05); G's 64-channel 7×7 layers ran slower than rowsSubgroup (0.56-0.88×).
 */
function launchSlicedForwardChunk(x: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, tiles: number, operands: OperandType): void {
  const wanted = Math.max(1, Math.min(Math.ceil(SLICED_INVOCATIONS / tiles), Math.floor(g.Cin / SLICE_CHANNELS)));
  const kChunk = Math.ceil(g.Cin / wanted);
  const slices = Math.ceil(g.Cin / kChunk);
  const outputs = g.N * g.OH * g.OW;
  // Few invocations run 8 to a workgroup, as rowsSubgroup's tiles.
  const wg = tiles * slices < 1024 ? 8 : 64;
  const k = kernel('conv2d_single_sliced', { name: 'conv2d.rowsSliced', entryPoint: 'rowsSliced', constants: { WG: wg, KERNEL_H: g.KH, KERNEL_W: g.KW }, operands });
  const launch = (partial: Binding) => gpu().dispatch(k, [x, weight, bias ?? gpu().placeholder, partial], params(g, bias !== undefined, kChunk), grid1d(tiles * slices, wg));
  if (slices === 1) return launch(y);
  const partial = alloc(slices * outputs);
  launch(partial);
  const sum = reduceAxis('sum', partial, 1, slices, outputs);
  gpu().pool.release(partial);
  const target = 'buffer' in y ? y : { buffer: y, offset: 0 };
  gpu().copy(sum, 0, target.buffer, target.offset, outputs * 4);
  gpu().pool.release(sum);
}

function launchForwardChunk(variant: GenericConvVariant, x: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, y: Binding, mask: Binding, mfm: number, operands: OperandType, stores: OperandType): void {
  const shape = registerTileShape(g.Cout, g.N * g.OH * g.OW);
  const constants = variant === 'registerTiled' ? shape.constants : undefined;
  const k = kernel('conv2d', { name: `conv2d${mfm ? 'Mfm' : ''}.${variant}`, entryPoint: variant, constants, operands, stores });
  const outputs = (mfm ? g.Cout / 2 : g.Cout) * g.N * g.OH * g.OW;
  const workgroups: [number, number?] =
    variant === 'direct' ? grid1d(outputs) : variant === 'registerTiled' ? shape.workgroups : workgroupTileGrid(g.Cout, g.N * g.OH * g.OW);
  gpu().dispatch(k, [x, weight, bias ?? gpu().placeholder, y, mask], params(g, bias !== undefined, 0, mfm), workgroups);
}

/**
 * y [N, Cout, OH, OW] = conv2d(x, weight) + bias: x and weight of type `operands`, bias f32, y of type `output`
 * (f16: rounded once from the f32 sum, in the kernel's epilogue under the policy's halfStores 'epilogue', else by a cast pass).
 */
export function conv2dForward(x: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, operands: OperandType = 'f32', output: OperandType = 'f32'): GPUBuffer {
  const variant = forwardVariant(g, bias !== undefined, MFM_MODE.off, operands);
  if (pointwiseGemm(g, variant)) return pointwiseForwardGemm(x, weight, bias, g, operands, output);
  const stores = mayRunSliced(g, variant, MFM_MODE.off) ? 'f32' : epilogueStores(output);
  const count = g.N * g.Cout * g.OH * g.OW;
  const y = alloc(count, stores);
  launchForward(variant, x, weight, bias, g, y, undefined, MFM_MODE.off, operands, stores);
  return resultAs(y, count, stores, output);
}

/**
 * y [N, Cout/2, OH, OW] = mfm(conv2d(x, weight) + bias) in one kernel (the max taken in the
 * epilogue), and with `withMask` the mask [N, Cout/2, OH, OW] (u32) that mfmBackwardFromMask
 * routes the gradient by. g.Cout is the filter count, 2·C. x and weight of type `operands`, y f32.
 */
export function conv2dMfmForward(x: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, withMask: boolean, operands: OperandType = 'f32', output: OperandType = 'f32'): { y: GPUBuffer; mask: GPUBuffer | undefined } {
  const mfm = withMask ? MFM_MODE.withMask : MFM_MODE.withoutMask;
  const variant = forwardVariant(g, bias !== undefined, mfm, operands);
  if (pointwiseGemm(g, variant)) {
    const plane = g.H * g.W;
    const fused =
      (pixelRowsForward(g) ? matmulMfm(planesOperand(x, g.Cin, plane, true, operands), weightOperand(weight, g, true, operands), g.N, plane, g.Cout, g.Cin, bias, withMask, output, 'columns') : undefined) ??
      matmulMfm(weightOperand(weight, g, false, operands), planesOperand(x, g.Cin, plane, false, operands), g.N, g.Cout, plane, g.Cin, bias, withMask, output);
    if (fused) return { y: fused.c, mask: fused.mask };
  }
  const outputs = (g.N * g.Cout * g.OH * g.OW) / 2;
  const stores = epilogueStores(output);
  const y = alloc(outputs, stores);
  const mask = withMask ? alloc(outputs) : undefined;
  launchForward(variant, x, weight, bias, g, y, mask, mfm, operands, stores);
  return { y: resultAs(y, outputs, stores, output), mask };
}

/**
 * The transposed convolution gx [N, Cin, H, W] of gy [N, Cout, OH, OW] through weight
 * [Cout, Cin, KH, KW], plus bias [Cin]: conv2d's input gradient, and convTranspose2d's forward.
 * gy and weight of type `operands`, bias and gx f32.
 */
export function conv2dTranspose(gy: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, whole: ConvGeometry, operands: OperandType = 'f32', output: OperandType = 'f32'): GPUBuffer {
  const gyPerImage = whole.Cout * whole.OH * whole.OW;
  const gxPerImage = whole.Cin * whole.H * whole.W;
  // At stride 1 the transposed conv is a forward conv over gy with the kernel rotated by 180°, the
  // channels swapped and padding DH·(KH - 1) - PH: the packed forward kernels run it.
  const inputs = () => [gyPerImage * whole.N, whole.Cout * whole.Cin * whole.KH * whole.KW, ...(bias ? [whole.Cin] : [])];
  const chosen = operands === 'f16' ? f16Variant('convInputGrad', 'conv2dTranspose') : gpu().policy.choose('convInputGrad', () => shapeClass('input grad', whole, bias !== undefined), TUNED_VARIANTS, scratchRun(inputs, ([sgy, sw, sb]) => [conv2dTranspose(sgy!, sw!, sb, whole)]));
  if (pointwiseGemm(whole, chosen)) return pointwiseInputGradGemm(gy, weight, bias, whole, operands, output);
  const strided = whole.SH > 1 || whole.SW > 1;
  const single = chosen === 'packed' && !strided && singleChannelKernels(whole);
  const thinWindow = chosen === 'packed' && !strided && !single && thinWindowInputGradRuns(whole);
  // rowsWindow stores f32 only (a float16 output takes the cast): its float16-store build, 64 written-out channel stores each
  // rounding inline, took 12 s to minutes to compile on lavapipe. The thin one too: its float16-store build's compile was not
  // seen to finish on a loaded lavapipe.
  const stores = (single && (transposeWindowRuns(whole) || transposeStripsRun(whole))) || thinWindow ? 'f32' : epilogueStores(output);
  const count = whole.N * whole.Cin * whole.H * whole.W;
  // rowStrips on even widths binds gx as quads: whole ones, so that the last elements are inside the binding.
  const gx = alloc(single && transposeStripsRun(whole) && stripQuadStores(whole) ? Math.ceil(count / 4) * 4 : count, stores);
  const phased = chosen === 'packed' && strided && whole.DH === 1 && whole.DW === 1;
  const thin = phased && thinBlocksFit(whole);
  const packed = single || thin || thinWindow ? undefined : chosen === 'packed' && !strided ? packWeights(weight, whole, 'transposed', asForwardOfGradient(whole), operands) : phased ? packPhaseWeights(weight, whole, operands) : undefined;
  const [gyBytes, gxBytes] = [bytesPerElement(operands), bytesPerElement(stores)];
  for (const chunk of batchChunks(whole.N, [gyPerImage, gxPerImage], [gyBytes, gxBytes])) {
    const g = { ...whole, N: chunk.count };
    const gyChunk = images(gy, chunk, whole.N, gyPerImage, gyBytes);
    const gxChunk = images(gx, chunk, whole.N, gxPerImage, gxBytes);
    if (single) launchSingleTransposeChunk(gyChunk, weight, bias, g, gxChunk, operands, stores);
    else if (thinWindow && quadRowsRun(whole)) launchQuadRowsChunk(gyChunk, weight, bias, asForwardOfGradient(g), gxChunk, operands);
    else if (thinWindow) launchRowsWindowChunk('inputGrad', gyChunk, weight, bias, asForwardOfGradient(g), gxChunk, operands, stores);
    else if (thin) launchThinTransposeChunk(gyChunk, weight, bias, g, gxChunk, operands, stores);
    else if (phased) launchPhaseChunk(gyChunk, packed!, bias, g, gxChunk, operands, stores);
    else if (packed) launchPackedChunk('inputGrad', gyChunk, packed, bias, asForwardOfGradient(g), gxChunk, gpu().placeholderOutput, MFM_MODE.off, operands, stores);
    else launchTransposeChunk(chosen, gyChunk, weight, bias, g, gxChunk, operands, stores);
  }
  if (packed) gpu().pool.release(packed.buffer);
  return resultAs(gx, count, stores, output);
}

/**
 * The input gradient of a Cout = 1 conv at stride 1 (conv_transpose2d_single*.wgsl): 8 outputs of a
 * row x 8 input channels per invocation, one GY load per tap serving all 8 (the packed kernels run it
 * as a forward over one input channel, whose 4 pixels x 8 rows per invocation load 4 GY values per tap);
 * under convSingleInputGrad 'window' (transposeWindowRuns) up to 8 rows of that per invocation (rowsWindow), under 'strips'
 * (transposeStripsRun) a strip of rows (launchTransposeStripsChunk); 64 invocations per workgroup (8 under 1024 invocations a block of channels), wid.y the block of 8 channels,
 * pixel workgroups folded into z past the per-dimension limit.
 */
function launchSingleTransposeChunk(gy: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType, stores: OperandType): void {
  if (transposeStripsRun(g)) return launchTransposeStripsChunk(gy, weight, bias, g, gx, operands, stores);
  const shared = subgroupKernels();
  const window = transposeWindowRuns(g);
  if (window && stores !== 'f32') throw new Error('conv2dTranspose: the Cout = 1 rowsWindow input gradient stores f32 only (conv2dTranspose casts its result)');
  const rows = window ? Math.ceil(g.H / Math.ceil(g.H / TRANSPOSE_WINDOW_MAX_ROWS)) : 1;
  const invocations = g.N * Math.ceil(g.H / rows) * Math.ceil(g.W / 8);
  const wg = window && invocations < 1024 ? 8 : 64;
  const k = window
    ? kernel('conv_transpose2d_single_subgroup', { name: 'conv_transpose2d.rowsWindow', entryPoint: 'rowsWindow', constants: { WG: wg, WINDOW_ROWS: rows, KERNEL_W: g.KW }, operands, stores })
    : shared
    ? kernel('conv_transpose2d_single_subgroup', { name: 'conv_transpose2d.singleSubgroup', entryPoint: 'singleSubgroup', constants: { WG: wg }, operands, stores })
    : kernel('conv_transpose2d_single', { name: 'conv_transpose2d.single', entryPoint: 'single', constants: { WG: wg }, operands, stores });
  const groups = Math.ceil(invocations / wg);
  const maxPerDim = gpu().device.limits.maxComputeWorkgroupsPerDimension;
  const depth = Math.ceil(groups / maxPerDim);
  gpu().dispatch(k, [gy, weight, bias ?? gpu().placeholder, gx], params(g, bias !== undefined), [Math.ceil(groups / depth), Math.ceil(g.Cin / 8), depth]);
}

/** The most GX rows a rowsWindow tile of the Cout = 1 input gradient has (its sums: 8 channels x 2 vec4 a row, private). */
const TRANSPOSE_WINDOW_MAX_ROWS = 8;

/** Whether the Cout = 1 input gradient runs rowsWindow: convSingleChannel 'shared' and convSingleInputGrad 'window' on subgroups of 8, DH 1, kernel at most 8 x 8. */
function transposeWindowRuns(g: ConvGeometry): boolean {
  return transposeTileable(g) && gpu().policy.get('convSingleInputGrad') === 'window';
}

/** Whether the Cout = 1 input gradient runs rowStrips: as rowsWindow, under convSingleInputGrad 'strips'. */
function transposeStripsRun(g: ConvGeometry): boolean {
  return transposeTileable(g) && gpu().policy.get('convSingleInputGrad') === 'strips';
}

/** convSingleChannel 'shared' on subgroups of 8, DH 1, kernel at most 8 x 8: rowsWindow's and rowStrips' geometry. */
function transposeTileable(g: ConvGeometry): boolean {
  return subgroupKernels() && gpu().policy.get('convSingleChannel') === 'shared' && g.DH === 1 && g.KH <= 8 && g.KW <= 8;
}

/** The most GX rows a rowStrips strip has: the strip's first KH - 1 GY rows are loaded for the window alone. */
const TRANSPOSE_STRIP_MAX_ROWS = 64;

/**
 * Whether rowStrips stores quads (conv_transpose2d_single_strips.wgsl, gx bound as vec4): where W is even, so every row
 * starts on an even element; odd widths store each output by itself (conv_transpose2d_single_strips_elements.wgsl).
 */
const stripQuadStores = (g: ConvGeometry): boolean => g.W % 2 === 0;

/**
 * The Cout = 1 input gradient down strips of up to TRANSPOSE_STRIP_MAX_ROWS rows x 8 columns x 8 channels
 * (conv_transpose2d_single_strips.wgsl rowStrips): the rows split evenly into the fewest strips (G-out's 134: 3 of 45, D-out's
 * 15: one), the kernel's size as overrides; workgroups of 64, of 8 under 1024 invocations a block of channels (as rowsWindow),
 * wid.y the block of 8 channels, pixel workgroups folded into z past the per-dimension limit. Under stripQuadStores gx holds
 * whole quads (its binding is a vec4 array): conv2dTranspose allocates it so, and a run of images starts on a 256-byte offset.
 */
function launchTransposeStripsChunk(gy: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType, stores: OperandType): void {
  if (stores !== 'f32') throw new Error('conv2dTranspose: the Cout = 1 rowStrips input gradient stores f32 only (conv2dTranspose casts its result)');
  const rows = Math.ceil(g.H / Math.ceil(g.H / TRANSPOSE_STRIP_MAX_ROWS));
  const invocations = g.N * Math.ceil(g.H / rows) * Math.ceil(g.W / 8);
  const wg = invocations < 1024 ? 8 : 64;
  const [file, name] = stripQuadStores(g) ? ['conv_transpose2d_single_strips', 'conv_transpose2d.rowStrips'] : ['conv_transpose2d_single_strips_elements', 'conv_transpose2d.rowStripsElements'];
  const k = kernel(file, { name, entryPoint: 'rowStrips', constants: { WG: wg, STRIP_ROWS: rows, KERNEL_H: g.KH, KERNEL_W: g.KW }, operands });
  const groups = Math.ceil(invocations / wg);
  const depth = Math.ceil(groups / gpu().device.limits.maxComputeWorkgroupsPerDimension);
  gpu().dispatch(k, [gy, weight, bias ?? gpu().placeholder, gx], params(g, bias !== undefined), [Math.ceil(groups / depth), Math.ceil(g.Cin / 8), depth]);
}

/**
 * Whether a strided transposed conv (dilation 1) runs conv_transpose2d_thin.wgsl: the policy's convThinInputGrad 'blocks',
 * where subgroups are 8 wide (its lanes share the weights by shuffles), at most 2 output channels (gx's Cin), strides up to 2
 * and at most 2 taps per phase along each axis (KH <= 2·SH, KW <= 2·SW: the 5 x 5 window it holds).
 */
function thinBlocksFit(g: ConvGeometry): boolean {
  return gpu().policy.get('convThinInputGrad') === 'blocks' && subgroupKernels() && g.Cin <= 2 && g.SH <= 2 && g.SW <= 2 && g.KH <= 2 * g.SH && g.KW <= 2 * g.SW;
}

/**
 * conv_transpose2d_thin.wgsl: one invocation per block of 4 x 4 phase pixels (every phase) of a channel pair, 64 per
 * workgroup, wid.y the pair; the strides as overrides (constant loop bounds); blocks past the per-dimension limit fold into z.
 */
function launchThinTransposeChunk(gy: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType, stores: OperandType): void {
  const wg = 64;
  // Blocks along an axis: from phase row floor(P / S), 4 phase pixels (4·S outputs) each.
  const blocksAlong = (size: number, pad: number, stride: number) => Math.ceil((size + pad - stride * Math.floor(pad / stride)) / (4 * stride));
  const blocks = g.N * blocksAlong(g.H, g.PH, g.SH) * blocksAlong(g.W, g.PW, g.SW);
  const groups = Math.ceil(blocks / wg);
  const depth = Math.ceil(groups / gpu().device.limits.maxComputeWorkgroupsPerDimension);
  // Each block's 4 columns b0 .. b0 + 3 one aligned vec4 of gy (b0 = floor(PW / SW) + 4·block column; chunks start at whole images).
  const quads = g.OW % 4 === 0 && Math.floor(g.PW / g.SW) % 4 === 0;
  const k = kernel('conv_transpose2d_thin', { name: 'conv_transpose2d.thinBlocks', entryPoint: 'thinBlocks', constants: { WG: wg, STRIDE_H: g.SH, STRIDE_W: g.SW, QUADS: quads ? 1 : 0, BY_BLOCK_ROWS: gpu().policy.get('thinBlocksOrder') === 'byBlockRow' ? 1 : 0 }, operands, stores });
  gpu().dispatch(k, [gy, gy, weight, bias ?? gpu().placeholder, gx], params(g, bias !== undefined), [Math.ceil(groups / depth), Math.ceil(g.Cin / 2), depth]);
}

/** The most input channels (gx's) whose stride-1 input gradient runs rowsWindow: each costs a pass over GY. */
const THIN_WINDOW_MAX_CHANNELS = 2;

/**
 * Whether a stride-1 conv's input gradient (gx of at most THIN_WINDOW_MAX_CHANNELS channels) runs as a forward over gy through
 * rowsWindow (launchRowsWindowChunk): the policy's convThinUnitStrideInputGrad 'window' where subgroups are 8 wide,
 * dilation 1, kernel at most 8 x 8 (rowsWindow's geometry; elsewhere the packed kernels run it).
 */
function thinWindowInputGradRuns(g: ConvGeometry): boolean {
  return gpu().policy.get('convThinUnitStrideInputGrad') !== 'packed' && subgroupKernels() && g.Cin <= THIN_WINDOW_MAX_CHANNELS && g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 && g.KH <= 8 && g.KW <= 8;
}

/**
 * Whether a thin stride-1 input gradient (thinWindowInputGradRuns) runs conv_transpose2d_quad_rows.wgsl thinQuadRows: under
 * thinInputGradRows 'quads', into one channel (gx's), kernel rows of at most 5 taps, gx rows of whole 16s (LightCNN's conv1).
 */
function quadRowsRun(g: ConvGeometry): boolean {
  return gpu().policy.get('thinInputGradRows') === 'quads' && g.Cin === 1 && g.KW <= 5 && g.W % 16 === 0;
}

/** The most output rows a thinQuadRows tile has (its sums: 4 vec4 a row, private to the invocation). */
const QUAD_ROWS_MAX_ROWS = 32;

/**
 * The one-channel stride-1 input gradient as a forward over gy (g: asForwardOfGradient's geometry) through thinQuadRows: tiles
 * of up to QUAD_ROWS_MAX_ROWS output rows (split evenly: conv1's 128 into 4 of 32) x 16 columns, gy's rows as aligned quads
 * where they are whole quads (X_QUADS, INPUT_SHIFT its first column's place in a quad); workgroups of 64, of 8 under 1024
 * tiles (lavapipe runs a workgroup on one thread); workgroup y the gx channel; float32 stores.
 * conv1 (96→1 5×5 pad 2 on 128², N16): 0.79-0.94 → 0.95-1.09× the matmul rate against rowsWindow side by side; 16-row tiles
 * ran at 0.86-0.95 of rowsWindow's time, 32-row ones at 0.71-0.79 (bench/RESULTS.md, 2026-12-05 conv1g).
 */
function launchQuadRowsChunk(gy: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType): void {
  const rows = Math.ceil(g.OH / Math.ceil(g.OH / QUAD_ROWS_MAX_ROWS));
  const tiles = g.N * Math.ceil(g.OH / rows) * (g.OW / 16);
  const wg = tiles < 1024 ? 8 : 64;
  const quads = g.W % 4 === 0;
  const constants = { WG: wg, TILE_ROWS: rows, KERNEL_W: g.KW, X_QUADS: quads ? 1 : 0, INPUT_SHIFT: (((-g.PW) % 4) + 4) % 4 };
  const k = kernel('conv_transpose2d_quad_rows', { name: 'conv_transpose2d.thinQuadRows', entryPoint: 'thinQuadRows', constants, operands });
  gpu().dispatch(k, [gy, gy, weight, bias ?? gpu().placeholder, gx], params(g, bias !== undefined), [Math.ceil(tiles / wg), g.Cout]);
}

/** A stride-1 conv's input gradient as the geometry of a forward conv over gy (rows: the input channels). */
function asForwardOfGradient(g: ConvGeometry): ConvGeometry {
  return {
    N: g.N, Cin: g.Cout, H: g.OH, W: g.OW, Cout: g.Cin, OH: g.H, OW: g.W, KH: g.KH, KW: g.KW, SH: 1, SW: 1,
    PH: g.DH * (g.KH - 1) - g.PH, PW: g.DW * (g.KW - 1) - g.PW, DH: g.DH, DW: g.DW,
  };
}


/**
 * A 1×1 conv at stride 1 without padding: per image, a GEMM between the weights [Cout, Cin] and the planes [Cin, H·W].
 * The output plane must be the input's: a transposed conv's output padding makes its conv geometry's H·W larger than
 * OH·OW (convTranspose2d 1×1, dilation 2, outputPadding 1), which the GEMM would read as one plane size.
 */
function isPointwise(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0 && g.OH === g.H && g.OW === g.W;
}

/**
 * Whether a pass of a 1×1 conv whose variant is `chosen` runs as a batched GEMM through the matmul
 * launcher: under the packed variant with convPointwise 'gemm' (or 'subgroupGemm' where subgroups are 8 wide). The launcher picks the matmul kernel
 * (the policy's matmul choice), splits what exceeds a binding, and reads f16 operands as the conv
 * kernels do (f32 accumulation, f32 output).
 */
function pointwiseGemm(g: ConvGeometry, chosen: ConvVariant): boolean {
  // One output channel keeps the Cout = 1 kernels where they run (a GEMM would fill 1 of its 16 rows).
  const choice = gpu().policy.get('convPointwise');
  const gemm = choice === 'gemm' || (choice === 'subgroupGemm' && subgroupMatmulRuns());
  return chosen === 'packed' && isPointwise(g) && gemm && !singleChannelKernels(g);
}

/** The weights [Cout, Cin] as the GEMM's A: W (rows: output channels) or, transposed, Wᵀ (rows: input channels). */
function weightOperand(weight: GPUBuffer, g: ConvGeometry, transposed: boolean, operands: OperandType): MatrixOperand {
  return { buffer: weight, batchStride: 0, rowStride: transposed ? 1 : g.Cin, colStride: transposed ? g.Cin : 1, type: operands };
}

/** Planes [N, channels, H·W] as the GEMM's B, one [channels × H·W] matrix per image (or its transpose: [H·W × channels]). */
function planesOperand(buffer: GPUBuffer, channels: number, plane: number, transposed: boolean, operands: OperandType, firstImage = 0): MatrixOperand {
  return { buffer, batchStride: channels * plane, rowStride: transposed ? 1 : plane, colStride: transposed ? plane : 1, offset: firstImage * channels * plane, type: operands };
}

/**
 * Planes from which pointwiseForwardLayout 'fitted' runs the forward as xᵀ·Wᵀ: W·x's lanes store their 16 rows a plane
 * apart, which cost LightCNN-9's group1 (4096 pixels, K = 48) up to a fifth of its forward; on its 16² planes W·x was as fast
 * or faster (bench/RESULTS.md, short-K section).
 */
const PIXEL_ROWS_MIN_PLANE = 1024;

/** Whether a 1×1 forward tries the GEMM with the pixels as rows (pointwiseForwardLayout). */
function pixelRowsForward(g: ConvGeometry): boolean {
  const layout = gpu().policy.get('pointwiseForwardLayout');
  return layout === 'pixelRows' || (layout === 'fitted' && g.H * g.W >= PIXEL_ROWS_MIN_PLANE);
}

/**
 * y[n] = W · x[n] + bias (one per output channel: along C's rows), or as y[n]ᵀ = x[n]ᵀ · Wᵀ stored transposed
 * (matmulColumnsOut) where pixelRowsForward and that launch run.
 */
function pointwiseForwardGemm(x: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, operands: OperandType, output: OperandType): GPUBuffer {
  const plane = g.H * g.W;
  if (pixelRowsForward(g)) {
    const y = matmulColumnsOut(planesOperand(x, g.Cin, plane, true, operands), weightOperand(weight, g, true, operands), g.N, plane, g.Cout, g.Cin, bias, 'cols', output);
    if (y) return y;
  }
  return matmul(weightOperand(weight, g, false, operands), planesOperand(x, g.Cin, plane, false, operands), g.N, g.Cout, plane, g.Cin, bias, 'v', 'none', 'rows', output);
}

/** gx[n] = Wᵀ · gy[n] + bias (one per input channel). */
function pointwiseInputGradGemm(gy: GPUBuffer, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, operands: OperandType, output: OperandType): GPUBuffer {
  const plane = g.H * g.W;
  return matmul(weightOperand(weight, g, true, operands), planesOperand(gy, g.Cout, plane, false, operands), g.N, g.Cin, plane, g.Cout, bias, 'v', 'none', 'rows', output);
}

/**
 * Whether the weight gradient's GEMMs run transposed, gWᵀ = Σₙ x[n] · gy[n]ᵀ (rows the input channels, columns the output
 * channels), under pointwiseWeightGradLayout 'fitted' where the subgroup matmul pads less that way (16-row blocks,
 * 32-column subgroups): LightCNN group1's 48 input channels fill 1.5 column subgroups but 3 row blocks.
 */
function weightGradTransposed(g: ConvGeometry): boolean {
  if (gpu().policy.get('pointwiseWeightGradLayout') !== 'fitted' || gpu().policy.get('matmul') !== 'subgroup' || !subgroupMatmulRuns()) return false;
  const padded = (rows: number, columns: number) => Math.ceil(rows / 16) * 16 * Math.ceil(columns / 32) * 32;
  return padded(g.Cin, g.Cout) < padded(g.Cout, g.Cin);
}

/**
 * gW = Σₙ gy[n] · x[n]ᵀ (or its transpose, copied back: weightGradTransposed): one GEMM per image (K = H·W; the images'
 * K runs are not one stride apart), their [Cout, Cin] products summed by reduceAxis, in runs of images whose products
 * fit one binding.
 */
function pointwiseWeightGradGemm(x: GPUBuffer, gy: GPUBuffer, g: ConvGeometry, operands: OperandType): GPUBuffer {
  const plane = g.H * g.W;
  const count = g.Cout * g.Cin;
  const transposed = weightGradTransposed(g);
  let gw: GPUBuffer | undefined;
  for (const chunk of batchChunks(g.N, [count])) {
    const products = transposed
      ? matmul(planesOperand(x, g.Cin, plane, false, operands, chunk.start), planesOperand(gy, g.Cout, plane, true, operands, chunk.start), chunk.count, g.Cin, g.Cout, plane)
      : matmul(planesOperand(gy, g.Cout, plane, false, operands, chunk.start), planesOperand(x, g.Cin, plane, true, operands, chunk.start), chunk.count, g.Cout, g.Cin, plane);
    const part = chunk.count === 1 ? products : reduceAxis('sum', products, 1, chunk.count, count);
    if (part !== products) gpu().pool.release(products);
    if (!gw) {
      gw = part;
    } else {
      accumulate(gw, part, count);
      gpu().pool.release(part);
    }
  }
  if (!transposed) return gw!;
  const weightGrad = alloc(count);
  stridedCopy([g.Cout, g.Cin], { buffer: gw!, offset: 0, strides: [1, g.Cout] }, { buffer: weightGrad, offset: 0, strides: [g.Cin, 1] });
  gpu().pool.release(gw!);
  return weightGrad;
}

/**
 * The weights of a transposed conv at stride > 1 (dilation 1) packed phase by phase for
 * conv_transpose2d_phase.wgsl (rows: the input channels; K = Cout·KH·KW over all phases), in 16-row
 * blocks for its subgroup form where more than 8 input channels fill them.
 */
function packPhaseWeights(weight: GPUBuffer, g: ConvGeometry, operands: OperandType): PackedWeights {
  const reader: PackedReader = g.Cin > 8 && subgroupKernels() ? 'shuffle' : 'tiled';
  const rowsPerInvocation = reader === 'shuffle' ? subgroupRowsFor(g.Cin) : packedRowsFor(g.Cin);
  const width = Math.ceil(g.Cin / rowsPerInvocation) * (rowsPerInvocation / 4);
  const K = g.Cout * g.KH * g.KW;
  const buffer = alloc(K * width * 4);
  const packParams = new Params().u32(g.Cin, g.Cout, g.KH, g.KW, g.SH, g.SW, width, 0);
  gpu().dispatch(kernel('conv_pack_phase_weights', { name: 'conv_pack_phase_weights', entryPoint: 'pack', operands }), [weight, buffer], packParams.done(), grid1d(K * width));
  return { buffer, width, rowsPerInvocation, reader };
}

/**
 * The transposed conv at stride > 1 by phases (conv_transpose2d_phase.wgsl): one launch, workgroup z
 * the phase, x sized for the largest phase (ceil(H / SH) x ceil(W / SW) pixels per image).
 */
function launchPhaseChunk(gy: Binding, packed: PackedWeights, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType, stores: OperandType): void {
  const rows = packed.rowsPerInvocation;
  const pixelBlocks = Math.ceil((g.N * Math.ceil(g.H / g.SH) * Math.ceil(g.W / g.SW)) / 4);
  const subgroup = packed.reader === 'shuffle';
  // The subgroup kernel's lanes must share their rows: whole subgroups of 8 along x.
  const shape = packedTileShape(Math.ceil(g.Cin / rows), subgroup ? Math.max(pixelBlocks, 16) : pixelBlocks);
  const k = subgroup
    ? kernel('conv_transpose2d_phase_subgroup', { name: 'conv_transpose2d.phaseSubgroup', entryPoint: 'phaseSubgroup', constants: { ...shape.constants, ROWS: rows }, operands, stores })
    : kernel('conv_transpose2d_phase', { name: 'conv_transpose2d.phaseTiled', entryPoint: 'phaseTiled', constants: { ...shape.constants, ROWS: rows }, operands, stores });
  const phaseParams = new Params()
    .u32(g.N, g.Cin, g.H, g.W, g.Cout, g.OH, g.OW, bias ? 1 : 0, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, packed.width, 0)
    .done();
  gpu().dispatch(k, [gy, packed.buffer, bias ?? gpu().placeholder, gx], phaseParams, [...shape.workgroups, g.SH * g.SW]);
}

function launchTransposeChunk(chosen: ConvVariant, gy: Binding, weight: GPUBuffer, bias: GPUBuffer | undefined, g: ConvGeometry, gx: Binding, operands: OperandType, stores: OperandType): void {
  // 'packed' at stride > 1 with dilation > 1 falls back to registerTiled.
  const variant = chosen === 'packed' ? 'registerTiled' : chosen;
  const shape = registerTileShape(g.Cin, g.N * g.H * g.W);
  const k = kernel('conv_transpose2d', { name: `conv_transpose2d.${variant}`, entryPoint: variant, constants: variant === 'registerTiled' ? shape.constants : undefined, operands, stores });
  const workgroups: [number, number?] =
    variant === 'direct' ? grid1d(g.N * g.Cin * g.H * g.W) : variant === 'registerTiled' ? shape.workgroups : workgroupTileGrid(g.Cin, g.N * g.H * g.W);
  gpu().dispatch(k, [gy, weight, bias ?? gpu().placeholder, gx], params(g, bias !== undefined), workgroups);
}

/** How many K slices the weight gradient is split into: enough workgroups to fill the device. */
function weightGradSplits(g: ConvGeometry, [x, y]: [number, number]): number {
  const tiles = x * y;
  const pixels = g.N * g.OH * g.OW;
  const targetWorkgroups = gpu().policy.get('weightGradWorkgroups');
  const wanted = Math.ceil(targetWorkgroups / tiles);
  const maxSplits = Math.max(1, Math.floor(pixels / 512));
  return Math.max(1, Math.min(wanted, maxSplits, 64));
}

/** gw [Cout, Cin, KH, KW] = Σ over pixels of gy ⊗ im2col(x): x and gy of type `operands`, gw f32. */
export function conv2dWeightGrad(x: GPUBuffer, gy: GPUBuffer, whole: ConvGeometry, operands: OperandType = 'f32'): GPUBuffer {
  const xPerImage = whole.Cin * whole.H * whole.W;
  const gyPerImage = whole.Cout * whole.OH * whole.OW;
  const chosen = operands === 'f16' ? f16Variant('convWeightGrad', 'conv2dWeightGrad') : gpu().policy.choose('convWeightGrad', () => shapeClass('weight grad', whole, false), TUNED_VARIANTS, scratchRun(() => [xPerImage * whole.N, gyPerImage * whole.N], ([sx, sgy]) => [conv2dWeightGrad(sx!, sgy!, whole)]));
  if (pointwiseGemm(whole, chosen)) return pointwiseWeightGradGemm(x, gy, whole, operands);
  let gw: GPUBuffer | undefined;
  const bytes = bytesPerElement(operands);
  for (const chunk of batchChunks(whole.N, [xPerImage, gyPerImage], [bytes, bytes])) {
    const g = { ...whole, N: chunk.count };
    const part = weightGradChunk(chosen, images(x, chunk, whole.N, xPerImage, bytes), images(gy, chunk, whole.N, gyPerImage, bytes), g, operands);
    if (!gw) {
      gw = part;
    } else {
      accumulate(gw, part, whole.Cout * whole.Cin * whole.KH * whole.KW);
      gpu().pool.release(part);
    }
  }
  return gw!;
}

function weightGradChunk(chosen: ConvVariant, x: Binding, gy: Binding, g: ConvGeometry, operands: OperandType): GPUBuffer {
  const count = g.Cout * g.Cin * g.KH * g.KW;
  // One output channel: the Cout = 1 kernel before any other (theirs compute 4-16 rows per invocation).
  if (chosen === 'packed' && singleChannelKernels(g) && g.KW <= 8) return weightGradSingleChunk(x, gy, g, operands);
  let vec4Entry: Vec4Geometry | 'threeByThree' | undefined = chosen === 'packed' ? vec4EntryPoint(g) : undefined;
  // A 3-tall kernel: one ci's whole 3 x 3 per invocation shares each quad's gy loads over 3 kernel rows.
  if (vec4Entry === 'threeWide' && g.KH === 3) vec4Entry = 'threeByThree';
  if (vec4Entry === 'fiveWide' && g.KH === 5 && subgroupKernels() && gpu().policy.get('convFiveByFiveWeightGrad') === 'subgroup') return weightGradFiveByFiveChunk(x, gy, g, operands);
  if (vec4Entry) return weightGradVec4Chunk(x, gy, g, vec4Entry, operands);
  const subgroupEntry = chosen === 'packed' ? weightGradSubgroupEntry(g) : undefined;
  if (subgroupEntry) return weightGradPackedSubgroupChunk(x, gy, g, subgroupEntry, operands);
  // 'packed' where conv2d_weight_grad_vec4.wgsl does not apply: registerTiled.
  const variant = chosen === 'packed' ? 'registerTiled' : chosen;
  const shape = registerTileShape(g.Cout, g.Cin * g.KH * g.KW);
  const k = kernel('conv2d_weight_grad', { name: `conv2d_weight_grad.${variant}`, entryPoint: variant, constants: variant === 'registerTiled' ? shape.constants : undefined, operands });
  if (variant === 'direct') {
    const gw = alloc(count);
    gpu().dispatch(k, [x, gy, gw], params(g, false), grid1d(count));
    return gw;
  }
  const pixels = g.N * g.OH * g.OW;
  const tiles = variant === 'registerTiled' ? shape.workgroups : workgroupTileGrid(g.Cout, g.Cin * g.KH * g.KW);
  const splits = weightGradSplits(g, tiles);
  // workgroupTiled walks its slice in steps of 16 pixels: whole steps waste no staged rows.
  const kChunk = variant === 'registerTiled' ? Math.ceil(pixels / splits) : Math.ceil(pixels / splits / 16) * 16;
  return splitKWeightGrad(k, x, gy, g, tiles, kChunk, Math.ceil(pixels / kChunk));
}

/**
 * The vec4 weight gradient's workgroup over invocation blocks (columns along x, 4 output channels
 * each along y). 'square': registerTileShape's 256 invocations. 'fitted': x spans the column blocks
 * (up to 64) and y the channel blocks (up to 256 invocations in all), each narrowed to split its
 * count evenly, so few invocations only repeat a clamped column or channel: square's 16 x 16 ran 288
 * useful invocations of 512 on group1's 1×1 (48 x 96) and 120 of 256 on conv1's 5×5 (5 rows of taps x 96).
 * Only pointwise and fiveWide take it (bench/RESULTS.md 2026-12-04 conv rows section).
 */
function weightGradTileShape(rowBlocks: number, columnBlocks: number, entryPoint: Vec4Geometry | 'threeByThree'): { constants: { WGX: number; WGY: number }; workgroups: [number, number] } {
  // The 3-wide kernels keep 'square': fitted ran group1's and group2's 3×3 weight gradient at 0.6x.
  const square = gpu().policy.get('weightGradTile') === 'square' || entryPoint === 'threeWide' || entryPoint === 'threeByThree';
  if (square) return registerTileShape(4 * rowBlocks, 4 * columnBlocks);
  const even = (count: number, most: number) => Math.ceil(count / Math.ceil(count / most));
  const wgx = even(columnBlocks, 64);
  const wgy = even(rowBlocks, Math.max(1, Math.floor(256 / wgx)));
  return { constants: { WGX: wgx, WGY: wgy }, workgroups: [Math.ceil(columnBlocks / wgx), Math.ceil(rowBlocks / wgy)] };
}

type WeightGradSubgroupEntry = 'windowSubgroup' | 'narrowSubgroup' | 'packedSubgroup';

/**
 * The packed weight gradient's conv2d_weight_grad_packed_subgroup.wgsl kernel where no vec4 kernel fits,
 * where subgroupKernels() (the policy's convSubgroups, subgroups of exactly 8; else registerTiled): windowSubgroup (more than 8 out channels, kernel width
 * 3 or more, width stride 1-4, no width dilation), packedSubgroup (more than 8 out channels otherwise),
 * narrowSubgroup (1-8 out channels, width stride 1-4, no width dilation, as FaPE-GAN's 64→1 and 512→1
 * output layers). packedSubgroup vs windowSubgroup, batch 4, 32² 4 rounds: 1×1 s2 64→128 10.91 vs 4.00,
 * 2×2 s2 32→64 12.64 vs 10.41, 3×1 (KW 1) 32→64 9.28 vs 3.79, 5×5 s2 16→32 11.42 vs 11.47 (both 1.9-5.7×
 * registerTiled there).
 * lavapipe (2 shared cores, load ~6), FaPE-GAN's layers at 128², registerTiled vs the subgroup kernel side by
 * side (bench/conv-weight-grad.ts), GFLOP/s, batch 16 best of 2 (batch 4 best of 3):
 *   windowSubgroup: G 7×7 2→64 134² p0 2.14 → 14.30 (2.57 → 17.51), G 3×3 s2 64→128 2.85 → 11.79
 *   (2.90 → 11.23), 128→256 64² 2.95 → 11.40 (2.80 → 12.47), D 4×4 s2 2→64 1.45 → 18.82 (1.39 → 21.27),
 *   64→128 64² 2.90 → 18.45 (2.81 → 15.73), 128→256 32² 2.62 → 15.12 (2.84 → 17.39), D 4×4 s1 p1
 *   256→512 16² 2.63 → 16.63 (2.77 → 15.38);
 *   narrowSubgroup: G 7×7 64→1 134² p0 0.45 → 1.60 (0.53 → 2.06), D 4×4 s1 p1 512→1 15² 0.63 → 1.57
 *   (0.80 → 1.93);
 *   packedSubgroup (the first kernel, now only for 1-2 wide kernels, width stride > 4 or width dilation) ran the
 *   Cout > 8 rows at 8.7-14.4 (batch 16) and windowSubgroup beat it 1.11-2.56× side by side (batch 8).
 * Results within 2e-5 of registerTiled's (relative to the largest).
 */
function weightGradSubgroupEntry(g: ConvGeometry): WeightGradSubgroupEntry | undefined {
  if (!subgroupKernels()) return undefined;
  const window = g.SW <= 4 && g.DW === 1;
  // 1- and 2-wide kernels would leave 3 or 2 of a window lane's 4 tap slots empty.
  if (g.Cout > 8) return window && g.KW >= 3 ? 'windowSubgroup' : 'packedSubgroup';
  return window ? 'narrowSubgroup' : undefined;
}

/**
 * One subgroup weight-gradient launch: per invocation 16 rows (windowSubgroup: the policy's windowWeightGradRows, 16 or 32,
 * where more than 16 out channels fill them and output rows hold whole quads; 4 for narrowSubgroup) x 4 columns
 * (packedSubgroup: 4 consecutive (ci, i, j); the others: 4 neighbouring taps of one (ci, i), so KW
 * rounds up to whole blocks of 4); WGX (whole subgroups, up to 64) fitted to the column blocks and WGY
 * to the row blocks, 256 invocations at most. kChunk counts quads of 4 pixels: per image for
 * packedSubgroup, per output row for the others. GY is bound twice: as f32 and as vec4.
 */
function weightGradPackedSubgroupChunk(x: Binding, gy: Binding, g: ConvGeometry, entryPoint: WeightGradSubgroupEntry, operands: OperandType): GPUBuffer {
  const taps = entryPoint === 'packedSubgroup';
  const columnBlocks = taps ? Math.ceil((g.Cin * g.KH * g.KW) / 4) : g.Cin * g.KH * Math.ceil(g.KW / 4);
  // A single out channel runs narrowSubgroup with 1 row, not 4 copies of it: G 7×7 64→1 134² 1.26-1.30× (batch 4, 8).
  const narrowRows = g.Cout === 1 ? 1 : 4;
  // windowSubgroup's rows: two blocks of 16 on one X window where the policy asks, more than 16 out channels fill them and
  // output rows hold whole quads (D-4's 15-wide rows, GY loaded per pixel, ran 0.86-0.97x 16 rows with 32).
  const windowRows = entryPoint === 'windowSubgroup' && g.Cout > 16 && g.OW % 4 === 0 ? gpu().policy.get('windowWeightGradRows') : 16;
  const rowBlocks = Math.ceil(g.Cout / (entryPoint === 'narrowSubgroup' ? narrowRows : windowRows));
  const wgx = Math.min(64, Math.ceil(columnBlocks / 8) * 8);
  let wgy = 1;
  while (entryPoint !== 'narrowSubgroup' && wgy * 2 <= rowBlocks && wgx * wgy * 2 <= 256) wgy *= 2;
  const tiles: [number, number] = [Math.ceil(columnBlocks / wgx), Math.ceil(rowBlocks / wgy)];
  const constants: Record<string, number> = entryPoint === 'packedSubgroup' ? { WGX: wgx, WGY: wgy } : entryPoint === 'windowSubgroup' ? { WGX: wgx, WGY: wgy, SW: g.SW, WINDOW_TAPS: g.KW === 3 && gpu().policy.get('windowWeightGradTaps') === 'fitted' ? 3 : 4, WINDOW_ROWS: windowRows } : { WGX: wgx, SW: g.SW, NARROW_ROWS: narrowRows };
  const k = kernel('conv2d_weight_grad_packed_subgroup', { name: `conv2d_weight_grad.${entryPoint}`, entryPoint, constants, operands });
  const quads = taps ? g.N * Math.ceil((g.OH * g.OW) / 4) : g.N * g.OH * Math.ceil(g.OW / 4);
  const kChunk = Math.ceil(quads / weightGradSplits(g, tiles));
  const slices = Math.ceil(quads / kChunk);
  const count = g.Cout * g.Cin * g.KH * g.KW;
  const partial = alloc(slices * count);
  gpu().dispatch(k, [x, gy, gy, partial], params(g, false, kChunk), [tiles[0], tiles[1], slices]);
  if (slices === 1) return partial;
  const gw = reduceAxis('sum', partial, 1, slices, count);
  gpu().pool.release(partial);
  return gw;
}

/**
 * The Cout = 1 weight gradient (conv2d_weight_grad_single.wgsl): one invocation per (ci, i) row of
 * taps, the output rows split into slices so that about SINGLE_WEIGHT_GRAD_INVOCATIONS run (their
 * partial sums within one binding), added by reduceAxis. Under convSingleChannel 'shared' where subgroups
 * are 8 wide, conv2d_weight_grad_single_subgroup.wgsl: GY shared by the lanes, and at height stride and
 * dilation 1 and KH <= 8 one invocation per ci over slices of input rows (weightGradSingleRowsSubgroup: each
 * X row loaded once for all KH tap rows; 1.4-2.1x weightGradSingleSubgroup per CPU second on FaPE-GAN's
 * output layers, lavapipe, bench/RESULTS.md 2026-12-05); on small planes under convSingleWeightGrad 'planeQuads' or
 * 'planes', weightGradSinglePlanes (below).
 */
function weightGradSingleChunk(x: Binding, gy: Binding, g: ConvGeometry, operands: OperandType): GPUBuffer {
  const shared = subgroupKernels() && gpu().policy.get('convSingleChannel') === 'shared';
  if (shared && gpu().policy.get('convSingleWeightGrad') !== 'rows' && singlePlanesFit(g)) return weightGradSinglePlanesChunk(x, gy, g, operands);
  // By input rows (weightGradSingleRowsSubgroup): one invocation per ci, slices of input rows.
  const byInputRows = shared && g.SH === 1 && g.DH === 1 && g.KH <= 8;
  const columns = byInputRows ? g.Cin : g.Cin * g.KH;
  // By input rows, workgroups no wider than the channels (whole subgroups of 8): G's demo layer has 8.
  const wg = byInputRows ? Math.min(64, Math.ceil(columns / 8) * 8) : 64;
  const rows = byInputRows ? g.N * g.H : g.N * g.OH;
  const kChunk = singleWeightGradSlice(rows, columns, g);
  const constants = { WG: wg, WIDE: g.KW > 4 ? 1 : 0 };
  const k = byInputRows
    ? kernel('conv2d_weight_grad_single_subgroup', { name: 'conv2d_weight_grad.singleRowsSubgroup', entryPoint: 'weightGradSingleRowsSubgroup', constants: { ...constants, KERNEL_H: g.KH, WIDE_TAPS_8: g.KW === 8 ? 1 : 0 }, operands })
    : shared
      ? kernel('conv2d_weight_grad_single_subgroup', { name: 'conv2d_weight_grad.singleSubgroup', entryPoint: 'weightGradSingleSubgroup', constants, operands })
      : kernel('conv2d_weight_grad_single', { name: 'conv2d_weight_grad.single', entryPoint: 'weightGradSingle', constants, operands });
  return splitKWeightGrad(k, x, gy, g, [Math.ceil(columns / wg), 1], kChunk, Math.ceil(rows / kChunk));
}

/** Invocations the Cout = 1 weight gradient aims for: each sums whole output rows of one (ci, i). */
const SINGLE_WEIGHT_GRAD_INVOCATIONS = 4096;

/**
 * The Cout = 1 weight gradient's slice of its `total` rows (or images) per split-K slice: enough slices for about
 * SINGLE_WEIGHT_GRAD_INVOCATIONS over `columns` invocations a slice, no more than the rows, partial sums within one binding.
 */
function singleWeightGradSlice(total: number, columns: number, g: ConvGeometry): number {
  const fitting = Math.floor(gpu().maxBindingBytes / (4 * g.Cin * g.KH * g.KW));
  return Math.ceil(total / Math.max(1, Math.min(total, fitting, Math.ceil(SINGLE_WEIGHT_GRAD_INVOCATIONS / columns))));
}

/**
 * Where conv2d_weight_grad_single_planes.wgsl's registers hold the geometry: stride and dilation 1, input and output rows at
 * most 16 wide (a row of X and two octets of GY per lane), at most 16 taps in all (sums) and 16 tap rows.
 */
function singlePlanesFit(g: ConvGeometry): boolean {
  return g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 && g.W <= 16 && g.OW <= 16 && g.KH * g.KW <= 16;
}

/**
 * weightGradSinglePlanes: one invocation per input channel (workgroups of whole subgroups, up to 64), wid.z the slice of
 * images (about SINGLE_WEIGHT_GRAD_INVOCATIONS invocations, partial sums within one binding), added by reduceAxis. The row
 * geometry is the pipeline's (override constants), so each (KH, KW, W, OW, PW) builds its own pipeline. Under
 * convSingleWeightGrad 'planeQuads', where the run's X holds whole vec4s, each input row is read as the vec4s that cover it
 * (QUAD_LOADS; X bound again as vec4 at binding 4): the subgroups then take channels 4 apart, in workgroups of whole
 * blocks of 32 channels.
 * D-out (512→1 4×4 pad 1 on 15², N16): 'planes' 2.2-3.3x weightGradSingleRowsSubgroup per CPU second, 'planeQuads' 1.2-1.3x
 * 'planes' (bench/RESULTS.md 2026-12-05 wgrad1).
 */
function weightGradSinglePlanesChunk(x: Binding, gy: Binding, g: ConvGeometry, operands: OperandType): GPUBuffer {
  const quads = gpu().policy.get('convSingleWeightGrad') === 'planeQuads' && (g.N * g.Cin * g.H * g.W) % 4 === 0;
  const wg = Math.min(64, Math.ceil(g.Cin / (quads ? 32 : 8)) * (quads ? 32 : 8));
  const perSlice = singleWeightGradSlice(g.N, g.Cin, g);
  const constants = { WG: wg, KERNEL_H: g.KH, KERNEL_W: g.KW, IN_W: g.W, OUT_W: g.OW, PAD_W: g.PW, QUAD_LOADS: quads ? 1 : 0 };
  const name = quads ? 'conv2d_weight_grad.singlePlaneQuads' : 'conv2d_weight_grad.singlePlanes';
  const k = kernel('conv2d_weight_grad_single_planes', { name, entryPoint: 'weightGradSinglePlanes', constants, operands });
  return splitKWeightGrad(k, x, gy, g, [Math.ceil(g.Cin / wg), 1], perSlice, Math.ceil(g.N / perSlice), [x]);
}

/** The vec4 weight gradient: K walked in quads of 4 pixels, so kChunk counts quads. */
function weightGradVec4Chunk(x: Binding, gy: Binding, g: ConvGeometry, entryPoint: Vec4Geometry | 'threeByThree', operands: OperandType): GPUBuffer {
  if ((entryPoint === 'pointwise' || entryPoint === 'threeByThree') && subgroupKernels()) return weightGradSubgroupChunk(x, gy, g, entryPoint, operands);
  // Columns per invocation: pointwise takes 4 input channels, threeWide one (ci, i) row of 3 taps,
  // fiveWide one of 5, threeByThree one ci's 3 x 3; output channels: 4 (pointwise: the policy's rows).
  const columnBlocks = entryPoint === 'pointwise' ? Math.ceil(g.Cin / 4) : entryPoint === 'threeByThree' ? g.Cin : g.Cin * g.KH;
  const rows = entryPoint === 'pointwise' ? gpu().policy.get('pointwiseWeightGradRows') : 4;
  const shape = weightGradTileShape(Math.ceil(g.Cout / rows), columnBlocks, entryPoint);
  const k = kernel('conv2d_weight_grad_vec4', { name: `conv2d_weight_grad.${entryPoint}`, entryPoint, constants: { ...shape.constants, ...(entryPoint === 'pointwise' ? { ROWS: rows } : {}) }, operands });
  const quads = (g.N * g.OH * g.OW) / 4;
  const kChunk = Math.ceil(quads / weightGradSplits(g, shape.workgroups));
  return splitKWeightGrad(k, x, gy, g, shape.workgroups, kChunk, Math.ceil(quads / kChunk));
}

/**
 * conv2d_weight_grad_subgroup.wgsl's kernels: 8 output channels per workgroup row (wid.y), the
 * input channels (pointwise: blocks of 4) across whole subgroups of 8 (WGX a multiple of 8, up to 64).
 */
function weightGradSubgroupChunk(x: Binding, gy: Binding, g: ConvGeometry, entryPoint: 'pointwise' | 'threeByThree', operands: OperandType): GPUBuffer {
  const columnBlocks = entryPoint === 'pointwise' ? Math.ceil(g.Cin / 4) : g.Cin;
  const groups = Math.ceil(columnBlocks / 64);
  const wgx = Math.ceil(columnBlocks / groups / 8) * 8;
  const workgroups: [number, number] = [groups, Math.ceil(g.Cout / 8)];
  const k = kernel('conv2d_weight_grad_subgroup', { name: `conv2d_weight_grad.${entryPoint}Subgroup`, entryPoint, constants: { WGX: wgx, WGY: 1 }, operands });
  const quads = (g.N * g.OH * g.OW) / 4;
  const kChunk = Math.ceil(quads / weightGradSplits(g, workgroups));
  return splitKWeightGrad(k, x, gy, g, workgroups, kChunk, Math.ceil(quads / kChunk));
}

/**
 * conv2d_weight_grad_subgroup.wgsl's fiveByFive (LightCNN's conv1): one subgroup of 8 per workgroup, 32 output channels
 * (wid.x) x one input channel's 25 taps (wid.y), the slices (wid.z) of output rows added by reduceAxis.
 */
function weightGradFiveByFiveChunk(x: Binding, gy: Binding, g: ConvGeometry, operands: OperandType): GPUBuffer {
  const workgroups: [number, number] = [Math.ceil(g.Cout / 32), g.Cin];
  const k = kernel('conv2d_weight_grad_subgroup', { name: 'conv2d_weight_grad.fiveByFiveSubgroup', entryPoint: 'fiveByFive', operands });
  const rows = g.N * g.OH;
  const kChunk = Math.ceil(rows / weightGradSplits(g, workgroups));
  return splitKWeightGrad(k, x, gy, g, workgroups, kChunk, Math.ceil(rows / kChunk));
}

/** One split-K launch (`slices` workgroups deep, kChunk of K each; moreBindings after the partial sums) and the sum of its slices. */
function splitKWeightGrad(k: Kernel, x: Binding, gy: Binding, g: ConvGeometry, tiles: [number, number], kChunk: number, slices: number, moreBindings: Binding[] = []): GPUBuffer {
  const count = g.Cout * g.Cin * g.KH * g.KW;
  const partial = alloc(slices * count);
  gpu().dispatch(k, [x, gy, partial, ...moreBindings], params(g, false, kChunk), [tiles[0], tiles[1], slices]);
  if (slices === 1) return partial;
  const gw = reduceAxis('sum', partial, 1, slices, count);
  gpu().pool.release(partial);
  return gw;
}
