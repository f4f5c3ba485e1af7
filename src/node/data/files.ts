/** Node file helpers for the data layer: recursive listing, friendly read errors (atomic writes: ../atomic-write.ts). */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { DataError, preview } from '../../data/errors.js';

export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    // An index written on Windows names files with backslashes, which are part of a file name here.
    const hint = code === 'ENOENT' && path.includes('\\') && sep === '/'
      ? 'the path has backslashes (Windows separators): write the index\'s paths with / (e.g. sed \'s#\\\\#/#g\')'
      : 'check the path (index paths are relative to the index file)';
    throw new DataError('cannot read file', { file: path, expected: 'a readable file', got: code, hint });
  }
}

/**
 * A text file (index, FER2013 CSV, landmarks, split.json) as UTF-8; a byte-order mark is fine.
 * Other encodings are refused: decoding a Windows-1252 index put U+FFFD in place of each accented
 * letter, which `split` wrote into its CSVs and which merged subjects differing in one letter.
 */
export async function readText(path: string): Promise<string> {
  const bytes = await readBytes(path);
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new DataError('UTF-16 text', { file: path, expected: 'UTF-8 text', got: 'a UTF-16 byte-order mark', hint: 'save it as UTF-8 (in Excel: "CSV UTF-8"; or iconv -f UTF-16 -t UTF-8)' });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw notUtf8(bytes, path);
  }
}

/** The error for bytes that are not UTF-8, naming the first bad line and byte. */
function notUtf8(bytes: Uint8Array, path: string): DataError {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; ; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      return new DataError('not UTF-8 text', {
        file: path, line, expected: 'UTF-8 text', got: `bytes UTF-8 does not allow (shown as �) in ${preview(new TextDecoder().decode(bytes.subarray(start, end)), 80)}`,
        hint: 'save it as UTF-8 (in Excel: "CSV UTF-8"; or iconv -f WINDOWS-1252 -t UTF-8)',
      });
    }
    if (newline < 0) return new DataError('not UTF-8 text', { file: path, expected: 'UTF-8 text', got: 'a byte sequence UTF-8 does not allow' });
    start = newline + 1;
  }
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
