/**
 * The dataset index (DESIGN "Files (contract)"): CSV with header `path,subject,pose,expression`
 * plus optional `landmarks`, `split`, `clip`, `frame`. pose ∈ {HL, F, HR, BV}; expression an
 * integer 0..53 or a name from EXPRESSIONS. Paths are relative to the CSV's folder and must stay
 * inside the dataset's folder (see paths.ts); each image may be listed once, since a repeated
 * image can land in train and test at once and inflate test accuracy.
 */
import { assertFieldCount, delimiterHint, formatCsv, headerIndex, iterateCsv } from './csv.js';
import { DataError, ProblemLog, preview } from './errors.js';
import { EXPRESSIONS, POSES, SPLITS, isPose, parseExpression, type Pose, type SplitName } from './labels.js';
import { isInsideFolder, normalizeIndexPath } from './paths.js';

export interface IndexRow {
  path: string;
  subject: string;
  pose: Pose;
  expression: number;
  landmarks?: string;
  split?: SplitName;
  clip?: number;
  frame?: number;
  /** The values of the index's other columns (ParsedIndex.extraColumns), as written, so that split files keep them. */
  extra?: string[];
}

export const INDEX_REQUIRED_COLUMNS = ['path', 'subject', 'pose', 'expression'] as const;
export const INDEX_OPTIONAL_COLUMNS = ['landmarks', 'clip', 'frame', 'split'] as const;

export interface ParseIndexOptions {
  file?: string;
  skipBad?: boolean;
  problems?: ProblemLog;
  /** Accept paths that leave the dataset folder (`--allow-outside-paths`). */
  allowOutsidePaths?: boolean;
  /**
   * The dataset's folder, relative to the index's folder (default '.', the index's own folder).
   * Split files written elsewhere by `webfer split` name theirs in split.json.
   */
  datasetFolder?: string;
}

export interface ParsedIndex {
  rows: IndexRow[];
  lines: number[];
  problems: ProblemLog;
  /** Header names of the columns webfer does not read (a user's own: age, session, ...), in file order; each row's `extra` holds their values. */
  extraColumns: string[];
}

export function parseIndexCsv(text: string, options: ParseIndexOptions = {}): ParsedIndex {
  const file = options.file;
  const problems = options.problems ?? new ProblemLog(options.skipBad ?? false);
  const records = iterateCsv(text, file);
  const first = records.next();
  if (first.done) throw new DataError('empty index', { file, expected: `a header line "${INDEX_REQUIRED_COLUMNS.join(',')}"`, got: 'nothing', hint: 'write the header and one row per image' });
  const columns = headerIndex(first.value, file);
  const missing = INDEX_REQUIRED_COLUMNS.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new DataError(`index header lacks ${missing.join(', ')}`, {
      file, line: first.value.line, expected: `columns ${INDEX_REQUIRED_COLUMNS.join(',')} (+ optional ${INDEX_OPTIONAL_COLUMNS.join(',')})`,
      got: preview(first.value.fields.join(','), 80), hint: delimiterHint(first.value.fields) ?? 'is this a dataset index? for other layouts pass --format',
    });
  }
  const at = (name: string) => columns.get(name);
  const known: readonly string[] = [...INDEX_REQUIRED_COLUMNS, ...INDEX_OPTIONAL_COLUMNS];
  const extraIndices = first.value.fields.flatMap((name, index) => (known.includes(name.trim().toLowerCase()) ? [] : [index]));
  const extraColumns = extraIndices.map((index) => first.value.fields[index]!.trim());
  const rows: IndexRow[] = [];
  const lines: number[] = [];
  const firstLineOfPath = new Map<string, number>();
  for (const record of records) {
    try {
      assertFieldCount(record, first.value, file, 'quote paths that contain commas');
      const row = parseIndexRecord(record.fields, at, record.line, file);
      if (extraIndices.length > 0) row.extra = extraIndices.map((index) => record.fields[index]!);
      checkRowPaths(row, record.line, options);
      const key = normalizeIndexPath(row.path);
      const earlier = firstLineOfPath.get(key);
      if (earlier !== undefined) {
        throw new DataError('duplicate image path', {
          file, line: record.line, expected: 'each image listed once', got: `${preview(row.path, 80)} again (first on line ${earlier})`,
          hint: `delete line ${record.line} or line ${earlier}: a repeated image can land in both train and test (--skip-bad keeps the first)`,
        });
      }
      firstLineOfPath.set(key, record.line);
      rows.push(row);
      lines.push(record.line);
    } catch (error) {
      problems.report(error, { file, line: record.line });
    }
  }
  // A nameless column with no values (a spreadsheet's trailing comma) holds nothing to keep.
  const kept = extraColumns.flatMap((name, k) => (name !== '' || rows.some((row) => row.extra![k]!.trim() !== '') ? [k] : []));
  if (kept.length < extraColumns.length) {
    for (const row of rows) row.extra = kept.length > 0 ? kept.map((k) => row.extra![k]!) : undefined;
  }
  return { rows, lines, problems, extraColumns: kept.map((k) => extraColumns[k]!) };
}

