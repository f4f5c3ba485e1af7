// The derivative of the activation fused after a normalisation (norm_activation.wgsl and
// norm_activation_derivative.wgsl, included before this): dL/dz from dL/dy. The including file declares G (dL/dy) and maskAt(i) (u32, the
// max-feature-map's routing written by norm_apply.wgsl's normalizeMfm: bit 0 first half, bit 1
// second half, bit 2 a tie, each half then taking half). PyTorch's rules: relu by its output
// (threshold_backward: zero where y <= 0, so a NaN output passes the gradient), leakyRelu by
// its input (z > 0), tanh by its output (1 - y²), max-feature-map as
// torch.maximum (all to the larger half, half each on a tie, all to both on NaN).
/** dL/dz for element `index` of the normalised (pre-activation) tensor z, relu / leakyRelu / tanh (G itself for none). */
fn activationGrad(index: u32, z: f32) -> f32 {
  return activationGradOf(f32(G[index]), z);
}

/** Max-feature-map: element (sample, c, s) of z [.., C, S] takes its share of G [.., C/2, S]. */
fn mfmGrad(sample: u32, c: u32, s: u32) -> f32 {
  let half = p.C / 2u;
  let h = select(0u, 1u, c >= half);
  let source = (sample * half + c - h * half) * p.S + s;
  return mfmShare(maskAt(source), h, f32(G[source]));
}
