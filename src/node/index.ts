// webfer/node: the Node-only API — safetensors files, training checkpoints, atomic writes and
// datasets read from disk. The browser-safe core is the package's main entry.
export {
  saveSafetensors, loadSafetensors, saveTrainingCheckpoint, loadTrainingCheckpoint, peekTrainingCheckpoint,
} from './checkpoint.js';
export { writeFileAtomic } from './atomic-write.js';
export type { HostArray, SafetensorsContent } from '../nn/safetensors.js';
export type { RunInfo, TrainingParts } from '../train/checkpoint.js';
export * from './data/index.js';
