/** Node file helpers for the data layer: recursive listing, friendly read errors (atomic writes: ../atomic-write.ts). */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DataError } from '../../data/errors.js';

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new DataError('cannot read file', { file: path, expected: 'a readable file', got: (error as NodeJS.ErrnoException).code ?? String(error), hint: 'check the path (index paths are relative to the index file)' });
  }
}

export async function readText(path: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path));
}

export async function isDirectory(path: string): Promise<boolean> {
  try { return (await stat(path)).isDirectory(); } catch { return false; }
}

/** All files under root (sorted, '/'-separated paths relative to root). */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)).split(sep).join('/'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** All folders under root (sorted, '/'-separated paths relative to root). */
export async function listFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isDirectory())
    .map((entry) => relative(root, join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name)).split(sep).join('/'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export const IMAGE_EXTENSIONS = /\.(png|jpe?g|tiff?)$/i;
/** Image formats the codecs do not read: a dataset folder's loader names them rather than dropping them unseen. */
export const UNSUPPORTED_IMAGE_EXTENSIONS = /\.(bmp|gif|webp|pgm|ppm|pbm|pnm|heic|heif|avif|jp2)$/i;
