// grad_scale_update: a loss scaler's update on the GPU after a step (torch's _amp_update_scale_),
// one invocation. Found set (a gradient was inf / NaN; the optimizer kernels skipped the step):
// scale *= backoff, growth tracker 0, skipped steps + 1. Otherwise the tracker counts the step and
// at growthInterval the scale grows by growthFactor and the tracker restarts. Found is cleared for
// the next step. The inverse scale the unscale kernel multiplies by follows by the inverse factors
// (the host's 1 / factor): exact, as on the host, while scale and factors are powers of two (the
// launcher runs this only then: src/optim/grad-scaler.ts).
// Bindings: 0 params, 1 State (the scaler's words, src/kernels/optim.ts's SCALER_WORDS; the same
// layout as grad_unscale_batched.wgsl's ScalerState, whose found is atomic there).
struct Params { growthFactor: f32, backoffFactor: f32, inverseGrowth: f32, inverseBackoff: f32, growthInterval: u32, pad0: u32, pad1: u32, pad2: u32 }
struct ScalerState { scale: f32, inverse: f32, found: u32, growthTracker: u32, skipped: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> State: ScalerState;

@compute @workgroup_size(1)
fn main() {
  if (State.found != 0u) {
    State.scale *= p.backoffFactor;
    State.inverse *= p.inverseBackoff;
    State.growthTracker = 0u;
    State.skipped += 1u;
  } else {
    State.growthTracker += 1u;
    if (State.growthTracker == p.growthInterval) {
      State.scale *= p.growthFactor;
      State.inverse *= p.inverseGrowth;
      State.growthTracker = 0u;
    }
  }
  State.found = 0u;
}
