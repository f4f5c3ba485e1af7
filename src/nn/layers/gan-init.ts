// The GAN weight initialisation of DCGAN / pix2pix / PN-GAN (their `weights_init`): conv and
// linear weights N(0, std), norm-layer scales N(1, std), every bias 0.
import type { Generator } from '../../tensor/random.js';
import { normal_, zeros_ } from '../init.js';
import type { AnyModule } from '../module.js';
import { Linear } from './basic.js';
import { Conv2d, ConvTranspose2d } from './conv.js';
import { BatchNorm1d, BatchNorm2d, InstanceNorm2d } from './norm.js';

/** Re-initialises every Conv2d / ConvTranspose2d / Linear / BatchNorm / affine InstanceNorm in `module`. */
export function initGanWeights(module: AnyModule, options: { std?: number; generator?: Generator } = {}): void {
  const std = options.std ?? 0.02;
  module.apply((m) => {
    if (m instanceof Conv2d || m instanceof ConvTranspose2d || m instanceof Linear) {
      normal_(m.weight, 0, std, options.generator);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof BatchNorm2d || m instanceof BatchNorm1d || m instanceof InstanceNorm2d) {
      if (m.weight) normal_(m.weight, 1, std, options.generator);
      if (m.bias) zeros_(m.bias);
    }
  });
}
