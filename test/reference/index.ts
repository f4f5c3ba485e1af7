// The whole float64 reference suite.
export * from './tensor64.js';
export * from './random.js';
export * from './ops.js';
export * from './gradcheck.js';
export * from './assert.js';
