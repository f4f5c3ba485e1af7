/** Node file helpers for the data layer: recursive listing, friendly read errors (atomic writes: ../atomic-write.ts). */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

/** All files under root (sorted, '/'-separated paths relative to root); symbolic links followed (see walk). */
export async function listFiles(root: string): Promise<string[]> {
  return sortPaths((await walk(root)).files);
}

/** All folders under root (sorted, '/'-separated paths relative to root); symbolic links followed (see walk). */
export async function listFolders(root: string): Promise<string[]> {
  return sortPaths((await walk(root)).folders);
}

function sortPaths(paths: string[]): string[] {
  return paths.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * Files and folders under root, following symbolic links as torchvision's ImageFolder does
 * (os.walk(followlinks=True)): datasets are often assembled from links into a shared store, and
 * a linked image or class folder left out would be dropped unseen. A link back to a folder it
 * sits in (a cycle) is not entered again; a dangling link is listed as a file, so that reading it
 * names it rather than skipping it.
 */
async function walk(root: string): Promise<{ files: string[]; folders: string[] }> {
  const files: string[] = [], folders: string[] = [];
  const visit = async (folder: string, prefix: string, ancestors: readonly string[]): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const relativePath = prefix ? `${prefix}/${entry.name}` : entry.name;
      let isFolder = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        try {
          isFolder = (await stat(path)).isDirectory();
        } catch {
          isFolder = false; // dangling: listed as a file, its reader reports it
        }
      } else if (!isFolder && !entry.isFile()) {
        continue; // sockets, devices, FIFOs
      }
      if (!isFolder) {
        files.push(relativePath);
        continue;
      }
      const real = await realpath(path);
      if (ancestors.includes(real)) continue;
      folders.push(relativePath);
      await visit(path, relativePath, [...ancestors, real]);
    }
  };
  await visit(root, '', [await realpath(root)]);
  return { files, folders };
}

export const IMAGE_EXTENSIONS = /\.(png|jpe?g|tiff?)$/i;
/** Image formats the codecs do not read: a dataset folder's loader names them rather than dropping them unseen. */
export const UNSUPPORTED_IMAGE_EXTENSIONS = /\.(bmp|gif|webp|pgm|ppm|pbm|pnm|heic|heif|avif|jp2)$/i;
