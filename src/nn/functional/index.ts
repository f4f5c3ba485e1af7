// F: the functional ops, each with its backward rule. PyTorch names and semantics. The ops written for
// float32 take float16 tensors through ./half.ts (computed in float32, the result rounded once, as
// PyTorch does); the views, the GEMM-shaped ops (conv, matmul, linear), the pools and norms, and
// (acceptsHalfNatively, where every tensor operand is float16) the elementwise and data-moving ops
// take them natively.
import * as elementwise from './elementwise.js';
import * as reduce from './reduce.js';
import * as shape from './shape.js';
import * as loss from './loss.js';
import * as norm from './norm.js';
import * as maxFeatureMap from './mfm.js';
import { acceptsHalf, acceptsHalfNatively, acceptsHalfReturningIndices, acceptsHalfWithIndices } from './half.js';

export type { Operand } from './elementwise.js';
export type { ReduceOptions } from './reduce.js';
export type { PadMode } from './shape.js';
export type { Reduction, CrossEntropyOptions } from './loss.js';
export type { MaxPool2dOptions, AvgPool2dOptions } from './pool.js';
export type { BatchNormOptions, FusedActivationOptions } from './norm.js';
export { reshape, flatten, unsqueeze, squeeze } from './shape.js';
export { matmul, linear, type Activation } from './linalg.js';
export { conv2d, conv2dMfm, conv2dMfmMaxPool2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './conv.js';

export const neg = acceptsHalfNatively(elementwise.neg);
export const exp = acceptsHalfNatively(elementwise.exp);
export const log = acceptsHalfNatively(elementwise.log);
export const sqrt = acceptsHalfNatively(elementwise.sqrt);
export const abs = acceptsHalfNatively(elementwise.abs);
export const clamp = acceptsHalfNatively(elementwise.clamp);
export const relu = acceptsHalfNatively(elementwise.relu);
export const leakyRelu = acceptsHalfNatively(elementwise.leakyRelu);
export const sigmoid = acceptsHalfNatively(elementwise.sigmoid);
export const tanh = acceptsHalfNatively(elementwise.tanh);
export const dropout = acceptsHalf(elementwise.dropout);
export const add = acceptsHalfNatively(elementwise.add);
export const sub = acceptsHalfNatively(elementwise.sub);
export const mul = acceptsHalfNatively(elementwise.mul);
export const div = acceptsHalfNatively(elementwise.div);
export const pow = acceptsHalfNatively(elementwise.pow);
export const maximum = acceptsHalfNatively(elementwise.maximum);
export const minimum = acceptsHalfNatively(elementwise.minimum);
export const eq = acceptsHalfNatively(elementwise.eq);

export const sum = acceptsHalf(reduce.sum);
export const mean = acceptsHalf(reduce.mean);
export const max = acceptsHalf(reduce.max);
export const min = acceptsHalf(reduce.min);
export const maxWithIndices = acceptsHalfWithIndices(reduce.maxWithIndices);
export const argmax = acceptsHalfReturningIndices(reduce.argmax);

export const expand = acceptsHalfNatively(shape.expand);
export const sumTo = acceptsHalf(shape.sumTo);
export const permute = acceptsHalfNatively(shape.permute);
export const transpose = acceptsHalfNatively(shape.transpose);
export const slice = acceptsHalfNatively(shape.slice);
export const cat = acceptsHalfNatively(shape.cat);
export const pad = acceptsHalfNatively(shape.pad);

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
