export * from './files.js';
export * from './open-dataset.js';
export * from './write-synth.js';
export * from './write-splits.js';
