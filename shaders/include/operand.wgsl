// The element type of a kernel's float16-capable arrays. The GEMM kernels' operands: matmul.wgsl's,
// matmul_vec4.wgsl's and matmul_subgroup.wgsl's A and B; the generic conv kernels' X and Wt / X and GY;
// the packed, vec4, subgroup, phase and Cout = 1 conv kernels' X / GY (packed weights stay f32); the
// packing kernels' source. And the activations and gradients of the kernels between layers: the norm
// kernels' X, Y, G and GX, the pools' In / Out, the mfm backward kernels' G and GX, and a reduction's X.
// f32 as written; src/kernels/launch.ts's kernel(file, { operands: 'f16' }) rewrites this line to
// `alias Operand = f16;` and prepends `enable f16;`: the kernels convert each value on load, f32(...),
// compute in f32, and store Operand(...) (the GEMMs and convs store include/stored.wgsl's Stored).
alias Operand = f32;
