// The element type of a GEMM kernel's operand arrays (matmul.wgsl's, matmul_vec4.wgsl's and
// matmul_subgroup.wgsl's A and B; the generic conv kernels' X and Wt / X and GY; the packed, vec4,
// subgroup and phase conv kernels' X / GY, whose packed weights stay f32; the packing kernels'
// source: conv_pack_weights.wgsl, conv_pack_phase_weights.wgsl, matmul_pack.wgsl). f32 as written; src/kernels/launch.ts's kernel(file, { operands: 'f16' })
// rewrites this line to `alias Operand = f16;` and prepends `enable f16;` (mixed precision: the
// kernels convert each operand on load, f32(...), and accumulate, add the bias and store in f32).
alias Operand = f32;
