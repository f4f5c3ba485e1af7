// The kernel policy: which variant (and split) each GEMM-shaped kernel uses on this adapter. One
// object on the device context (Gpu.policy), defaulted per adapter class and overridable with
// init({ kernelPolicy }) or gpu().policy.set(...), so tests and benchmarks force a variant without
// module globals, and a kernel file never asks "is this a software adapter?" itself.
import type { AdapterDescription } from './device.js';
import { Autotuner, type TuningRun } from './autotune.js';

export type AdapterClass = 'software' | 'nvidia' | 'amd' | 'intel' | 'apple' | 'other';

/**
 * direct: one invocation per output, plain loops (the GPU test oracle). registerTiled: 4×4 register
 * tiles, no workgroup memory (software Vulkan: barriers cost more than they save there).
 * workgroupTiled: operands staged in workgroup memory (hardware GPUs). packed (software Vulkan, where
 * each per-lane load is the cost): the weights packed once per launch so 4 GEMM rows load as one
 * vec4, 8 rows x 4 pixels per invocation, X and gy read as vec4 along the pixels for 1×1 and 3-wide
 * stride-1 convs; where subgroups are exactly 8 wide, other geometries with more than 8 rows and at
 * least 2 channels take 16 rows with the weights shared by subgroup shuffles (2.2-5.3× packedTiled on
 * FaPE-GAN's stride-2 and 4×4 convs on lavapipe, batch 2 and 16 side by side). The input gradient
 * takes it at stride 1, and at stride > 1 (dilation 1) runs by phases (conv_transpose2d_phase.wgsl;
 * conv_transpose2d_phase_subgroup.wgsl for more than 8 input channels on subgroups of 8: 5.5-12.3×
 * the gather kernel on FaPE-GAN's stride-2 layers at 128² images, batch 16, lavapipe,
 * bench/conv-stride2.ts); the weight gradient for the two vec4 geometries; registerTiled otherwise.
 */
export const CONV_FORWARD_VARIANTS = ['direct', 'registerTiled', 'workgroupTiled', 'packed'] as const;
export const CONV_GRAD_VARIANTS = ['direct', 'registerTiled', 'workgroupTiled', 'packed'] as const;
/**
 * The packed variant's kernels for 5-wide pad-2 stride-1 rows (conv1 5×5): dedicated (conv2d_vec4 fiveWidePair, weight
 * gradient fiveWide) or the generic ones (packedTiled, registerTiled).
 */
export const CONV_FIVE_WIDE = ['fiveWide', 'generic'] as const;
/**
 * shared: the packed variant's 1×1, 3-wide-pair and 5-wide forward (and stride-1 input gradient) and 1×1 and 3×3 weight gradients run
 * conv2d_subgroup.wgsl / conv2d_weight_grad_subgroup.wgsl, whose lanes share their weight (GY) loads by
 * subgroupBroadcast, where the device has 'subgroups' of exactly 8 lanes (subgroupsOfEight); off: never.
 */
export const CONV_SUBGROUPS = ['shared', 'off'] as const;
/**
 * Convs with one output channel (FaPE-GAN's output layers) under the packed variant, where the geometry allows (stride 1
 * and no dilation along the width; the weight gradient also KW <= 8; the input gradient stride 1):
 * dedicated: the Cout = 1 kernels — conv2d_single(_subgroup).wgsl single(Subgroup) forward, conv_transpose2d_single*.wgsl
 * input gradient, conv2d_weight_grad_single.wgsl weight gradient;
 * shared: the same, and where subgroups are 8 wide (subgroupKernels) more loads shared between lanes: the forward in
 * tiles of 4 output rows (conv2d_single_subgroup.wgsl rowsSubgroup; height stride and dilation 1, kernel at most 8 x 8)
 * and the weight gradient's GY loads (conv2d_weight_grad_single_subgroup.wgsl; walking input rows, each X row loaded once
 * for all tap rows, where the height stride and dilation are 1 and KH <= 8); on any adapter, a forward of that
 * geometry over fewer than 1024 tiles with at least 128 input channels (D's 4×4 512→1) splits its channels into
 * slices (conv2d_single_sliced.wgsl rowsSliced) — except where convSingleForward 'windowShared' or 'window' runs rowsWindow; the forward's and
 * the input gradient's row tiles: convSingleForward, convSingleInputGrad; the weight gradient on small planes:
 * convSingleWeightGrad;
 * generic: the packed kernels as for any Cout.
 */
export const CONV_SINGLE_CHANNEL = ['shared', 'dedicated', 'generic'] as const;
/**
 * The packed variant's 1×1, stride-1, unpadded convs (LightCNN's group 1×1 layers): gemm runs each pass as a batched GEMM
 * through the matmul launcher (src/kernels/matmul.ts, the policy's matmul choice) — forward y[n] = W · x[n] with the bias
 * along the rows, input gradient gx[n] = Wᵀ · gy[n], weight gradient Σₙ gy[n] · x[n]ᵀ — and the mfm forward as one
 * subgroup-matmul launch with the bias + max-feature-map (+ mask) epilogue (matmulMfm: where the matmul choice is subgroup,
 * subgroups are 8 wide and the operands read in place; the conv kernel elsewhere); conv: the conv kernels
 * (conv2d_subgroup.wgsl / conv2d_vec4.wgsl 'pointwise' and the pointwise weight gradients).
 */
/**
 * 1×1 convolutions: 'gemm' through the matmul launcher, 'conv' the conv kernels, 'subgroupGemm' the GEMM where the
 * subgroup matmul runs (subgroups of 8) and the conv kernels elsewhere.
 */
export const CONV_POINTWISE = ['gemm', 'subgroupGemm', 'conv'] as const;
/**
 * GEMM rows per invocation of conv2d_subgroup.wgsl's threeWidePair (3-wide pad-1 stride-1 rows under the packed variant with
 * subgroups shared: the LightCNN-9 3×3 forward and input gradient): 4, or 8 (two blocks of 4 rows on the same 4 loads of X and
 * one weight load: 2x the multiply-adds per load) where the packing holds more than 4 rows.
 */
export const CONV_THREE_WIDE_ROWS = [4, 8] as const;
/**
 * GEMM rows per invocation of the 16-row subgroup kernels (conv2d_packed_subgroup.wgsl: the forward and stride-1 input gradient
 * where no vec4 kernel fits, FaPE-GAN's stride-2, 4×4 and reflect-padded 3×3 convs; conv_transpose2d_phase_subgroup.wgsl: the
 * stride-2 input gradient) where there are more than 16 rows: 16, or 32 (twice the multiply-adds per X load).
 */
