export * from './files.js';
export * from './open-dataset.js';
export * from './write-synth.js';
export * from './write-splits.js';
export * from './synth-on-the-fly.js';
