// PyTorch checkpoints (torch.save files, zip and legacy formats) read without Python and without
// running the pickle: see checkpoint.ts for the formats, unpickle.ts for what may be built.
export { dataParallelPrefix, loadPytorchCheckpoint, readPytorchCheckpoint, type CheckpointFormat, type PytorchCheckpoint, type PytorchTensor, type ReadCheckpointOptions } from './checkpoint.js';
export { unpickle, PickledTensor, type StorageRef, type TorchDtype, type UnpickleOptions, type UnpickleResult } from './unpickle.js';
