// Keeps the autotuner's choices (WEBFER_AUTOTUNE=1) across runs, per adapter, in one JSON file:
// $WEBFER_AUTOTUNE_CACHE, else $XDG_CACHE_HOME/webfer/autotune.json, else ~/.cache/webfer/autotune.json.
// Choices are valid for one adapter and one set of kernel sources: a changed shader (a new webfer)
// starts that adapter's entry afresh. A file that is not ours is reported and left untouched.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { KernelPolicy, init, type Gpu } from '../gpu/index.js';
import { shaderSources } from '../shaders.generated.js';
import { writeFileAtomic } from './atomic-write.js';

interface AdapterEntry {
  /** sha256 of every kernel source the choices were timed with. */
  kernels: string;
  choices: Record<string, string>;
}

interface CacheFile {
  format: 'webfer-autotune';
  version: 1;
  adapters: Record<string, AdapterEntry>;
}

export function autotuneCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WEBFER_AUTOTUNE_CACHE) return env.WEBFER_AUTOTUNE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'webfer', 'autotune.json');
}

function kernelsHash(): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(shaderSources).sort()) hash.update(name).update('\0').update(shaderSources[name]!).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function adapterKey(ctx: Gpu): string {
  const { vendor, architecture, device, description } = ctx.info;
  return [vendor, architecture, device, description].join(' | ');
}

/** The file's contents, a fresh one when absent; throws a one-line error for a file that is not an autotune cache. */
function readCache(path: string): CacheFile {
  if (!existsSync(path)) return { format: 'webfer-autotune', version: 1, adapters: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${(error as Error).message})`);
  }
  const file = parsed as Partial<CacheFile>;
  if (file?.format !== 'webfer-autotune' || file.version !== 1 || typeof file.adapters !== 'object' || file.adapters === null) {
    throw new Error(`${path} is not a webfer autotune cache (format "webfer-autotune", version 1)`);
  }
  return file as CacheFile;
}

export interface AutotuneCacheStatus {
  path: string;
  /** Choices taken from the file for this adapter and these kernels. */
  restored: number;
  /** Set when the file could not be used: it is then neither read nor written. */
  problem?: string;
}

/**
 * With autotuning on: restores this adapter's choices from the cache file and saves them back
 * after every tune. Does nothing (and reports nothing restored) when autotuning is off.
 */
export function attachAutotuneCache(ctx: Gpu, path = autotuneCachePath()): AutotuneCacheStatus {
  const tuner = ctx.policy.autotuner;
  if (!tuner.enabled) return { path, restored: 0 };
  let cache: CacheFile;
  try {
    cache = readCache(path);
  } catch (error) {
    tuner.onTuned = undefined;
    return { path, restored: 0, problem: `${(error as Error).message}; autotuned choices are kept for this run only (move the file away to start a new cache)` };
  }
  const key = adapterKey(ctx);
  const kernels = kernelsHash();
  const entry = cache.adapters[key];
  const { restored } = entry && entry.kernels === kernels ? tuner.restore(entry.choices, KernelPolicy.allows) : { restored: 0 };
  tuner.onTuned = (choices) => {
    // Re-read, so that runs on other adapters sharing the file keep their entries.
    const latest = readCache(path);
    latest.adapters[key] = { kernels, choices };
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, `${JSON.stringify(latest, null, 2)}\n`);
  };
  return { path, restored };
}

/** One line for a command's log: what autotuning does in this run (undefined when it is off). */
export function describeAutotune(status: AutotuneCacheStatus): string | undefined {
  if (status.problem) return `autotune: on; ${status.problem}`;
  return `autotune: on; ${status.restored} choice${status.restored === 1 ? '' : 's'} restored from ${status.path}, new shapes are timed after the first step`;
}

/** init() for a command that trains or benchmarks: attaches the autotune cache and says so on stderr when WEBFER_AUTOTUNE is on. */
export async function initWithAutotuneCache(): Promise<Gpu> {
  const ctx = await init();
  const line = ctx.policy.autotuner.enabled ? describeAutotune(attachAutotuneCache(ctx)) : undefined;
  if (line) console.error(line);
  return ctx;
}
