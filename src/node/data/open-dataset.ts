/**
 * Opens a dataset from disk in any supported layout and returns the browser-safe Dataset shape:
 *   index   — an index CSV (path,subject,pose,expression[,landmarks,clip,frame,split])
 *   fer2013 — fer2013.csv (emotion,pixels,Usage)
 *   jaffe   — a folder of KA.AN1.39.tiff files
 *   kdef    — a folder tree of AF01ANS.JPG files
 *   ckplus  — CK+ (cohn-kanade-images/ + Emotion/ with *_emotion.txt)
 *   folder  — one folder per class (optionally under train/ val/ test/)
 */
import { basename, dirname, join, resolve } from 'node:path';
import { decodeImage } from '../../data/codecs.js';
import type { Dataset, Sample } from '../../data/dataset.js';
import { DataError, ProblemLog } from '../../data/errors.js';
import { delimiterHint, iterateCsv } from '../../data/csv.js';
import { parseFer2013 } from '../../data/datasets/fer2013.js';
import { JAFFE_NAME_HINT, KDEF_NAME_HINT, parseCkplusEmotion, parseJaffeName, parseKdefName } from '../../data/datasets/filenames.js';
import { parseIndexCsv } from '../../data/index-csv.js';
import { CKPLUS_CLASSES, EXPRESSIONS, JAFFE_CLASSES, KDEF_CLASSES, SPLITS, type SplitName } from '../../data/labels.js';
import { parseLandmarks } from '../../data/landmarks.js';
import { compareCodePoints } from '../../data/paths.js';
import { IMAGE_EXTENSIONS, UNSUPPORTED_IMAGE_EXTENSIONS, isDirectory, listFiles, listFolders, readBytes, readText } from './files.js';
import { datasetFolderOf } from './write-splits.js';