export const CONV_SUBGROUP_ROWS = [16, 32] as const;
/**
 * conv2d_packed_subgroup.wgsl (the forward and stride-1 input gradient of FaPE-GAN's 4×4, stride-2 and reflect-padded convs):
 * skip, a kernel row whose taps all land in the padding for the subgroup's 32 pixels is skipped (the border rows of a stride-1
 * input gradient, padded by KH - 1 - PH: D-4's 4×4 has 2); compute, every kernel row is multiplied through (zeros).
 */
export const CONV_SUBGROUP_PADDING_ROWS = ['skip', 'compute'] as const;
/**
 * The packed variant's input gradient at stride 2 (strides 1-2 per axis, at least one 2; dilation 1; at most 2 taps per phase: KH <= 2·SH, KW <= 2·SW; subgroups of 8) where
 * it has at most 2 channels (FaPE-GAN's D-1, 2→64 4×4): blocks runs conv_transpose2d_thin.wgsl (both channels of a block
 * of 4 x 4 phase pixels in every phase per invocation, each X load serving up to 2·KH·KW multiply-adds); phases the phase
 * kernels as for any channel count (phaseTiled: 4-row blocks, half of them zero rows).
 */
export const CONV_THIN_INPUT_GRAD = ['blocks', 'phases'] as const;
/**
 * conv_transpose2d_thin.wgsl's order of multiply-adds (its BY_BLOCK_ROWS): byBlockRow loads an input channel's 5 window rows
 * first and adds both row taps to each of the 32 vec4 sums at once (each sum loaded and stored once per channel: lavapipe
 * keeps them in memory); byWindowRow adds each window row to the sums it meets as it is loaded (twice per channel).
 */
export const THIN_BLOCKS_ORDER = ['byBlockRow', 'byWindowRow'] as const;
/**
 * The packed variant's forward with few input channels (at most 4; FaPE-GAN's G-in 2→64 7×7 and D-1 2→64 4×4 stride 2) where
 * packedSubgroup would run it, width stride 1-2, no width dilation, output rows of whole octets, subgroups of 8: window runs
 * conv2d_window_subgroup.wgsl (32 rows x 8 outputs of a row per invocation, a window of X slid along each row of taps: per tap
 * one weight quad per lane and about one X load for 256 multiply-adds); packed the channel-pair kernel (packedSubgroup).
 */
export const CONV_THIN_FORWARD = ['window', 'packed'] as const;
/**
 * The packed variant's forward of 5-wide pad-2 stride-1 rows (fiveWidePair's geometry) with few input channels (at most 4,
 * more than 16 filters, output rows of whole octets; subgroups of 8), LightCNN's conv1 1→96 5×5 and its mfm form: window
 * runs conv2d_window_subgroup.wgsl (32 rows x 8 outputs per invocation, 6400 multiply-adds per 256 outputs stored as
 * quads); pair conv2d_subgroup.wgsl's fiveWidePair (8 rows x 8 outputs, 1600 per 64 stored one at a time).
 */
export const CONV_FIVE_WIDE_FORWARD = ['window', 'pair'] as const;
/**
 * The packed variant's weight gradient of 5 x 5 pad-2 (width) stride-1 rows (conv2d_weight_grad_vec4.wgsl's fiveWide geometry
 * with KH 5: LightCNN's conv1) where subgroups are 8 wide: subgroup runs conv2d_weight_grad_subgroup.wgsl's fiveByFive (a
 * subgroup's lanes own 4 output channels each and share X's quads by shuffles: per pixel quad 5 loads for 400
 * multiply-adds); vec4 the fiveWide kernel (7 loads per 80).
 */
export const CONV_FIVE_BY_FIVE_WEIGHT_GRAD = ['subgroup', 'vec4'] as const;
/**
 * conv2d_window_subgroup.wgsl's order of multiply-adds (its ROW_TAPS): byRow adds a whole row of taps (5 at width stride 1, 4
 * at width stride 2) to each of its 256 sums at once, so each sum is loaded and stored once per row of taps (lavapipe keeps
 * them in memory); byTap one tap at a time (any geometry the kernel takes).
 */
export const WINDOW_TAP_ORDER = ['byRow', 'byTap'] as const;
/**
 * Outputs of a row per invocation in conv2d_window_subgroup.wgsl's 5-tap rows (its PIXEL_QUADS; windowTapOrder byRow, output
 * rows of whole 16s, float32 stores: LightCNN's conv1): 16 (512 sums, 64 invocations a workgroup), each lane's weight quad
 * per tap — a lane-varying load, which lavapipe runs lane by lane — serving twice the multiply-adds; or 8 (256 sums).
 */
export const WINDOW_ROW_PIXELS = [16, 8] as const;
/**
 * How conv2d_window_subgroup.wgsl keeps conv1's sums (one input channel, 5-wide rows of up to 5 taps at width stride 1) and
 * D-1's (4-wide rows of up to 4 taps at width stride 2 from up to 4 channels, 8 rows of taps in all), on output rows of whole
 * 16s with float32 stores (elsewhere rows): tiles, windowTapsSubgroup / windowStrideTwoTapsSubgroup — each block of 4 GEMM
 * rows x 4 outputs summed over every tap in registers and stored at once, the weight quads loaded once for up to 16 output
 * rows and the input rows slid along them; rows, windowSubgroup — an invocation's 256-512 sums in memory, updated once per row
 * of taps (windowRowPixels, windowTapOrder).
 */
export const WINDOW_SUMS = ['tiles', 'rows'] as const;
/**
 * The stride-1 input gradient into one channel (conv_transpose2d: gx of 1 channel, kernels up to 8 x 5, gx rows of whole 16s:
 * LightCNN's conv1) where convThinUnitStrideInputGrad runs rowsWindow: quads, conv_transpose2d_quad_rows.wgsl thinQuadRows —
 * each input row of gy as aligned vec4 loads (where gy's rows are whole quads), 32 output rows per invocation; window,
 * conv2d_single_subgroup.wgsl rowsWindow (16 rows, the row loaded one float at a time).
 */
export const THIN_INPUT_GRAD_ROWS = ['quads', 'window'] as const;
/** conv2d_window_subgroup.wgsl's epilogue (its QUAD_STORES): quads, a vec4 store per 4 pixels of a row; elements, one store per output. */
export const WINDOW_STORES = ['quads', 'elements'] as const;
/**
 * conv2d_window_subgroup.wgsl's loads of X in a row of 4 taps at width stride 2, padding 1 and rows of whole quads (its
 * X_QUADS: D-1's forward under windowTapOrder 'byRow'): quads, the 16 inputs between the window's two ends as 4 aligned vec4
 * loads (a load whose address differs per lane is a loop over the lanes on lavapipe, whatever its width); elements, all 18
 * one at a time.
 */
