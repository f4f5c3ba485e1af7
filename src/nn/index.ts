// nn: modules with registered parameters and state dicts, the layers, and weight initialisation.
export { Module, Parameter, buffer, copyInto, type AnyModule, type HostTensor, type StateSource, type LoadResult } from './module.js';
export { Linear, Identity, ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, Flatten, Sequential } from './layers/basic.js';
export { Conv2d, ConvTranspose2d, type Conv2dLayerOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d } from './layers/pool.js';
export { MFM, type MFMOptions } from './layers/mfm.js';
export { BatchNorm1d, BatchNorm2d, InstanceNorm2d, type BatchNormLayerOptions } from './layers/norm.js';
export { initGanWeights } from './layers/gan-init.js';
export * as init from './init.js';
