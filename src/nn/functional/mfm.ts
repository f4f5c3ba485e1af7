// Max-feature-map (LightCNN's mfm): split dim 1 in two halves and take the elementwise maximum.
import { mfmBackward, mfmForward } from '../../kernels/mfm.js';
import { Tensor, formatShape, record } from '../../tensor/tensor.js';
import { expectTensor, wrap } from './util.js';

/**
 * x [N, 2C, H, W] or [N, 2C] → [N, C, H, W] or [N, C]: out = torch.max(x[:, :C], x[:, C:]), as
 * LightCNN computes it. torch.max(a, b) is torch.maximum, so on a tie the gradient is split 0.5 / 0.5
 * between the halves (not given to the first); otherwise it all goes to the larger half.
 */
export function mfm(x: Tensor): Tensor {
  expectTensor(x, 'mfm', 'input');
  if (x.rank !== 2 && x.rank !== 4) throw new Error(`mfm: expected [N, 2C, H, W] or [N, 2C], got ${formatShape(x.shape)}`);
  const [N, C2] = x.shape;
  if (C2 % 2 !== 0) throw new Error(`mfm: dimension 1 of ${formatShape(x.shape)} must be even (two halves); give the layer before it 2·C outputs`);
  const C = C2 / 2;
  const S = x.rank === 4 ? x.shape[2] * x.shape[3] : 1;
  const outShape = [N, C, ...x.shape.slice(2)];
  const y = wrap(mfmForward(x.buffer, N, C, S), outShape);
  return record('mfm', [x], y, [x], (g) => [wrap(mfmBackward(x.buffer, g.buffer, N, C, S), x.shape)]);
}