export const WINDOW_INPUT_LOADS = ['quads', 'elements'] as const;
/**
 * The Cout = 1 forward of rowsSubgroup's geometry (convSingleChannel 'shared', subgroups of 8; height stride and dilation 1,
 * kernel at most 8 x 8): window runs conv2d_single_subgroup.wgsl rowsWindow (tiles of up to 16 output rows, each input row's
 * window loaded once into registers and added only to the tile rows that have a tap row on it), also in place of rowsSliced
 * over few tiles with many channels; windowShared the same with a subgroup's 8 lane tiles side by side along the rows
 * (SHARED_COLUMNS: each lane loads its own columns of an input row and takes the KW - 1 past them from the next lane by
 * subgroupShuffle; rowsWindowShared) where at least half of those 8 tiles hold outputs, rowsWindow elsewhere; rows the 4-row
 * tiles (rowsSubgroup; rowsSliced over few tiles and >= 128 channels).
 */
export const CONV_SINGLE_FORWARD = ['windowShared', 'window', 'rows'] as const;
/**
 * Output columns per invocation of the Cout = 1 forward's rowsWindow (convSingleForward 'window'): 16 (two octets on one input
 * row's window of KW + 15 values: fewer lane-varying loads per output), or 8; outputs at most 8 wide take 8 either way.
 */
export const CONV_SINGLE_FORWARD_COLUMNS = [16, 8] as const;
/**
 * The Cout = 1 input gradient at stride 1 under convSingleChannel 'shared' where subgroups are 8 wide, height dilation 1 and
 * kernel at most 8 x 8: strips runs conv_transpose2d_single_strips.wgsl rowStrips (8 columns x 8 channels walked down strips
 * of up to 64 rows, the KH GY rows that reach a row in registers, one channel's sums at a time in a loop; short code, aligned
 * quad stores); window conv_transpose2d_single_subgroup.wgsl rowsWindow (tiles of up to 8 rows x 8 columns x 8 channels,
 * each GY row's window loaded once into registers, the weights once per invocation, 512 stores written out); octets
 * singleSubgroup (one row's 8 columns x 8 channels, as under 'dedicated').
 */
export const CONV_SINGLE_INPUT_GRAD = ['strips', 'window', 'octets'] as const;
/**
 * The Cout = 1 weight gradient under convSingleChannel 'shared' where subgroups are 8 wide, stride and dilation 1: planes runs
 * conv2d_weight_grad_single_planes.wgsl weightGradSinglePlanes where input and output rows are at most 16 wide and the kernel
 * has at most 16 taps (one invocation per input channel over slices of images, the geometry fixed per pipeline so every X
 * value is one load, the GY rows held in registers and broadcast from constant lanes); planeQuads the same with each input
 * row read as the vec4s that cover it (lanes on channels 4 apart, so a subgroup's rows share their offset in a vec4) where the
 * run's X holds whole vec4s, else as planes; elsewhere, and under rows, conv2d_weight_grad_single_subgroup.wgsl
 * weightGradSingleRowsSubgroup (height stride and dilation 1, KH <= 8).
 */
export const CONV_SINGLE_WEIGHT_GRAD = ['planeQuads', 'planes', 'rows'] as const;
/**
 * The packed variant's stride-1 input gradient (dilation 1, kernel at most 8 x 8) into at most 2 input channels (LightCNN's
 * conv1 1→96 5×5, FaPE-GAN's G-in 2→64 7×7: saliency maps, adversarial inputs) where subgroups are 8 wide: window runs it as
 * a forward over GY with 1-2 output channels through conv2d_single_subgroup.wgsl rowsWindow (one channel per workgroup z,
 * the weights read rotated and transposed in place); pairs the same with both of 2 channels per invocation (on one window of
 * GY, 8 columns); packed the packed forward kernels over GY (fiveWideRowSubgroup, packedTiled), which fill 1-2 of their 4
 * GEMM rows.
 */
export const CONV_THIN_UNIT_STRIDE_INPUT_GRAD = ['pairs', 'window', 'packed'] as const;
/** The vec4 weight gradient's workgroup: fitted to the column and channel blocks, or registerTileShape's 256 (see weightGradTileShape in src/kernels/conv.ts). */
export const WEIGHT_GRAD_TILES = ['fitted', 'square'] as const;
/**
 * The 1×1 weight gradient's GEMMs under convPointwise gemm (src/kernels/conv.ts weightGradTransposed): fitted, as
 * gWᵀ = Σₙ x[n] · gy[n]ᵀ copied back transposed where the subgroup matmul pads less that way; outputRows, always
 * gW = Σₙ gy[n] · x[n]ᵀ (output channels as rows).
 */
export const POINTWISE_WEIGHT_GRAD_LAYOUT = ['fitted', 'outputRows'] as const;
/**
 * The 1×1 forward's GEMM under convPointwise gemm (src/kernels/conv.ts pixelRowsForward): pixelRows, as xᵀ·Wᵀ (pixels as
 * rows, stored along them: matmul.ts matmulColumnsOut, matmulMfm's pairs 'columns') where the subgroup matmul runs it
 * (H·W % 16 == 0, Cin % 4 == 0); fitted, pixelRows on planes of 1024 pixels or more (LightCNN-9's group1 and group2),
 * W·x on smaller ones; channelRows, always W·x.
 */
export const POINTWISE_FORWARD_LAYOUT = ['fitted', 'pixelRows', 'channelRows'] as const;
/**
 * Where the product stored along its rows (matmul.ts matmulColumnsOut, matmulMfm's pairs 'columns': the 1×1 forward as
 * xᵀ·Wᵀ) reads B from when B is read along k: workgroup, a copy of the workgroup's columns over the whole K made once
 * (matmul_subgroup.wgsl's B_SHARED, where it fits the workgroup storage), else storage. storage on both adapter classes:
 * on lavapipe the copy measured no faster than what it saves (bench/RESULTS.md, pointwise section).
 */
export const COLUMNS_OUT_B = ['workgroup', 'storage'] as const;
/**
 * Taps per lane in conv2d_weight_grad_packed_subgroup.wgsl's windowSubgroup (its WINDOW_TAPS): fitted, 3 for a 3-wide
 * kernel (FaPE-GAN's 3×3 stride-2 and reflect-padded weight gradients), whose 4th would be computed and never stored;
 * four, always 4.
 */
export const WINDOW_WEIGHT_GRAD_TAPS = ['fitted', 'four'] as const;
/**
 * Output channels per invocation in conv2d_weight_grad_packed_subgroup.wgsl's windowSubgroup (its WINDOW_ROWS) where there are
 * more than 16 and output rows hold whole quads: 16, or 32 (two blocks of 16 on the same X window: twice the multiply-adds per
 * X load).
 */
