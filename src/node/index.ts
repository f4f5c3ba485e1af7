// webfer/node: the Node-only API — safetensors files, training checkpoints, atomic writes and
// datasets read from disk. The browser-safe core is the package's main entry.
export {
  writeFileAtomic, saveSafetensors, loadSafetensors, saveTrainingCheckpoint, loadTrainingCheckpoint, peekTrainingCheckpoint,
} from './checkpoint.js';
export type { HostArray, SafetensorsContent } from '../nn/safetensors.js';
export type { RunInfo, TrainingParts } from '../train/checkpoint.js';
export * from './data/index.js';