export const DATASET_FORMATS = ['auto', 'index', 'fer2013', 'jaffe', 'kdef', 'ckplus', 'folder'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface OpenDatasetOptions {
  format?: DatasetFormat;
  /** Skip bad rows/files (counted in dataset.problems) instead of stopping at the first. */
  skipBad?: boolean;
  /** CK+: label the last N frames of each labelled sequence (default 1, the peak). */
  ckplusPeakFrames?: number;
  /** Index CSV: accept paths outside the dataset's folder (`--allow-outside-paths`). */
  allowOutsidePaths?: boolean;
}

export async function detectFormat(path: string): Promise<Exclude<DatasetFormat, 'auto'>> {
  if (!(await isDirectory(path))) {
    const columns = headerColumns(await readText(path));
    // By column names, as the loaders read them: in any order, quoted or not (Kaggle's
    // icml_face_data.csv has "emotion, Usage, pixels"; R's write.csv quotes every name).
    if (columns.includes('emotion') && columns.includes('pixels')) return 'fer2013';
    if (columns.includes('path') && columns.includes('subject')) return 'index';
    throw new DataError('cannot tell the dataset format', { file: path, expected: 'an index CSV header (path,subject,pose,expression) or FER2013 (emotion,pixels,Usage)', got: JSON.stringify(columns.join(',').slice(0, 60)), hint: delimiterHint(columns) ?? 'pass --format' });
  }
  const files = (await listFiles(path)).filter((file) => !isMacMetadata(file));
  // `webfer synth OUT` and `webfer augment --out OUT` write OUT/index.csv next to images/.
  if (files.includes('index.csv')) return 'index';
  if (files.some((file) => file.endsWith('_emotion.txt'))) return 'ckplus';
  const images = files.filter((file) => IMAGE_EXTENSIONS.test(file));
  const names = images.map((file) => basename(file));
  if (names.length > 0 && names.filter((name) => parseJaffeName(name)).length > names.length / 2) return 'jaffe';
  if (names.length > 0 && names.filter((name) => parseKdefName(name)).length > names.length / 2) return 'kdef';
  return 'folder';
}

/** The header names of a CSV text (trimmed, lower-cased, quotes removed); [] when its first line is no CSV record. */
function headerColumns(text: string): string[] {
  // The first line is enough (a FER2013 file is ~300 MB): no header name holds a line break.
  const end = text.search(/\r|\n/);
  const firstLine = end < 0 ? text : text.slice(0, end);
  try {
    const header = iterateCsv(firstLine).next();
    return header.done ? [] : header.value.fields.map((name) => name.trim().toLowerCase());
  } catch {
    return [];
  }
}

export async function openDataset(path: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const format = !options.format || options.format === 'auto' ? await detectFormat(path) : options.format;
  switch (format) {
    case 'index': return openIndex(path, options);
    case 'fer2013': return parseFer2013(await readText(path), { file: path, skipBad: options.skipBad });
    case 'jaffe': return openNamedFolder(path, 'jaffe', options);
    case 'kdef': return openNamedFolder(path, 'kdef', options);
    case 'ckplus': return openCkplus(path, options);
    case 'folder': return openClassFolders(path, options);
  }
}

const loadFileImage = async (sample: Sample) => decodeImage(await readBytes(sample.path), sample.path);

async function openIndex(path: string, options: OpenDatasetOptions): Promise<Dataset> {
  if (await isDirectory(path)) path = join(path, 'index.csv');
  const parsed = parseIndexCsv(await readText(path), {
    file: path, skipBad: options.skipBad, allowOutsidePaths: options.allowOutsidePaths, datasetFolder: await datasetFolderOf(path),
  });
  const root = dirname(path);
  const samples: Sample[] = parsed.rows.map((row, k) => ({
    path: resolve(root, row.path), label: row.expression, subject: row.subject, pose: row.pose, split: row.split,
    clip: row.clip, frame: row.frame, landmarksPath: row.landmarks ? resolve(root, row.landmarks) : undefined, line: parsed.lines[k],
  }));
  return {
    format: 'index', source: path, classes: EXPRESSIONS, samples, problems: parsed.problems.problems,
    loadImage: loadFileImage,
    loadLandmarks: async (sample) => sample.landmarksPath ? parseLandmarks(await readText(sample.landmarksPath), sample.landmarksPath) : undefined,
  };
}

/** `__MACOSX/` (the resource forks macOS puts into zip archives), or an AppleDouble `._name` file (what macOS writes beside each file on a non-Mac disk). */
const MAC_METADATA_FOLDER = '__MACOSX';
function isMacMetadata(relativePath: string): boolean {
  return relativePath.split('/').some((part) => part === MAC_METADATA_FOLDER) || basename(relativePath).startsWith('._');
}

/**
 * macOS metadata in a dataset folder: its `._x.jpg` files are named like images but hold no
 * pixels, and a `__MACOSX/` folder would become a class of the class-folder layout. Each is a
 * problem naming the command that deletes it (one per `__MACOSX` folder), and none is read as data.
 */
function withoutMacMetadata(root: string, files: readonly string[], problems: ProblemLog): string[] {
  const reportedFolders = new Set<string>();
  for (const file of files.filter(isMacMetadata)) {
    const parts = file.split('/'), folderDepth = parts.indexOf(MAC_METADATA_FOLDER);
    if (folderDepth >= 0) {
      const folder = parts.slice(0, folderDepth + 1).join('/');
      if (reportedFolders.has(folder)) continue;
      reportedFolders.add(folder);
      problems.report(new DataError('macOS archive metadata, not images', {
        file: join(root, folder), expected: 'image files and class folders', got: 'a __MACOSX folder (the resource forks macOS adds to a zip archive)',
        hint: `delete it (rm -r '${join(root, folder)}'), or pass --skip-bad to leave it out`,
      }));
    } else if (IMAGE_EXTENSIONS.test(file)) {
      problems.report(new DataError('macOS metadata file, not an image', {
        file: join(root, file), expected: 'an image', got: 'an AppleDouble "._" file (macOS writes one beside each file copied to a non-Mac disk)',
        hint: `delete these (find '${root}' -name '._*' -delete), or pass --skip-bad to leave them out`,
      }));
    }
  }
  return files.filter((file) => !isMacMetadata(file));
}

/** Images in a format the codecs do not read would silently shrink a class: each is a problem. */
function reportUnsupportedImages(root: string, files: readonly string[], problems: ProblemLog): void {
  for (const file of files.filter((name) => UNSUPPORTED_IMAGE_EXTENSIONS.test(name))) {
    problems.report(new DataError('image format not supported', {
      file: join(root, file), expected: 'PNG, JPEG or TIFF', got: `a .${file.split('.').pop()} file`,
      hint: 'convert it to PNG, or move it out of the dataset folder (or pass --skip-bad to leave it out)',
    }));
  }
}

/**
 * torchvision's ImageFolder order (make_dataset): class by class in sorted order, inside a class
 * folder by sorted(os.walk(...)) (a folder's own images before its subfolders' when the names
 * sort so) and sorted file names, all in Python's code-point order; a split folder comes first.
 */
function imageFolderOrder(files: string[], classOf: (file: string) => string | undefined): string[] {
  const parts = (file: string) => {
    const slash = file.lastIndexOf('/');
    return [file.split('/')[0]!, classOf(file) ?? '', file.slice(0, slash), file.slice(slash + 1)];
  };
  return files.map((file) => ({ file, key: parts(file) }))
    .sort((a, b) => {
      for (let k = 0; k < a.key.length; k++) {
        const order = compareCodePoints(a.key[k]!, b.key[k]!);
        if (order !== 0) return order;
      }
      return 0;
    })
    .map(({ file }) => file);
}

/** The split named by a top-level train/ val/ test/ folder, if any. */
function splitFromPath(relativePath: string): SplitName | undefined {
  const top = relativePath.split('/')[0]!.toLowerCase();
  const alias: Record<string, SplitName> = { training: 'train', validation: 'val', valid: 'val', testing: 'test' };
  return (SPLITS as readonly string[]).includes(top) ? top as SplitName : alias[top];
}

async function openNamedFolder(root: string, format: 'jaffe' | 'kdef', options: OpenDatasetOptions): Promise<Dataset> {
  const problems = new ProblemLog(options.skipBad ?? false);
  const samples: Sample[] = [];
  const files = withoutMacMetadata(root, await listFiles(root), problems);
  reportUnsupportedImages(root, files, problems);
  for (const file of files) {
    if (!IMAGE_EXTENSIONS.test(file)) continue;
    const parsed = format === 'jaffe' ? parseJaffeName(basename(file)) : parseKdefName(basename(file));
    if (!parsed) {
      problems.report(new DataError(`file name does not follow the ${format.toUpperCase()} convention`, { file: join(root, file), expected: format === 'jaffe' ? JAFFE_NAME_HINT : KDEF_NAME_HINT, got: JSON.stringify(basename(file)), hint: 'rename or remove it (or pass --skip-bad)' }));
      continue;
    }
    samples.push({ path: join(root, file), label: parsed.label, subject: parsed.subject, pose: parsed.pose ?? 'F', split: splitFromPath(file) });
  }
  return { format, source: root, classes: format === 'jaffe' ? JAFFE_CLASSES : KDEF_CLASSES, samples, problems: problems.problems, loadImage: loadFileImage };
}

async function openCkplus(root: string, options: OpenDatasetOptions): Promise<Dataset> {
  const problems = new ProblemLog(options.skipBad ?? false);
  const files = withoutMacMetadata(root, await listFiles(root), problems);
  reportUnsupportedImages(root, files, problems);
  const images = files.filter((file) => IMAGE_EXTENSIONS.test(file));
  // Sequence key "S005/001" → its frames in order.
  const sequences = new Map<string, string[]>();
  for (const file of images) {
    const match = /(S\d+)_(\d+)_\d+\.(png|jpe?g|tiff?)$/i.exec(basename(file));
    if (!match) continue;
    const key = `${match[1]}/${match[2]}`;
    let frames = sequences.get(key);
    if (!frames) { frames = []; sequences.set(key, frames); }
    frames.push(file);
  }
  const peakFrames = options.ckplusPeakFrames ?? 1;
  const samples: Sample[] = [];
  for (const file of files.filter((name) => name.endsWith('_emotion.txt'))) {
    const match = /(S\d+)_(\d+)_\d+_emotion\.txt$/.exec(basename(file));
    const label = parseCkplusEmotion(await readText(join(root, file)));
    if (!match || label === undefined) {
      problems.report(new DataError('bad CK+ emotion file', { file: join(root, file), expected: 'a name like S005_001_00000011_emotion.txt holding one number 0..7', got: match ? 'unreadable label' : 'another name' }));
      continue;
    }
    const frames = sequences.get(`${match[1]}/${match[2]}`);
    if (!frames) {
      problems.report(new DataError('labelled sequence has no images', { file: join(root, file), expected: `images named ${match[1]}_${match[2]}_*.png`, got: 'none', hint: 'extract cohn-kanade-images next to Emotion' }));
      continue;
    }
    for (const frame of frames.slice(-peakFrames)) samples.push({ path: join(root, frame), label, subject: match[1]!, pose: 'F' });
  }
  return { format: 'ckplus', source: root, classes: CKPLUS_CLASSES, samples, problems: problems.problems, loadImage: loadFileImage };
}

async function openClassFolders(root: string, options: OpenDatasetOptions): Promise<Dataset> {
  const problems = new ProblemLog(options.skipBad ?? false);
  const allFiles = withoutMacMetadata(root, await listFiles(root), problems);
  reportUnsupportedImages(root, allFiles, problems);
  const files = allFiles.filter((file) => IMAGE_EXTENSIONS.test(file));
  const classOf = (file: string) => {
    const parts = file.split('/');
    const offset = splitFromPath(file) ? 1 : 0;
    return parts.length >= offset + 2 ? parts[offset] : undefined;
  };
  // A class folder without images would silently shrink the label set (or, kept, be a class
  // the model never sees): it is a problem to fix, not something to drop quietly.
  const withImages = new Set(files.map((file) => file.split('/').slice(0, -1).join('/')));
  for (const folder of (await listFolders(root)).filter((name) => !isMacMetadata(name))) {
    const depth = folder.split('/').length, isClassLevel = splitFromPath(folder) ? depth === 2 : depth === 1;
    if (!isClassLevel || withImages.has(folder) || [...withImages].some((other) => other.startsWith(`${folder}/`))) continue;
    problems.report(new DataError('class folder has no images', {
      file: join(root, folder), expected: 'at least one PNG, JPEG or TIFF image', got: 'none',
      hint: 'add images or delete the folder (its name would be a class with nothing to learn from), or pass --skip-bad to leave it out',
    }));
  }
  const classes = [...new Set(files.map(classOf).filter((name): name is string => name !== undefined))].sort(compareCodePoints);
  const samples: Sample[] = [];
  for (const file of imageFolderOrder(files, classOf)) {
    const name = classOf(file);
    if (name === undefined) {
      problems.report(new DataError('image outside a class folder', { file: join(root, file), expected: 'root/<class>/<image> or root/<split>/<class>/<image>', got: file }));
      continue;
    }
    samples.push({ path: join(root, file), label: classes.indexOf(name), split: splitFromPath(file) });
  }
  return { format: 'folder', source: root, classes, samples, problems: problems.problems, loadImage: loadFileImage };
}
