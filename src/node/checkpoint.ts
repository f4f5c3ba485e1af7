// Checkpoint files (Node): safetensors written atomically — a temp file in the same folder,
// fsync, then rename — so an interrupted save never leaves a half-written checkpoint behind.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type HostArray, type SafetensorsContent } from '../nn/safetensors.js';
import { captureCheckpoint, readRunInfo, restoreCheckpoint, type RunInfo, type TrainingParts } from '../train/checkpoint.js';

/** Writes bytes to path atomically (temp file + fsync + rename). */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
}

export function saveSafetensors(path: string, tensors: Map<string, HostArray> | Record<string, HostArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): SafetensorsContent {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read checkpoint ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/** Saves a training checkpoint (modules, optimizers, schedules, random stream, run info) atomically. */
export async function saveTrainingCheckpoint(path: string, parts: TrainingParts, info: RunInfo): Promise<void> {
  const content = await captureCheckpoint(parts, info);
  saveSafetensors(path, content.tensors, content.metadata);
}

/** Restores a training checkpoint into already-built parts; returns where the run stood. */
export function loadTrainingCheckpoint(path: string, parts: TrainingParts): RunInfo {
  return restoreCheckpoint(loadSafetensors(path), parts, path);
}

/** The run info of a checkpoint, to rebuild the right model before loading it. */
export function peekTrainingCheckpoint(path: string): RunInfo {
  return readRunInfo(loadSafetensors(path), path);
}
