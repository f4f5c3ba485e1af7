// webfer/node: the Node-only API — safetensors files, training checkpoints, atomic writes and
// datasets read from disk. The browser-safe core is the package's main entry.
// The declarations name WebGPU's types (GPUBuffer, GPUDevice, ...), which live in @webgpu/types,
// not in TypeScript's lib: this directive makes a user's tsc load them (preserve: kept in the .d.ts).
/// <reference types="@webgpu/types" preserve="true" />
export {
  saveSafetensors, loadSafetensors, saveTrainingCheckpoint, loadTrainingCheckpoint, peekTrainingCheckpoint,
} from './checkpoint.js';
export { writeFileAtomic } from './atomic-write.js';
export type { HostArray, SafetensorsContent } from '../nn/safetensors.js';
export type { RunInfo, TrainingParts } from '../train/checkpoint.js';
export * from './data/index.js';