export const WINDOW_WEIGHT_GRAD_ROWS = [16, 32] as const;
/** Output channels per invocation of conv2d_weight_grad_vec4.wgsl's 1×1 weight gradient (its ROWS), where no subgroup kernel runs. */
export const POINTWISE_WEIGHT_GRAD_ROWS = [4, 8] as const;
/**
 * registerTiledVec4: registerTiled reading A and B as vec4 where their layout allows (registerTiled elsewhere).
 * packed: A and B packed once per launch into vec4 quads of rows / columns (read in place when already so), 4 x 8 outputs per invocation.
 * subgroup: registerTiledVec4's layouts with 16 x 4 outputs per invocation, A loaded once per 8-lane subgroup and shared by
 * shuffles, on packed copies of A and B where vec4 reads do not fit; runs only on adapters with subgroups of exactly 8
 * (registerTiledVec4 elsewhere).
 */
/**
 * Lanes of a norm reduction workgroup (shaders/norm.wgsl's WG: one workgroup per statistics group, a tree reduction in
 * workgroup memory). lavapipe runs a workgroup on one CPU thread and pays for every barrier per 8-lane SIMD chunk, so few
 * lanes run faster there (bench/norm-variants.ts); hardware GPUs want the lanes.
 */
export const NORM_REDUCTION_LANES = [8, 16, 32, 64, 128, 256] as const;
/**
 * The subgroup matmul's epilogue (shaders/matmul_subgroup.wgsl's EPILOGUE_PER_ROW): perRow reads the launch's epilogue
 * parameters from the uniform once per invocation and a row's bias (along rows) once; perElement per element, as
 * matmul_epilogue.wgsl's epilogueValue (lavapipe reloads the uniform after every store). Same results.
 */
export const MATMUL_SUBGROUP_EPILOGUE = ['perRow', 'perElement'] as const;
/**
 * The subgroup matmul's workgroups along the columns (src/kernels/matmul.ts subgroupTileShape): fitted, as many subgroups as
 * divide those N needs (no workgroup of clamped copies only); halved, 64 invocations halved only while N fits in half.
 */
export const MATMUL_SUBGROUP_TILES = ['fitted', 'halved'] as const;
export const MATMUL_VARIANTS = ['registerTiled', 'workgroupTiled', 'registerTiledVec4', 'packed', 'subgroup'] as const;
/**
 * float16 tensors through the elementwise, activation, pad, cat and slice ops (src/nn/functional/half.ts): native runs their
 * kernels' float16 builds (read float16, compute in f32, round once on store); widen casts each operand to float32, runs the
 * float32 kernel and casts the result back (the same bits, two more passes). widen is kept as the reference and the benchmark's
 * "before".
 */
export const HALF_OPS = ['native', 'widen'] as const;
/** Autocast layers' float16 weight copies: cached, made once per parameter write (src/tensor/tensor.ts castCached); off, made at every call. */
export const WEIGHT_CAST_CACHE = ['on', 'off'] as const;
/**
 * A float16 output of the GEMM and conv kernels (autocast's conv / linear outputs and input gradients): epilogue stores it
 * from the kernel (shaders/include/stored.wgsl: array<f16>, rounded by include/half_bits as the cast kernel rounds); cast
 * stores f32 and rounds it by a cast pass (cast.wgsl toHalf), as before. Kernels without a float16 store (a matmul whose K is
 * split over launches, the sliced Cout = 1 forward) take the cast under either.
 */
export const HALF_STORES = ['epilogue', 'cast'] as const;
/**
 * A loss scaler's step (src/optim/grad-scaler.ts; float16 training). perTensor: one grad_unscale launch per gradient, the
 * inf / NaN flag read back (the GPU drained mid-step), optimizer.step() run or skipped on the host, the scale updated there.
 * onDevice: grad_unscale_batched.wgsl unscales seven gradients per launch against the scaler's state on the GPU, the
 * optimizer's kernels skip their update when its found word is set, grad_scale_update.wgsl updates the scale there, and the
 * state comes back without a wait or a submit of its own (its read-back rides the next submit; the host's step counts and
 * scale catch up at the scaler's next step). Same bits (same
 * multiply and check, power-of-two scales); a scaler with factors that are not powers of two takes perTensor.
 */
export const GRAD_UNSCALE = ['onDevice', 'perTensor'] as const;
/** gradUnscale 'onDevice': each invocation unscales and checks a quad of a gradient (vec4 bindings), or one element (the first kernel). */
export const GRAD_UNSCALE_WIDTH = ['quads', 'elements'] as const;

export interface KernelChoices {
  matmul: (typeof MATMUL_VARIANTS)[number];
  matmulSubgroupEpilogue: (typeof MATMUL_SUBGROUP_EPILOGUE)[number];
  matmulSubgroupTiles: (typeof MATMUL_SUBGROUP_TILES)[number];
  convForward: (typeof CONV_FORWARD_VARIANTS)[number];
  convInputGrad: (typeof CONV_GRAD_VARIANTS)[number];
  convWeightGrad: (typeof CONV_GRAD_VARIANTS)[number];
  convFiveWide: (typeof CONV_FIVE_WIDE)[number];
  weightGradTile: (typeof WEIGHT_GRAD_TILES)[number];
  convSubgroups: (typeof CONV_SUBGROUPS)[number];
  convSingleChannel: (typeof CONV_SINGLE_CHANNEL)[number];
  convPointwise: (typeof CONV_POINTWISE)[number];
  convThreeWideRows: (typeof CONV_THREE_WIDE_ROWS)[number];
  convSubgroupRows: (typeof CONV_SUBGROUP_ROWS)[number];
  convSubgroupPaddingRows: (typeof CONV_SUBGROUP_PADDING_ROWS)[number];
  convThinInputGrad: (typeof CONV_THIN_INPUT_GRAD)[number];
  thinBlocksOrder: (typeof THIN_BLOCKS_ORDER)[number];
  convThinForward: (typeof CONV_THIN_FORWARD)[number];
  convFiveWideForward: (typeof CONV_FIVE_WIDE_FORWARD)[number];
  windowStores: (typeof WINDOW_STORES)[number];
  windowInputLoads: (typeof WINDOW_INPUT_LOADS)[number];
  windowTapOrder: (typeof WINDOW_TAP_ORDER)[number];
  windowRowPixels: (typeof WINDOW_ROW_PIXELS)[number];
  windowSums: (typeof WINDOW_SUMS)[number];
  thinInputGradRows: (typeof THIN_INPUT_GRAD_ROWS)[number];
  convFiveByFiveWeightGrad: (typeof CONV_FIVE_BY_FIVE_WEIGHT_GRAD)[number];
  convSingleForward: (typeof CONV_SINGLE_FORWARD)[number];
  convSingleForwardColumns: (typeof CONV_SINGLE_FORWARD_COLUMNS)[number];
  convSingleInputGrad: (typeof CONV_SINGLE_INPUT_GRAD)[number];
  convSingleWeightGrad: (typeof CONV_SINGLE_WEIGHT_GRAD)[number];
  convThinUnitStrideInputGrad: (typeof CONV_THIN_UNIT_STRIDE_INPUT_GRAD)[number];
  pointwiseWeightGradRows: (typeof POINTWISE_WEIGHT_GRAD_ROWS)[number];
  pointwiseWeightGradLayout: (typeof POINTWISE_WEIGHT_GRAD_LAYOUT)[number];
  pointwiseForwardLayout: (typeof POINTWISE_FORWARD_LAYOUT)[number];
  columnsOutB: (typeof COLUMNS_OUT_B)[number];
  windowWeightGradTaps: (typeof WINDOW_WEIGHT_GRAD_TAPS)[number];
  windowWeightGradRows: (typeof WINDOW_WEIGHT_GRAD_ROWS)[number];
  /** Workgroups the weight gradient's split-K over pixels aims for (more slices, more partial sums to add). */
  weightGradWorkgroups: number;
  normReductionLanes: (typeof NORM_REDUCTION_LANES)[number];
  halfOps: (typeof HALF_OPS)[number];
  weightCastCache: (typeof WEIGHT_CAST_CACHE)[number];
  halfStores: (typeof HALF_STORES)[number];
  gradUnscale: (typeof GRAD_UNSCALE)[number];
  gradUnscaleWidth: (typeof GRAD_UNSCALE_WIDTH)[number];
}

