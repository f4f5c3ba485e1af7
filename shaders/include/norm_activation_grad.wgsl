// The derivative of the activation fused after a normalisation (norm_activation.wgsl, included
// before this): dL/dz from dL/dy. The including file declares G (dL/dy) and maskAt(i) (u32, the
// max-feature-map's routing written by norm_apply.wgsl's normalizeMfm: bit 0 first half, bit 1
// second half, bit 2 a tie, each half then taking half). PyTorch's rules: relu by its output
// (threshold_backward: zero where y <= 0, so a NaN output passes the gradient), leakyRelu by
// its input (z > 0), tanh by its output (1 - y²), max-feature-map as
// torch.maximum (all to the larger half, half each on a tie, all to both on NaN).
/** dL/dz for element `index` of the normalised (pre-activation) tensor z, relu / leakyRelu / tanh (G itself for none). */
fn activationGrad(index: u32, z: f32) -> f32 {
  switch ACTIVATION {
    case 1u: {
      let y = activate(z);
      return select(0.0, G[index], y > 0.0 || isNan(y));
    }
    case 2u: { return select(G[index] * p.negativeSlope, G[index], z > 0.0); }
    case 3u: {
      let y = activate(z);
      return G[index] * (1.0 - y * y);
    }
    default: { return G[index]; }
  }
}

/** Max-feature-map: element (sample, c, s) of z [.., C, S] takes its share of G [.., C/2, S]. */
fn mfmGrad(sample: u32, c: u32, s: u32) -> f32 {
  let half = p.C / 2u;
  let h = select(0u, 1u, c >= half);
  let source = (sample * half + c - h * half) * p.S + s;
  let m = maskAt(source);
  if ((m & (1u << h)) == 0u) { return 0.0; }
  return select(G[source], 0.5 * G[source], (m & 4u) != 0u);
}
