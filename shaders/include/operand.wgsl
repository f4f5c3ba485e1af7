// The element type of a GEMM kernel's two operand arrays (matmul.wgsl's A and B, the conv kernels'
// X and Wt / X and GY). f32 as written; src/kernels/launch.ts's kernel(file, { operands: 'f16' })
// rewrites this line to `alias Operand = f16;` and prepends `enable f16;` (mixed precision: the
// kernels convert each operand on load, f32(...), and accumulate, add the bias and store in f32).
alias Operand = f32;
