// Shared by grad_unscale_batched.wgsl and grad_unscale_batched_quads.wgsl (after their Params p, whose
// groupEnds[k] is the end of slot k's workgroups): which slot a workgroup runs, and its first workgroup.
fn groupEndOf(k: u32) -> u32 { return p.groupEnds[k / 4u][k % 4u]; }

/** Slot k runs workgroups [groupEndOf(k - 1), groupEndOf(k)); `group` must be below groupEndOf(SLOTS - 1). */
struct BatchedSlot { index: u32, firstGroup: u32 }

fn batchedSlot(group: u32) -> BatchedSlot {
  var k = 0u;
  while (group >= groupEndOf(k)) { k++; }
  var firstGroup = 0u;
  if (k > 0u) { firstGroup = groupEndOf(k - 1u); }
  return BatchedSlot(k, firstGroup);
}
