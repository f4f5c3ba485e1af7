// Shared by grad_unscale_batched.wgsl and grad_unscale_batched_quads.wgsl (after their Params p, whose
// groupEnds[k] is the end of slot k's workgroups and counts[k] its length, and their override WG): which
// slot an invocation works on, and which of its items (element or quad).
fn groupEndOf(k: u32) -> u32 { return p.groupEnds[k / 4u][k % 4u]; }

/** Slot k runs workgroups [groupEndOf(k - 1), groupEndOf(k)); `inside` is false past the last slot's. */
struct BatchedItem { slot: u32, item: u32, count: u32, inside: bool }

fn batchedItem(lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> BatchedItem {
  let group = wid.x + wid.y * nwg.x;
  if (group >= groupEndOf(SLOTS - 1u)) { return BatchedItem(0u, 0u, 0u, false); }
  var k = 0u;
  while (group >= groupEndOf(k)) { k++; }
  var firstGroup = 0u;
  if (k > 0u) { firstGroup = groupEndOf(k - 1u); }
  return BatchedItem(k, (group - firstGroup) * WG + lid.x, p.counts[k / 4u][k % 4u], true);
}
