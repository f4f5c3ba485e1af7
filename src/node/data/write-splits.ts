/**
 * `webfer split`: reads an index CSV, applies a task's split rule, writes train.csv / val.csv /
 * test.csv and split.json. The split files' paths are relative to their own folder, so they climb
 * out of it (`../images/...`) when --out is not the dataset folder; split.json names the dataset
 * folder they may reach (the source index's folder), which is where readers check paths stay.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { formatIndexCsv, parseIndexCsv, type IndexRow } from '../../data/index-csv.js';
import { assertDisjointParts, splitRows, type SplitResult, type Task } from '../../data/splits.js';
import { DataError, type DataProblem } from '../../data/errors.js';
import { writeFileAtomic } from '../atomic-write.js';
import { readText } from './files.js';

export const SPLIT_MANIFEST = 'split.json';

export interface SplitManifest {
  task: Task;
  seed: number;
  /** The index that was split, relative to the manifest's folder. */
  index: string;
  /** The dataset folder the split files' paths must stay inside, relative to the manifest's folder. */
  datasetFolder: string;
  sizes: { train: number; val: number; test: number };
  rareExpressions?: number[];
  testSubjects?: string[];
}

export interface WriteSplitsOptions {
  skipBad?: boolean;
  allowOutsidePaths?: boolean;
  /** Replace split files already in outDir (refused otherwise: they may belong to a run). */
  overwrite?: boolean;
}

export interface WriteSplitsResult { result: SplitResult<IndexRow>; files: string[]; problems: DataProblem[] }

const toPosix = (path: string) => path.split(sep).join('/');

export async function writeSplits(indexPath: string, task: Task, seed: number, outDir: string, options: WriteSplitsOptions = {}): Promise<WriteSplitsResult> {
  const parsed = parseIndexCsv(await readText(indexPath), {
    file: indexPath, skipBad: options.skipBad, allowOutsidePaths: options.allowOutsidePaths, datasetFolder: await datasetFolderOf(indexPath),
  });
  const result = splitRows(parsed.rows, task, seed);
  // Split files with an empty part were written, exit 0, and failed only when a run read them.
  if (result.train.length === 0 || result.test.length === 0) {
    throw new DataError(`${task} (seed ${seed}) leaves a split empty`, {
      file: indexPath, expected: 'rows in both train and test', got: `train ${result.train.length} · test ${result.test.length} of ${parsed.rows.length} row(s)`,
      hint: `use an index with more images${task === 'er-zid' ? ' (er-zid holds out whole subjects: at least 2)' : task === 'er-up' ? ' (er-up tests on half-left (HL) images)' : ''}, or another --task`,
    });
  }
  // Paths in the split files are relative to where the split files are written.
  const rebase = (value: string) => toPosix(relative(resolve(outDir), resolve(dirname(indexPath), value)));
  const parts: [string, IndexRow[]][] = task === 'er-ss' ? [['train', result.train], ['val', result.val], ['test', result.test]] : [['train', result.train], ['test', result.test]];
  const lineOf = new Map(parsed.rows.map((row, k) => [row, parsed.lines[k]!]));
  assertDisjointParts(parts, (row) => resolve(dirname(indexPath), row.path), (row) => `${indexPath}:${lineOf.get(row)}`);
  const targets = [...['train', 'val', 'test'].map((name) => join(outDir, `${name}.csv`)), join(outDir, SPLIT_MANIFEST)];
  // --overwrite replaces earlier split files, never the index being split (it lost every row but its train part).
  const source = targets.find((file) => resolve(file) === resolve(indexPath));
  if (source) {
    throw new DataError('the split would overwrite its own index', { file: indexPath, expected: 'an --out where no split file has the index\'s name', got: `--out ${outDir} writes ${source}`, hint: 'pass another --out (e.g. a splits/ folder beside the index), or rename the index' });
  }
  const existing = targets.filter((file) => existsSync(file));
  if (existing.length > 0 && !options.overwrite) {
    throw new DataError('split files exist', { file: existing[0]!, expected: 'a folder without train.csv / val.csv / test.csv / split.json', got: `${existing.length} of them already there`, hint: 'pass another --out, or --overwrite to replace them' });
  }
  const files: string[] = [];
  for (const [name, rows] of parts) {
    const file = join(outDir, `${name}.csv`);
    await writeFileAtomic(file, formatIndexCsv(rows.map((row) => ({ ...row, path: rebase(row.path), landmarks: row.landmarks ? rebase(row.landmarks) : undefined, split: name as IndexRow['split'] })), parsed.extraColumns));
    files.push(file);
  }
  const manifest: SplitManifest = {
    task, seed, index: toPosix(relative(resolve(outDir), resolve(indexPath))), datasetFolder: toPosix(relative(resolve(outDir), resolve(dirname(indexPath)))) || '.',
    sizes: { train: result.train.length, val: result.val.length, test: result.test.length },
    ...(result.rareExpressions ? { rareExpressions: result.rareExpressions } : {}),
    ...(result.testSubjects ? { testSubjects: result.testSubjects } : {}),
  };
  const manifestPath = join(outDir, SPLIT_MANIFEST);
  await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  files.push(manifestPath);
  return { result, files, problems: parsed.problems.problems };
}