// matmul subgroup on software: 3-4.6x registerTiledVec4 on lavapipe (subgroups of 8) at 512³, 1024³ (10.9 vs 2.4 GFLOP/s), fc1
// 16x8192 @ (512x8192)ᵀ (9.8 vs 2.3) and its input gradient, 0.9x at the weight gradient (K = 16), 0.8-2.3x at M <= 8, side by
// side (bench/RESULTS.md, 2026-12-04 matmul subgroup section); where vec4 reads do not fit (K % 4, odd strides) it runs on
// packed copies: 3.6-5.3x registerTiled at 333x1020 @ 1020x517 and 1000x1001 @ 1001x1000, 1.2-1.35x at 16x510 @ 510x8192
// (packed 1.6-2x there). Adapters whose subgroups are not 8 wide take registerTiledVec4.
// matmul registerTiledVec4 on software: 0.9-3.3x registerTiled on lavapipe (1.14x at 1024³; 0.9x only at K = 16), side by side (bench/RESULTS.md, 2026-12-04 matmul vec4 section).
// matmul packed on software: 1.0-2.4x registerTiledVec4 per round where vec4 reads do not fit (333x1020 @ 1020x517), but
// 0.4-1.0x at fc1 (16x8192 @ 8192x512), 0.6-1.3x at 1024³ and 0.6-0.8x at 512³ side by side in one later run (bench/RESULTS.md,
// 2026-12-04 matmul packed section): not the default; the autotuner (WEBFER_AUTOTUNE=1) times it per shape.
// conv 'packed' on software: 1.7-32× TF.js 4.22 on every LightCNN-9 conv row on lavapipe, 1.3-5× registerTiled
// side by side (bench/RESULTS.md, 2026-12-04 conv packed sections).
// On lavapipe, paper shapes (N16, 128 px), per CPU second side by side (bench/conv-rows.ts; bench/RESULTS.md 2026-12-04
// conv rows section), against the matmul kernel (1024³) timed in the same rounds:
// convFiveWide 'fiveWide': conv1 (1→96 128² 5×5) forward 0.64→1.06x matmul, mfm forward 0.65→1.08x, weight gradient
// 0.38→1.41x, input gradient 0.24→0.57x (the generic kernels before).
// convSubgroups 'shared' (lanes share weight / GY loads by subgroupBroadcast; lavapipe's subgroups are its 8-lane SIMD
// vectors): conv1 forward 1.06→1.63x matmul, mfm 1.08→1.56x, input gradient 0.64→1.85x (one row: fiveWideRow); the four 1×1 rows' forward
// 1.0-1.4→1.6-2.4x, input gradient 1.3-1.5→2.0-2.5x, weight gradient 1.0-1.1→1.9-2.5x; the 3×3 rows' forward and input
// gradient (threeWidePair) 1.0-1.47x per CPU second (group2 1.02x, group1 1.2x, group4 1.3-1.47x), their weight
// gradient (threeByThree) 1.6-2.2x.
// convThreeWideRows 8: the LightCNN-9 3×3 rows' forward 0.66-0.82→1.14-1.37x matmul, stride-1 input gradient 0.68-0.78→1.15-1.29x
// (1.23-1.63x 4 rows side by side; bench/RESULTS.md 2026-12-05 04:20 section).
// convSubgroupRows 32: FaPE-GAN's rows at paper scale (N16, 128² images): the forwards of G down1/down2, G res, D 2-4
// 0.77-0.82→0.98-1.29x matmul, stride-2 input gradients 0.72-0.92→0.99-1.42x, stride-1 ones (G res, D 4) 0.67-0.70→0.85-1.01x
// (1.14-1.41x 16 rows side by side; bench/RESULTS.md 2026-12-05 04:20 section).
// convThinInputGrad 'blocks': D-1's input gradient (2→64 4×4 s2 on 128², N16) 0.13→0.67x matmul, 5.1x phaseTiled per CPU second
// side by side (3.5x, 0.14→0.48x, at load 12) (bench/RESULTS.md 2026-12-05 thin-conv section).
// convThinForward 'window': G-in's forward (2→64 7×7 on 134², N16) 0.52→0.74x matmul (1.41x packedSubgroup per CPU second), D-1's
// (2→64 4×4 s2 on 128²) 0.34→0.45x (1.34x), side by side at load 8-9; at load 12 G-in 0.58→0.89x (1.51x), D-1 0.43→0.50x (1.15x)
// (bench/RESULTS.md 2026-12-05 thin-conv section).
// convFiveWideForward 'window' (with windowStores 'quads', windowTapOrder 'byRow'): LightCNN's conv1 (1→96 5×5 on 128², N16)
// forward 0.44→0.65x matmul, its mfm forward 0.47→0.62x against fiveWidePair side by side at load 13-15 (0.74-0.79x and
// 0.65-0.89x in other runs); the quad stores alone 1.5-1.8x element stores (conv1; G-in 0.70→0.93x, D-1 0.44→0.56x), the 5-tap
// rows 1.05-1.48x one tap at a time in two runs, 0.92x in a third (a loop over an array of taps ran 0.56x: Mesa kept it
// rolled, the taps in memory). convFiveByFiveWeightGrad 'subgroup': conv1's weight gradient 0.43-0.50→1.40-1.52x matmul
// (2.8-3.5x fiveWide per CPU second) (bench/RESULTS.md 2026-12-05 conv1 section).
// windowRowPixels 16: conv1's forward 0.50→0.68x matmul (1.37x 8 outputs per CPU second), its mfm forward 0.45→0.63x (1.39x),
// side by side at load 15 (bench/RESULTS.md 2026-12-05 conv1-fwd section).
// convSingleForward 'window': G-out's forward (64→1 7×7 on 134², N16) 0.36-0.38→0.98-1.12x matmul (2.7-2.9x rowsSubgroup per CPU
// second), D-out's (512→1 4×4 pad 1 on 15²) 0.18-0.27→0.44-0.79x (2.0-2.9x rowsSliced + its reduction); convSingleInputGrad
// 'window': G-out's input gradient 0.50-0.56→0.89-0.91x (1.6-1.8x singleSubgroup), D-out's 0.28-0.29→0.37-0.48x (1.3-1.7x);
// side by side at load 6-15; convSingleForwardColumns 16: D-out's forward 0.95x against 0.83x with 8 side by side (load 12;
// 0.67-0.68x against 0.36-0.45x in separate runs), G-out's the same (1.21x, 1.22x) (bench/RESULTS.md 2026-12-05 single-out section).
// convSingleForward 'windowShared': G-out's forward 0.93-1.07→1.17-1.51x matmul (105/101/96→76/75/80 CPU ms, 1.19-1.38x per CPU
// second) side by side at load 14-23; input rows as aligned vec4 loads no faster (bench/RESULTS.md 2026-12-06 goutfwd section).
// weightGradTile 'fitted' (pointwise and fiveWide only; the 3-wide kernels ran at 0.6x with it): conv1's weight gradient
// 2.5x 'square', group1 1×1 (48→96 64², without subgroups) 1.6-1.7x, group2 1.2-1.4x, group3 and group4 within noise.
// pointwiseWeightGradRows 8 was 0.8-1.2x 4 across the four 1×1 rows: not the default.
// convPointwise 'gemm': LightCNN-9's four 1×1 rows (N16, 48→96 64² .. 192→384 16²) per CPU second against the conv kernels
// (pointwiseSubgroup) side by side, six runs on a loaded machine (bench/RESULTS.md 2026-12-05 01:45 and 02:05 sections): forward
// 1.25-1.63x (group3 once 1.0x), input gradient 1.1-2.15x, weight gradient 0.97-1.41x, the mfm forward (one GEMM with its
// epilogue) 1.26-1.55x; 0.45-0.78x the matmul kernel's 1024³ rate in the quietest run (up to 1.5x in loaded ones, where the
// 1024³ product slowed more). 'subgroupGemm' as the default: on Chromium's SwiftShader (subgroups of 4, where 1×1 convs take
// the registerTiledVec4 matmul) the page's LightCNN-9 step (×0.125, 32², batch 32) ran 0.92-0.93x with 'gemm' against 'conv'
// (bench/conv-pointwise-browser.mjs, 5 alternated rounds).
// matmulSubgroupEpilogue 'perRow', matmulSubgroupTiles 'fitted', pointwiseWeightGradLayout 'fitted': LightCNN-9's 1×1 rows
// through the subgroup matmul (N16, paper shapes) per CPU second side by side, heavily loaded: group1's forward 1.23-1.71x,
// group4's 1.17-1.31x, the weight gradients of group1 1.01-1.34x, group2 1.20-1.35x, group3 1.17x, group1's mfm forward 1.15x
// (bench/RESULTS.md 2026-12-05 gemm-rows section). windowWeightGradTaps 'fitted': FaPE-GAN's 3-wide window weight gradients
// 1.00-1.11x (G-down1, G-down2; G-res within noise).
// gradUnscale 'onDevice': the FaPE-GAN demo step in float16 at 0.89-0.98x the float32 step's process CPU (best of 8-10
// alternated runs, three runs; medians 0.74-0.92x) against 0.98-1.17x (medians 0.88-1.55x) with 'perTensor', whose two
// mid-step read-backs left Dawn polling on the main thread while lavapipe ran the step; LightCNN-9 demo within the noise (one
// read-back per step); 30-34 fewer launches per step; load 8-18 (bench/f16-step-waits.ts; bench/RESULTS.md 2026-12-05 f16-gan section).
// gradUnscaleWidth 'quads': the batched unscale of LightCNN-9's paper gradients (5.5 M elements) in 3.6x less process CPU than
// 'elements' (184.7 -> 51.2 ms a call), the FaPE-GAN's at 128², width 64 (5.9 M) 3.7x (176.2 -> 48.1); load 13-16
// (bench/grad-unscale.ts; bench/RESULTS.md 2026-12-05 scaler-submit section).
// Hardware takes it untimed: no mid-step wait on any adapter.
// windowWeightGradRows 32 (where output rows hold whole quads): FaPE-GAN's window weight gradients (N16) per CPU second side by
// side against 16 rows, three runs at load 9-18: G-res 1.18-1.25x (0.92-1.14 -> 1.16-1.34x matmul), G-down1 1.04-1.14x, G-down2
// 1.02-1.17x, G-in 1.16x, D-2 1.20x, D-3 1.05x; D-4 (15-wide rows) 0.86-0.97x, so it keeps 16; 48 rows 0.6-0.7x (spills).
// convSubgroupPaddingRows 'skip': the stride-1 input gradients through conv2d_packed_subgroup.wgsl, D-4 1.33-1.54x (0.74-0.82 ->
// 1.09-1.14x matmul), G-res 1.27-1.33x (0.84-0.87 -> 1.06-1.16x); forwards 1.02-1.31x (G-res 1.21-1.31x) (bench/RESULTS.md
// 2026-12-05 grad-rows section).
// thinBlocksOrder 'byBlockRow': D-1's input gradient (2→64 4×4 stride 2 on 128², N16) per CPU second side by side against
// 'byWindowRow', six pairs in four runs at load 9-16: 1.25-1.60x (0.56-0.70 -> 0.88-1.02x matmul), one reversal (0.62x, a test
// run beside it). windowTapOrder 'byRow' on D-1's forward (4-tap rows at width stride 2, with windowInputLoads 'quads') against
// 'byTap': 1.04-1.20x (0.53-0.66 -> 0.58-0.77x matmul), 1.16-1.34x at batch 48 (bench/RESULTS.md 2026-12-05 d-rows section).
// convSingleInputGrad 'strips': G-out's input gradient (64→1 7×7 on 134², N16) 137→65 ms CPU, 0.85→1.13x matmul (paired
// median, 5 rounds, load 6-7), D-out's (512→1 4×4 pad 1 on 15²) 11→9 ms, 0.27→0.36x, against 'window' side by side; a sampling
// profile put ~40 % of rowsWindow's G-out time in its written-out store epilogue (bench/RESULTS.md 2026-12-05 gout section).
// convSingleWeightGrad 'planeQuads': D-out's weight gradient (512→1 4×4 pad 1 on 15², N16) 8-12→3-4 ms CPU (best of 15 rounds),
// 0.22-0.26→0.42-0.49x matmul (paired median; best rounds 1.19-1.23x) against 'rows' side by side in two runs at load 5.4-5.9,
// 'planes' (element loads) 4-7 ms, 0.40-0.44x in the same runs; at batch 64 39→18 ('planes')→13 ms, 0.36→0.75x
// (bench/RESULTS.md 2026-12-05 wgrad1 section).
// windowSums 'tiles': conv1's forward (1→96 5×5 on 128², N16) 108-147→72-76 ms CPU, 0.58-0.62→0.89-1.29x matmul, its mfm
// forward 0.54-0.63→0.87-1.15x, against 'rows' side by side in three runs at load 0.3-2.4; a sampling profile put half of
// windowSubgroup's time in updating sums kept in memory (bench/RESULTS.md 2026-12-05 conv1b section).
// thinInputGradRows 'quads': conv1's input gradient (96→1 5×5 pad 2 on 128², N16) 84-88→58-71 ms CPU, 0.79-0.94→0.95-1.09x
// matmul against 'window' side by side in three runs at load 6-8; a sampling profile had put ~half of rowsWindow's time in
// its one-float-at-a-time gy loads (bench/RESULTS.md 2026-12-05 conv1g section). The hardware default stays 'window' (unmeasured).
const SOFTWARE: KernelChoices = {
  matmul: 'subgroup', matmulSubgroupEpilogue: 'perRow', matmulSubgroupTiles: 'fitted', convForward: 'packed', convInputGrad: 'packed', convWeightGrad: 'packed', convFiveWide: 'fiveWide', convSubgroups: 'shared', convSingleChannel: 'shared', convPointwise: 'subgroupGemm', convThreeWideRows: 8, convSubgroupRows: 32, convThinInputGrad: 'blocks', convThinForward: 'window', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, pointwiseWeightGradLayout: 'fitted', windowWeightGradTaps: 'fitted', weightGradWorkgroups: 8, normReductionLanes: 16, halfOps: 'native', weightCastCache: 'on', halfStores: 'epilogue', gradUnscale: 'onDevice', gradUnscaleWidth: 'quads', convFiveWideForward: 'window', windowStores: 'quads', windowTapOrder: 'byRow', convFiveByFiveWeightGrad: 'subgroup', convSubgroupPaddingRows: 'skip', windowWeightGradRows: 32, convSingleForward: 'windowShared', convSingleForwardColumns: 16, convSingleInputGrad: 'strips', convSingleWeightGrad: 'planeQuads', convThinUnitStrideInputGrad: 'pairs', pointwiseForwardLayout: 'fitted', columnsOutB: 'storage', thinBlocksOrder: 'byBlockRow', windowInputLoads: 'quads', windowRowPixels: 16, windowSums: 'tiles', thinInputGradRows: 'quads',
};
// Forward and matmul measured on an NVIDIA H200 (bench/results/2026-11-30-nvidia-h200.json), where
// the register-tiled gradients ran at 0.35-2 TFLOP/s against 2-4.6 forward; the workgroup-tiled
// gradients are the forward's structure and are chosen here untimed (no hardware GPU since they
// were written: bench/RESULTS.md). AMD, Intel and Apple take the same choices until measured.
// convFiveWide, convSubgroups, weightGradTile and pointwiseWeightGradRows only steer the packed variant (subgroups off: untimed here).
const HARDWARE: KernelChoices = {
  matmul: 'workgroupTiled', matmulSubgroupEpilogue: 'perRow', matmulSubgroupTiles: 'fitted', convForward: 'workgroupTiled', convInputGrad: 'workgroupTiled', convWeightGrad: 'workgroupTiled', convFiveWide: 'fiveWide', convSubgroups: 'off', convSingleChannel: 'generic', convPointwise: 'conv', convThreeWideRows: 4, convSubgroupRows: 16, convThinInputGrad: 'phases', convThinForward: 'packed', weightGradTile: 'fitted', pointwiseWeightGradRows: 4, pointwiseWeightGradLayout: 'fitted', windowWeightGradTaps: 'fitted', weightGradWorkgroups: 256, normReductionLanes: 256, halfOps: 'native', weightCastCache: 'on', halfStores: 'epilogue', gradUnscale: 'onDevice', gradUnscaleWidth: 'quads', convFiveWideForward: 'pair', windowStores: 'quads', windowTapOrder: 'byRow', convFiveByFiveWeightGrad: 'vec4', convSubgroupPaddingRows: 'compute', windowWeightGradRows: 16, convSingleForward: 'window', convSingleForwardColumns: 16, convSingleInputGrad: 'window', convSingleWeightGrad: 'rows', convThinUnitStrideInputGrad: 'pairs', pointwiseForwardLayout: 'channelRows', columnsOutB: 'storage', thinBlocksOrder: 'byBlockRow', windowInputLoads: 'quads', windowRowPixels: 8, windowSums: 'rows', thinInputGradRows: 'window',
};

