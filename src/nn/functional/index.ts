// F: the functional ops, each with its backward rule. PyTorch names and semantics.
export { neg, exp, log, sqrt, abs, clamp, relu, leakyRelu, sigmoid, tanh, dropout, add, sub, mul, div, pow, maximum, minimum, eq, type Operand } from './elementwise.js';
export { sum, mean, max, min, maxWithIndices, argmax, type ReduceOptions } from './reduce.js';
export { reshape, flatten, unsqueeze, squeeze, expand, sumTo, permute, transpose, slice, cat, pad, type PadMode } from './shape.js';
export { matmul, linear, type Activation } from './linalg.js';
export { softmax, logSoftmax, crossEntropy, bceWithLogits, mseLoss, l1Loss, type Reduction, type CrossEntropyOptions } from './loss.js';
export { conv2d, conv2dMfm, conv2dMfmMaxPool2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './conv.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './pool.js';
export { batchNorm, batchNormMfm, instanceNorm, type BatchNormOptions, type FusedActivationOptions } from './norm.js';
export { mfm } from './mfm.js';
