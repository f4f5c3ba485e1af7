// Atomic file writes (Node): a temp file in the same folder, fsync, then rename, so a reader or an
// interrupted run never sees half a file; temp files that killed writers left behind are removed.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';

/**
 * Makes a folder and its missing parents one level at a time: Node's recursive mkdir spins forever
 * on some paths (under /proc) and its raw errors name no fix. `what` says what the folder is for
 * (e.g. "--out runs/a"); throws naming the folder that could not be made and why.
 */
export function makeFolders(path: string, what = path): void {
  const missing: string[] = [];
  for (let folder = resolve(path); !existsSync(folder) && dirname(folder) !== folder; folder = dirname(folder)) missing.unshift(folder);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code === 'EEXIST') continue;
      throw new Error(`${what}: cannot make the folder ${folder} (${message}): pass a folder you can write to`);
    }
  }
}

/** Writes bytes to path atomically (temp file + fsync + rename), first removing temp files that dead writers left. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  makeFolders(dirname(path), path);
  removeStaleTempFiles(path);
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
  try {
    renameSync(temp, path);
  } catch (error) {
    // A folder at path (EISDIR) or a vanished folder: the temp file must not stay behind.
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Removes `.<name>.<pid>.<time>.tmp` files of `path` (writeFileAtomic's temp names) whose writer is
 * gone: killed mid-write, the temp file stays forever otherwise. A live process's temp file is
 * kept (it may be writing now); this process's own are stale, since its writes are synchronous.
 * Returns the names removed.
 */
export function removeStaleTempFiles(path: string): string[] {
  const folder = dirname(path);
  const pattern = new RegExp(`^\\.${basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.\\d+\\.tmp$`);
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || (pid !== process.pid && isProcessAlive(pid))) continue;
    rmSync(join(folder, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}