function checkRowPaths(row: IndexRow, line: number, options: ParseIndexOptions): void {
  if (options.allowOutsidePaths) return;
  const folder = options.datasetFolder ?? '.';
  for (const [what, path] of [['image path', row.path], ['landmarks path', row.landmarks]] as const) {
    if (path === undefined || isInsideFolder(path, folder)) continue;
    throw new DataError(`${what} leaves the dataset folder`, {
      file: options.file, line,
      expected: folder === '.' ? 'a path inside the index\'s folder' : `a path inside the dataset folder ${preview(folder, 80)} named by split.json`,
      got: preview(path, 80), hint: 'move the file into the dataset folder, or pass --allow-outside-paths if you trust this index',
    });
  }
}

function parseIndexRecord(fields: string[], at: (name: string) => number | undefined, line: number, file: string | undefined): IndexRow {
  const get = (name: string) => { const index = at(name); return index === undefined ? undefined : fields[index]!.trim(); };
  const path = get('path')!;
  if (!path) throw new DataError('empty path', { file, line, expected: 'an image path relative to the index', got: '""' });
  const subject = get('subject')!;
  if (!subject) throw new DataError('empty subject', { file, line, expected: 'a subject id', got: '""' });
  const poseText = get('pose')!;
  if (!isPose(poseText)) throw new DataError('unknown pose', { file, line, expected: `one of ${POSES.join(', ')}`, got: preview(poseText), hint: 'use F²ED pose codes' });
  const expressionText = get('expression')!;
  const expression = parseExpression(expressionText);
  if (expression === undefined) {
    throw new DataError('unknown expression', { file, line, expected: `an integer 0..${EXPRESSIONS.length - 1} or a name such as "${EXPRESSIONS[0]}"`, got: preview(expressionText), hint: `the ${EXPRESSIONS.length} names, ids 0..${EXPRESSIONS.length - 1} in order: ${EXPRESSIONS.join(', ')}` });
  }
  const row: IndexRow = { path, subject, pose: poseText, expression };
  const landmarks = get('landmarks');
  if (landmarks) row.landmarks = landmarks;
  const split = get('split');
  if (split) {
    if (!(SPLITS as readonly string[]).includes(split)) throw new DataError('unknown split', { file, line, expected: SPLITS.join(', '), got: preview(split) });
    row.split = split as SplitName;
  }
  for (const name of ['clip', 'frame'] as const) {
    const text = get(name);
    if (text) {
      if (!/^\d+$/.test(text)) throw new DataError(`malformed ${name}`, { file, line, expected: 'a non-negative integer', got: preview(text) });
      row[name] = Number(text);
    }
  }
  return row;
}

/**
 * Writes rows with the columns they use (required ones always, in contract order), then
 * `extraColumns` (ParsedIndex.extraColumns: the source index's own columns) with each row's values.
 */
export function formatIndexCsv(rows: readonly IndexRow[], extraColumns: readonly string[] = []): string {
  const optional = INDEX_OPTIONAL_COLUMNS.filter((name) => rows.some((row) => row[name] !== undefined));
  const header = [...INDEX_REQUIRED_COLUMNS, ...optional, ...extraColumns];
  return formatCsv(header, rows.map((row) => [row.path, row.subject, row.pose, row.expression, ...optional.map((name) => row[name]), ...extraColumns.map((_, k) => row.extra?.[k])]));
}
