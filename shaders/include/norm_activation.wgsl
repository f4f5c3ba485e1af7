// The activation fused after a normalisation (ACTIVATION; its derivative is in
// norm_activation_grad.wgsl), written as the unfused ops are (F.relu, F.leakyRelu, F.tanh in
// src/nn/functional/elementwise.ts) so that fused and unfused give the same bits: NaN passes
// relu and tanh by the bits (WGSL's max and clamp may drop it). The including file includes is_nan.
const ACTIVATION_MFM = 4u;

fn activate(z: f32) -> f32 {
  switch ACTIVATION {
    case 1u: { return select(max(z, 0.0), z, isNan(z)); }
    case 2u: { return select(z * p.negativeSlope, z, z > 0.0); }
    case 3u: { return select(tanh(clamp(z, -15.0, 15.0)), z, isNan(z)); }
    default: { return z; }
  }
}