export const POLICY_DEFAULTS: Record<AdapterClass, KernelChoices> = {
  software: SOFTWARE, nvidia: HARDWARE, amd: HARDWARE, intel: HARDWARE, apple: HARDWARE, other: HARDWARE,
};

const ALLOWED: { [K in keyof KernelChoices]: readonly KernelChoices[K][] | 'positive integer' } = {
  matmul: MATMUL_VARIANTS,
  matmulSubgroupEpilogue: MATMUL_SUBGROUP_EPILOGUE,
  matmulSubgroupTiles: MATMUL_SUBGROUP_TILES,
  convForward: CONV_FORWARD_VARIANTS,
  convInputGrad: CONV_GRAD_VARIANTS,
  convWeightGrad: CONV_GRAD_VARIANTS,
  convFiveWide: CONV_FIVE_WIDE,
  weightGradTile: WEIGHT_GRAD_TILES,
  convSubgroups: CONV_SUBGROUPS,
  convSingleChannel: CONV_SINGLE_CHANNEL,
  convPointwise: CONV_POINTWISE,
  convThreeWideRows: CONV_THREE_WIDE_ROWS,
  convSubgroupRows: CONV_SUBGROUP_ROWS,
  convSubgroupPaddingRows: CONV_SUBGROUP_PADDING_ROWS,
  convThinInputGrad: CONV_THIN_INPUT_GRAD,
  thinBlocksOrder: THIN_BLOCKS_ORDER,
  convThinForward: CONV_THIN_FORWARD,
  convFiveWideForward: CONV_FIVE_WIDE_FORWARD,
  windowStores: WINDOW_STORES,
  windowInputLoads: WINDOW_INPUT_LOADS,
  windowTapOrder: WINDOW_TAP_ORDER,
  windowRowPixels: WINDOW_ROW_PIXELS,
  windowSums: WINDOW_SUMS,
  thinInputGradRows: THIN_INPUT_GRAD_ROWS,
  convFiveByFiveWeightGrad: CONV_FIVE_BY_FIVE_WEIGHT_GRAD,
  convSingleForward: CONV_SINGLE_FORWARD,
  convSingleForwardColumns: CONV_SINGLE_FORWARD_COLUMNS,
  convSingleInputGrad: CONV_SINGLE_INPUT_GRAD,
  convSingleWeightGrad: CONV_SINGLE_WEIGHT_GRAD,
  convThinUnitStrideInputGrad: CONV_THIN_UNIT_STRIDE_INPUT_GRAD,
  pointwiseWeightGradRows: POINTWISE_WEIGHT_GRAD_ROWS,
  pointwiseWeightGradLayout: POINTWISE_WEIGHT_GRAD_LAYOUT,
  pointwiseForwardLayout: POINTWISE_FORWARD_LAYOUT,
  columnsOutB: COLUMNS_OUT_B,
  windowWeightGradTaps: WINDOW_WEIGHT_GRAD_TAPS,
  windowWeightGradRows: WINDOW_WEIGHT_GRAD_ROWS,
  weightGradWorkgroups: 'positive integer',
  normReductionLanes: NORM_REDUCTION_LANES,
  halfOps: HALF_OPS,
  weightCastCache: WEIGHT_CAST_CACHE,
  halfStores: HALF_STORES,
  gradUnscale: GRAD_UNSCALE,
  gradUnscaleWidth: GRAD_UNSCALE_WIDTH,
};

