/**
 * Writes a synthetic F²ED to disk:
 *   OUT/synth.json                        the settings it was made with (a resumed run must match)
 *   OUT/images/s000/HL/e05_c0_f2.png      the face crops
 *   OUT/landmarks/s000/HL/e05_c0_f2.txt   68 lines "x y" in that image's pixels
 *   OUT/index.csv                         path,subject,pose,expression,landmarks,clip,frame
 * Images render on worker threads. An interrupted run continues where it stopped: images already
 * on disk (each written atomically after its landmarks) are kept, the missing ones rendered, and
 * the index, written atomically at the end, comes out the same as an uninterrupted run's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../../data/codecs.js';
import { DataError } from '../../data/errors.js';
import { formatIndexCsv, type IndexRow } from '../../data/index-csv.js';
import { hashSeed } from '../../data/random.js';
import { listSynthSpecs, resolveSynthOptions, synthSubjectName, type SynthOptions, type SynthSpec } from '../../data/synth/generator.js';
import { synthContactSheet, type ContactSheetOptions } from '../../data/synth/contact-sheet.js';
import { removeStaleTempFiles, writeFileAtomic } from '../atomic-write.js';
import { listFiles } from './files.js';
import { renderSynthInWorkers, synthFilePaths, type SynthWorkerOptions } from './synth-workers.js';

export interface WriteSynthOptions extends SynthWorkerOptions {
  /** The images to write (default: listSynthSpecs(options)); a preset's plan passes its own. */
  specs?: readonly SynthSpec[];
  /** How the specs were chosen (e.g. { preset: 'f2ed', scale: 1 }), recorded in synth.json. */
  recipe?: Record<string, string | number>;
  /** Called once the folder is checked: how many images are to render and how many are already there. */
  onStart?: (missing: number, kept: number) => void;
}

export interface WriteSynthResult {
  images: number;
  indexPath: string;
  /** Images rendered by this run, and those an earlier, interrupted run had already written. */
  rendered: number;
  kept: number;
}

export const SYNTH_MANIFEST = 'synth.json';

export async function writeSynthDataset(outDir: string, options: SynthOptions, run: WriteSynthOptions = {}): Promise<WriteSynthResult> {
  const resolved = resolveSynthOptions(options);
  const specs = run.specs ?? listSynthSpecs(options);
  const manifest = {
    format: 'webfer-synth', version: 1, recipe: run.recipe ?? {}, options: resolved, images: specs.length,
    specsHash: hashSpecs(specs),
  };
  checkResumable(outDir, manifest);
  writeFileAtomic(join(outDir, SYNTH_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);

  const present = new Set(await listFilesIfAny(outDir, 'images'));
  for (const path of await listFilesIfAny(outDir, 'landmarks')) present.add(path);
  // Temp files a killed run left behind: removed (unless a live process is writing them).
  for (const path of present) {
    const temp = /^(.*\/)\.(.+)\.\d+\.\d+\.tmp$/.exec(path);
    if (temp) removeStaleTempFiles(join(outDir, `${temp[1]}${temp[2]}`));
  }
  const missing = specs.filter((spec) => {
    const paths = synthFilePaths(spec);
    return !(present.has(paths.image) && present.has(paths.landmarks));
  });
  run.onStart?.(missing.length, specs.length - missing.length);
  await renderSynthInWorkers(outDir, options, missing, run);

  const rows: IndexRow[] = specs.map((spec) => {
    const paths = synthFilePaths(spec);
    return { path: paths.image, subject: synthSubjectName(spec.subject), pose: spec.pose, expression: spec.expression, landmarks: paths.landmarks, clip: spec.clip, frame: spec.frame };
  });
  const indexPath = join(outDir, 'index.csv');
  writeFileAtomic(indexPath, formatIndexCsv(rows));
  return { images: specs.length, indexPath, rendered: missing.length, kept: specs.length - missing.length };
}

/** A fingerprint of the image list, so that a resumed run cannot mix two different lists. */
function hashSpecs(specs: readonly SynthSpec[]): number {
  let hash = hashSeed('synth-specs', specs.length);
  for (const spec of specs) hash = hashSeed(hash, synthFilePaths(spec).image, spec.clipFrames ?? 0);
  return hash;
}

/** Paths under outDir/folder, relative to outDir ('/'-separated); none when the folder is absent. */
async function listFilesIfAny(outDir: string, folder: string): Promise<string[]> {
  if (!existsSync(join(outDir, folder))) return [];
  return (await listFiles(join(outDir, folder))).map((path) => `${folder}/${path}`);
}

/**
 * A folder is resumed only when its synth.json records the same settings; a folder holding
 * other files (a dataset, another synth) is refused rather than mixed or overwritten.
 */
function checkResumable(outDir: string, manifest: { recipe: object; options: object; images: number; specsHash: number }): void {
  const manifestPath = join(outDir, SYNTH_MANIFEST);
  if (!existsSync(manifestPath)) {
    const taken = ['index.csv', 'images', 'landmarks'].filter((name) => existsSync(join(outDir, name)));
    if (taken.length > 0) {
      throw new DataError(`${outDir} already holds ${taken.join(', ')} but no ${SYNTH_MANIFEST}`, {
        expected: 'an empty or new folder, or one an interrupted `webfer synth` left', got: 'files of another dataset',
        hint: 'choose another output folder (nothing was written)',
      });
    }
    return;
  }
  let earlier: { recipe?: Record<string, unknown>; options?: Record<string, unknown>; images?: number; specsHash?: number };
  try {
    earlier = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (error) {
    throw new DataError(`unreadable ${SYNTH_MANIFEST}`, { file: manifestPath, got: (error as Error).message, hint: 'choose another output folder, or delete this one to start over' });
  }
  const now = manifest as unknown as { recipe: Record<string, unknown>; options: Record<string, unknown>; images: number; specsHash: number };
  const differences: string[] = [];
  for (const part of ['recipe', 'options'] as const) {
    const keys = new Set([...Object.keys(earlier[part] ?? {}), ...Object.keys(now[part])]);
    for (const key of keys) {
      const before = JSON.stringify(earlier[part]?.[key]), after = JSON.stringify(now[part][key]);
      if (before !== after) differences.push(`${key} ${preview(before)} → ${preview(after)}`);
    }
  }
  if (differences.length === 0 && (earlier.images !== now.images || earlier.specsHash !== now.specsHash)) differences.push(`image list (${earlier.images} → ${now.images} images)`);
  if (differences.length > 0) {
    throw new DataError(`${outDir} holds a synth made with other settings (${differences.slice(0, 3).join(', ')})`, {
      file: manifestPath, hint: 'rerun with the same settings to resume it, or choose another output folder',
    });
  }
}

function preview(json: string | undefined): string {
  if (json === undefined) return 'unset';
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

export async function writeSynthContactSheet(path: string, options: ContactSheetOptions): Promise<void> {
  writeFileAtomic(path, encodePng(synthContactSheet(options)));
}