export type SplitPart = 'train' | 'val' | 'test';

/**
 * Split files read back (--split-dir) against split.json: a lost val.csv made a run monitor its
 * test part, and an emptied train.csv was called "0 training images, all of one class", both
 * without naming the file. A part split.json records rows for must be there with rows (hand edits
 * that add or drop some stay allowed). `rows` holds each part's images as read (undefined: no
 * file). Without a split.json (split files made by hand) train and test must list images.
 */
export async function assertSplitFilesComplete(dir: string, rows: Record<SplitPart, number | undefined>): Promise<void> {
  const manifestPath = join(dir, SPLIT_MANIFEST);
  // Without a manifest nothing is recorded; train and test must still list an image each.
  let recorded: Partial<Record<SplitPart, unknown>> = { train: 1, test: 1 };
  if (existsSync(manifestPath)) {
    try { recorded = (JSON.parse(await readText(manifestPath)) as Partial<SplitManifest>).sizes ?? {}; } catch { /* datasetFolderOf refused it */ }
  }
  for (const part of ['train', 'val', 'test'] as const) {
    const size = recorded[part];
    if (!(typeof size === 'number' && size > 0) || (rows[part] ?? 0) > 0) continue;
    const file = join(dir, `${part}.csv`);
    const fix = 'restore it, or split the index again with `webfer split`';
    if (!existsSync(manifestPath)) throw new DataError('no images listed', { file, expected: `the ${part} images, one row each`, got: 'a header without rows', hint: fix });
    throw new DataError(rows[part] === undefined ? 'split file missing' : 'split file lists no images', { file, expected: `${size} image(s), as ${manifestPath} records`, got: rows[part] === undefined ? 'no such file' : 'none', hint: fix });
  }
}

/**
 * The dataset folder an index's paths must stay inside, relative to the index's folder: the
 * folder named by a split.json beside it (files from `webfer split`), else the index's own.
 */
export async function datasetFolderOf(indexPath: string): Promise<string> {
  const manifestPath = join(dirname(indexPath), SPLIT_MANIFEST);
  if (!existsSync(manifestPath)) return '.';
  let manifest: Partial<SplitManifest> = {};
  try { manifest = JSON.parse(await readText(manifestPath)) as Partial<SplitManifest>; } catch { /* refused below */ }
  const { datasetFolder: folder, index } = manifest;
  const fix = 'split the index again, or delete split.json to keep paths inside this folder';
  if (typeof folder !== 'string' || folder === '' || isAbsolute(folder)) {
    throw new DataError('unreadable split manifest', { file: manifestPath, expected: 'JSON with a relative "datasetFolder" (written by `webfer split`)', got: JSON.stringify(folder), hint: fix });
  }
  // The folder widens where index paths may reach, so it must be the one `webfer split` wrote:
  // the folder of the split index, which is there. Otherwise a hand-made split.json with
  // "datasetFolder": "../../.." let train.csv read any file on the machine.
  const source = typeof index === 'string' && !isAbsolute(index) ? resolve(dirname(manifestPath), index) : undefined;
  if (!source || resolve(dirname(manifestPath), folder) !== dirname(source) || !existsSync(source)) {
    throw new DataError('split manifest names a dataset folder without its index', {
      file: manifestPath, expected: `"datasetFolder" to be the folder of the split index ("index"), which exists`,
      got: `datasetFolder ${JSON.stringify(folder)}, index ${JSON.stringify(index)}${source && !existsSync(source) ? ' (missing)' : ''}`, hint: fix,
    });
  }
  return folder;
}