export function adapterClassOf(info: Pick<AdapterDescription, 'isSoftware' | 'vendor' | 'architecture' | 'description'>): AdapterClass {
  if (info.isSoftware) return 'software';
  const text = `${info.vendor} ${info.architecture} ${info.description}`.toLowerCase();
  if (/nvidia/.test(text)) return 'nvidia';
  if (/\bamd\b|\bati\b|radeon/.test(text)) return 'amd';
  if (/intel/.test(text)) return 'intel';
  if (/apple/.test(text)) return 'apple';
  return 'other';
}

/** Throws a one-line error naming the bad key or value and what is allowed. */
function checkChoices(choices: Partial<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(choices)) {
    if (!(key in ALLOWED)) throw new Error(`kernel policy: unknown choice "${key}"; the choices are ${Object.keys(ALLOWED).join(', ')}`);
    if (value === undefined) continue;
    const allowed = ALLOWED[key as keyof KernelChoices];
    if (allowed === 'positive integer') {
      if (!(Number.isInteger(value) && (value as number) >= 1)) throw new Error(`kernel policy: ${key} must be a positive integer, got ${JSON.stringify(value)}`);
    } else if (!(allowed as readonly unknown[]).includes(value)) {
      throw new Error(`kernel policy: ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
  }
}

/** The choices an autotuner may time: the variant keys (not the numeric ones). */
export type TunableKey = 'matmul' | 'convForward' | 'convInputGrad' | 'convWeightGrad';

export class KernelPolicy {
  private overrides: Partial<KernelChoices> = {};
  /** Off unless init({ autotune: true }) or WEBFER_AUTOTUNE=1 (Node) turned it on. */
  readonly autotuner: Autotuner;

  constructor(
    readonly adapterClass: AdapterClass,
    overrides: Partial<KernelChoices> = {},
    autotune = false,
  ) {
    this.set(overrides);
    this.autotuner = new Autotuner(autotune);
  }

  /**
   * The choice for one kernel: the override if one is set, else the autotuned choice for this
   * shape class (when one is given and tuned), else this adapter class's default.
   */
  get<K extends keyof KernelChoices>(key: K, shapeClass?: string): KernelChoices[K] {
    const override = this.overrides[key];
    if (override !== undefined) return override;
    const tuned = shapeClass === undefined ? undefined : this.autotuner.lookup(key, shapeClass);
    return (tuned as KernelChoices[K] | undefined) ?? POLICY_DEFAULTS[this.adapterClass][key];
  }

  /**
   * A launch site's choice: as get(), and with autotuning on and no override, an untuned shape
   * class is queued with the variants worth timing there (`candidates`) and `makeRun` (the op on
   * scratch inputs of this shape) for the next tune(). `shapeClass` is only called while the
   * autotuner is active, so launches pay nothing for it otherwise.
   */
  choose<K extends TunableKey>(key: K, shapeClass: () => string, candidates: readonly KernelChoices[K][], makeRun: () => TuningRun): KernelChoices[K] {
    if (this.overrides[key] !== undefined || !this.autotuner.active) return this.get(key);
    const shape = shapeClass();
    this.autotuner.request(key, shape, candidates, makeRun);
    return this.get(key, shape);
  }

  /** Whether a variant name is one of a key's (for choices restored from an earlier session). */
  static allows(key: string, variant: string): boolean {
    const allowed = (ALLOWED as Record<string, readonly unknown[] | 'positive integer'>)[key];
    return Array.isArray(allowed) && allowed.includes(variant);
  }

  /** Every choice in force. */
  choices(): KernelChoices {
    return { ...POLICY_DEFAULTS[this.adapterClass], ...this.overrides };
  }

  /** Overrides some choices (an undefined value returns that one to the default). */
  set(overrides: Partial<KernelChoices>): void {
    checkChoices(overrides);
    for (const [key, value] of Object.entries(overrides) as [keyof KernelChoices, never][]) {
      if (value === undefined) delete this.overrides[key];
      else this.overrides[key] = value;
    }
  }

  /** Puts one variant in force until the returned undo is called (the autotuner's timed runs). */
  force(key: TunableKey, variant: string): () => void {
    const saved = this.overrides[key];
    this.set({ [key]: variant });
    return () => this.set({ [key]: saved });
  }

  /** Back to the adapter class's defaults. */
  reset(): void {
    this.overrides = {};
  }

  /** Runs fn with some choices overridden, then restores the previous ones (also on a throw). */
  async with<T>(overrides: Partial<KernelChoices>, fn: () => T | Promise<T>): Promise<T> {
    const saved = { ...this.overrides };
    this.set(overrides);
    try {
      return await fn();
    } finally {
      this.overrides = saved;
    }
  }
}
