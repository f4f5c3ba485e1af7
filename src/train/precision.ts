// Training precisions: 'f32', or 'f16' — the convolutions and linear layers on float16 copies of
// their inputs and weights (Module.autocast) with f32 accumulation and master weights, and the loss
// scaled by a GradScaler so that small gradients survive float16's range.
import { assertShaderF16 } from '../gpu/index.js';
import type { AnyModule } from '../nn/module.js';
import { GradScaler } from '../optim/grad-scaler.js';

export const PRECISIONS = ['f32', 'f16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/**
 * Puts a model in a precision: for 'f16' checks the adapter (shader-f16), autocasts the model to
 * float16 and returns the loss scaler its training steps need; nothing for 'f32'.
 */
export function usePrecision(model: AnyModule, precision: Precision, what = `--precision ${precision}`): GradScaler | undefined {
  if (precision === 'f32') return undefined;
  assertShaderF16(what);
  model.autocast('float16');
  return new GradScaler();
}
