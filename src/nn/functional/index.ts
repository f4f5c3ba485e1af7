// F: the functional ops, each with its backward rule. PyTorch names and semantics. The ops written for
// float32 take float16 tensors through ./half.ts (computed in float32, the result rounded once, as
// PyTorch does); the views and the GEMM-shaped ops (conv, matmul, linear) take them natively.
import * as elementwise from './elementwise.js';
import * as reduce from './reduce.js';
import * as shape from './shape.js';
import * as loss from './loss.js';
import * as norm from './norm.js';
import * as maxFeatureMap from './mfm.js';
import { acceptsHalf, acceptsHalfReturningIndices, acceptsHalfWithIndices } from './half.js';

export type { Operand } from './elementwise.js';
export type { ReduceOptions } from './reduce.js';
export type { PadMode } from './shape.js';
export type { Reduction, CrossEntropyOptions } from './loss.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from './pool.js';
export type { BatchNormOptions, FusedActivationOptions } from './norm.js';
export { reshape, flatten, unsqueeze, squeeze } from './shape.js';
export { matmul, linear, type Activation } from './linalg.js';
export { conv2d, conv2dMfm, conv2dMfmMaxPool2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './conv.js';

export const neg = acceptsHalf(elementwise.neg);
export const exp = acceptsHalf(elementwise.exp);
export const log = acceptsHalf(elementwise.log);
export const sqrt = acceptsHalf(elementwise.sqrt);
export const abs = acceptsHalf(elementwise.abs);
export const clamp = acceptsHalf(elementwise.clamp);
export const relu = acceptsHalf(elementwise.relu);
export const leakyRelu = acceptsHalf(elementwise.leakyRelu);
export const sigmoid = acceptsHalf(elementwise.sigmoid);
export const tanh = acceptsHalf(elementwise.tanh);
export const dropout = acceptsHalf(elementwise.dropout);
export const add = acceptsHalf(elementwise.add);
export const sub = acceptsHalf(elementwise.sub);
export const mul = acceptsHalf(elementwise.mul);
export const div = acceptsHalf(elementwise.div);
export const pow = acceptsHalf(elementwise.pow);
export const maximum = acceptsHalf(elementwise.maximum);
export const minimum = acceptsHalf(elementwise.minimum);
export const eq = acceptsHalf(elementwise.eq);

export const sum = acceptsHalf(reduce.sum);
export const mean = acceptsHalf(reduce.mean);
export const max = acceptsHalf(reduce.max);
export const min = acceptsHalf(reduce.min);
export const maxWithIndices = acceptsHalfWithIndices(reduce.maxWithIndices);
export const argmax = acceptsHalfReturningIndices(reduce.argmax);

export const expand = acceptsHalf(shape.expand);
export const sumTo = acceptsHalf(shape.sumTo);
export const permute = acceptsHalf(shape.permute);
export const transpose = acceptsHalf(shape.transpose);
export const slice = acceptsHalf(shape.slice);
export const cat = acceptsHalf(shape.cat);
export const pad = acceptsHalf(shape.pad);

export const softmax = acceptsHalf(loss.softmax);
export const logSoftmax = acceptsHalf(loss.logSoftmax);
export const crossEntropy = acceptsHalf(loss.crossEntropy, 'input');
export const bceWithLogits = acceptsHalf(loss.bceWithLogits);
export const mseLoss = acceptsHalf(loss.mseLoss);
export const l1Loss = acceptsHalf(loss.l1Loss);

// The pool kernels read and write float16 themselves (the indices stay float32).
export { maxPool2d, maxPool2dWithIndices, avgPool2d } from './pool.js';

// The norm kernels read and write a float16 input natively (f32 statistics); float16 parameters are widened.
export const batchNorm = acceptsHalf(norm.batchNorm, 'input', [0]);
export const batchNormMfm = acceptsHalf(norm.batchNormMfm, 'input', [0]);
export const instanceNorm = acceptsHalf(norm.instanceNorm, 'input', [0]);

export const mfm = acceptsHalf(maxFeatureMap.mfm);
