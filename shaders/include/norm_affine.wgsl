/** The affine normalisation of group g: z = (x - mean)·invStd·scale + shift (Weight 1 / Bias 0 when absent). */
struct Affine { mean: f32, invStd: f32, scale: f32, shift: f32 }

fn affineOf(g: u32) -> Affine {
  let c = g % p.C;
  var scale = 1.0;
  if (p.hasWeight == 1u) { scale = Weight[c]; }
  var shift = 0.0;
  if (p.hasBias == 1u) { shift = Bias[c]; }
  return Affine(Stats[g], Stats[p.G + g], scale, shift);
}

fn normalized(x: f32, a: Affine) -> f32 {
  return (x - a.mean) * a.invStd * a.scale + a.shift;
}
