// Every forward reference in one import: `import * as ref from './reference/ops.js'`.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './linalg.js';
export * from './activation.js';
export * from './loss.js';
export * from './conv.js';
export * from './norm.js';
export * from './optim.js';
