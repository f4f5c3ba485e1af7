// Checkpoint files (Node): safetensors written atomically — a temp file in the same folder,
// fsync, then rename — so an interrupted save never leaves a half-written checkpoint behind, and
// read by ranges (header first, then each tensor's bytes straight into its array), so files of
// any size load and a header-only look reads a few kilobytes.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, removeStaleTempFiles } from './atomic-write.js';
import {
  assertFiniteTensors, assertReadableDtype, decodeTensorData, encodeSafetensors, parseSafetensorsHeader, readHeaderLength,
  type HostArray, type SafetensorsContent, type TensorLayout,
} from '../nn/safetensors.js';
import { captureCheckpoint, readRunInfo, restoreCheckpoint, type RunInfo, type TrainingParts } from '../train/checkpoint.js';

export { assertFiniteTensors };


export function saveSafetensors(path: string, tensors: Map<string, HostArray> | Record<string, HostArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface LoadOptions {
  /** Which tensors to read (all by default); the whole header is validated either way. */
  select?: (name: string) => boolean;
  /** Refuse tensors holding NaN or ±Inf (weights to compute with; see assertFiniteTensors). */
  finite?: boolean;
}

/** Reads a safetensors file by ranges: the header, then only the selected tensors' bytes. */
export function loadSafetensors(path: string, options: LoadOptions = {}): SafetensorsContent {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read checkpoint ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) {
      // Most often a run folder: name the checkpoint a run writes there.
      const inside = ['checkpoint.safetensors', 'best.safetensors'].map((name) => join(path, name)).filter((file) => existsSync(file));
      throw new Error(`${path} is a folder, not a checkpoint file: ${inside.length ? `pass ${inside.join(' or ')}` : 'pass a .safetensors file (a run folder holds checkpoint.safetensors)'}`);
    }
    if (!stats.isFile()) throw new Error(`cannot read checkpoint ${path}: not a file`);
    const fileLength = stats.size;
    const headerLength = readHeaderLength(readRange(fd, 0, Math.min(8, fileLength), path), fileLength, path);
    const layout = parseSafetensorsHeader(readRange(fd, 8, headerLength, path), fileLength, path);
    const wanted = layout.tensors.filter((t) => options.select?.(t.name) ?? true);
    for (const t of wanted) assertReadableDtype(t, path);
    const tensors = new Map<string, HostArray>();
    for (const t of wanted) tensors.set(t.name, { shape: t.shape, data: readTensor(fd, layout.dataStart, t, path) });
    if (options.finite) assertFiniteTensors(tensors, path);
    return { tensors, metadata: layout.metadata };
  } finally {
    closeSync(fd);
  }
}


const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function readTensor(fd: number, dataStart: number, tensor: TensorLayout, path: string): Float32Array {
  if (tensor.dtype === 'F32' && littleEndian) {
    const data = new Float32Array((tensor.end - tensor.begin) / 4);
    readInto(fd, new Uint8Array(data.buffer), dataStart + tensor.begin, path);
    return data;
  }
  return decodeTensorData(tensor, readRange(fd, dataStart + tensor.begin, tensor.end - tensor.begin, path));
}

function readRange(fd: number, position: number, length: number, path: string): Uint8Array {
  const bytes = new Uint8Array(length);
  readInto(fd, bytes, position, path);
  return bytes;
}

/** Fills `target` from `position` (a single read is capped below 2 GiB, so it loops). */
function readInto(fd: number, target: Uint8Array, position: number, path: string): void {
  const chunk = 1 << 30;
  let done = 0;
  while (done < target.length) {
    const read = readSync(fd, target, done, Math.min(chunk, target.length - done), position + done);
    if (read === 0) throw new Error(`${path}: the file ended at byte ${position + done} while reading it (was it changed while loading?)`);
    done += read;
  }
}

/** Saves a training checkpoint (modules, optimizers, schedules, random stream, run info) atomically; to each path in turn when given several. */
export async function saveTrainingCheckpoint(path: string | readonly string[], parts: TrainingParts, info: RunInfo): Promise<void> {
  const content = await captureCheckpoint(parts, info);
  const bytes = encodeSafetensors(content.tensors, content.metadata);
  for (const target of typeof path === 'string' ? [path] : path) writeFileAtomic(target, bytes);
}

/** Restores a training checkpoint into already-built parts; returns where the run stood. Removes stale temp files of a killed save. */
export function loadTrainingCheckpoint(path: string, parts: TrainingParts): RunInfo {
  removeStaleTempFiles(path);
  return restoreCheckpoint(loadSafetensors(path, { finite: true }), parts, path);
}

/** The run info of a checkpoint, to rebuild the right model before loading it (reads the header only). */
export function peekTrainingCheckpoint(path: string): RunInfo {
  return readRunInfo(loadSafetensors(path, { select: () => false }), path);
}
