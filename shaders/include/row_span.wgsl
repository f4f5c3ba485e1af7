// Shared by conv2d_vec4.wgsl and conv2d_subgroup.wgsl (after conv_geometry and the params
// binding p): where an invocation's span of neighbouring pixel quads lies in X, for the forward
// kernels whose quads are aligned vec4s of one output row (W % 4 == 0, OW == W).
/**
 * Where span `index` of `quads` neighbouring pixel quads lies (threeWide: 1, threeWidePair: 2), the
 * last span standing in for any past the end: its output row, its first quad's offset in X's first
 * channel, and whether quads exist to its left and right in the row.
 */
struct RowSpan { rowQuads: u32, planeQuads: u32, oh: u32, imageBase: u32, hasLeft: bool, hasRight: bool }

fn rowSpan(index: u32, quads: u32) -> RowSpan {
  var s: RowSpan;
  s.rowQuads = p.W / 4u;
  s.planeQuads = p.H * s.rowQuads;
  let rowSpans = s.rowQuads / quads;
  let imageSpans = p.OH * rowSpans;
  let q = min(index, p.N * imageSpans - 1u);
  s.oh = (q % imageSpans) / rowSpans;
  let columnQuad = (q % rowSpans) * quads;
  s.imageBase = (q / imageSpans) * p.Cin * s.planeQuads + columnQuad;
  s.hasLeft = columnQuad > 0u;
  s.hasRight = columnQuad + quads < s.rowQuads;
  return s;
}
