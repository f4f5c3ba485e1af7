// dL/dz = activationGradOf(dL/dy, z) for the activation fused after a normalisation (ACTIVATION;
// norm_activation.wgsl included before this), PyTorch's rules: relu by its output
// (threshold_backward: zero where y <= 0, so a NaN output passes the gradient), leakyRelu by its
// input (z > 0), tanh by its output (1 - y²); gy itself for none; max-feature-map by mfmShare.
// Reads no buffer, so kernels that load G as quads share it.
fn activationGradOf(gy: f32, z: f32) -> f32 {
  switch ACTIVATION {
    case 1u: {
      let y = activate(z);
      return select(0.0, gy, y > 0.0 || isNan(y));
    }
    case 2u: { return select(gy * p.negativeSlope, gy, z > 0.0); }
    case 3u: {
      let y = activate(z);
      return gy * (1.0 - y * y);
    }
    default: { return gy; }
  }
}

/** Max-feature-map: the share of gy (an output gradient) that half h (0 first, 1 second) takes under routing mask m. */
fn mfmShare(m: u32, h: u32, gy: f32) -> f32 {
  if ((m & (1u << h)) == 0u) { return 0.0; }
  return select(gy, 0.5 * gy, (m & 4u) != 0u);
}
