// grad_scale_update: a loss scaler's update on the GPU after a step (torch's _amp_update_scale_),
// one invocation. Found set (a gradient was inf / NaN; the optimizer kernels skipped the step):
// scale *= backoff, growth tracker 0, skipped steps + 1. Otherwise the tracker counts the step and
// at growthInterval the scale grows by growthFactor and the tracker restarts. Found is cleared for
// the next step. The inverse scale the unscale kernel multiplies by follows by the inverse factors
// (the host's 1 / factor): exact, as on the host, while scale and factors are powers of two (the
// launcher runs this only then: src/optim/grad-scaler.ts).
// Bindings: 0 params, 1 State (read_write u32 words, src/kernels/optim.ts's SCALER_WORDS:
// 0 scale f32, 1 inverse f32, 2 found, 3 growth tracker, 4 skipped steps).
struct Params { growthFactor: f32, backoffFactor: f32, inverseGrowth: f32, inverseBackoff: f32, growthInterval: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> State: array<u32>;
const SCALE = 0u;
const INVERSE = 1u;
const FOUND = 2u;
const TRACKER = 3u;
const SKIPPED = 4u;

@compute @workgroup_size(1)
fn main() {
  var scale = bitcast<f32>(State[SCALE]);
  var inverse = bitcast<f32>(State[INVERSE]);
  var tracker = State[TRACKER];
  if (State[FOUND] != 0u) {
    scale *= p.backoffFactor;
    inverse *= p.inverseBackoff;
    tracker = 0u;
    State[SKIPPED] += 1u;
  } else {
    tracker += 1u;
    if (tracker == p.growthInterval) {
      scale *= p.growthFactor;
      inverse *= p.inverseGrowth;
      tracker = 0u;
    }
  }
  State[SCALE] = bitcast<u32>(scale);
  State[INVERSE] = bitcast<u32>(inverse);
  State[TRACKER] = tracker;
  State[FOUND] = 0u;
}
