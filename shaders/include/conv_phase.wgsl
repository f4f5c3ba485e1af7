// Shared by conv_transpose2d_phase.wgsl and conv_pack_phase_weights.wgsl (spliced in at their
// //!include line): the sub-pixel (phase) split of a transposed convolution at stride S (dilation 1).
// Output row h of the transposed conv (conv2d's input row) is in phase rh = (h + P) mod S, and only
// the kernel rows i ≡ rh (mod S) reach it: i = rh, rh + S, ... — phaseTaps(rh, K, S) of them. Phase
// (rh, rw) is number rh·SW + rw; the packed weights hold the phases one after another, phase q's
// block starting at k = Cout·phaseTapsBefore(q).

/** Kernel taps i < K with i ≡ r (mod S). */
fn phaseTaps(r: u32, K: u32, S: u32) -> u32 {
  if (r >= K) { return 0u; }
  return (K - r + S - 1u) / S;
}

/** Kernel taps (KH·KW split by phase) in the phases numbered below `phase`. */
fn phaseTapsBefore(phase: u32, KH: u32, KW: u32, SH: u32, SW: u32) -> u32 {
  var taps = 0u;
  for (var q = 0u; q < phase; q++) { taps += phaseTaps(q / SW, KH, SH) * phaseTaps(q % SW, KW, SW); }
  return taps;
}
