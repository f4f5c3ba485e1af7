/**
 * The dataset index (DESIGN "Files (contract)"): CSV with header `path,subject,pose,expression`
 * plus optional `landmarks`, `split`, `clip`, `frame`. pose ∈ {HL, F, HR, BV}; expression an
 * integer 0..53 or a name from EXPRESSIONS. Paths are relative to the CSV's folder.
 */
import { formatCsv, headerIndex, iterateCsv } from './csv.js';
import { DataError, ProblemLog, preview } from './errors.js';
import { EXPRESSIONS, POSES, SPLITS, isPose, parseExpression, type Pose, type SplitName } from './labels.js';

export interface IndexRow {
  path: string;
  subject: string;
  pose: Pose;
  expression: number;
  landmarks?: string;
  split?: SplitName;
  clip?: number;
  frame?: number;
}

export const INDEX_REQUIRED_COLUMNS = ['path', 'subject', 'pose', 'expression'] as const;
export const INDEX_OPTIONAL_COLUMNS = ['landmarks', 'clip', 'frame', 'split'] as const;

export interface ParseIndexOptions { file?: string; skipBad?: boolean; problems?: ProblemLog }

export interface ParsedIndex { rows: IndexRow[]; lines: number[]; problems: ProblemLog }

export function parseIndexCsv(text: string, options: ParseIndexOptions = {}): ParsedIndex {
  const file = options.file;
  const problems = options.problems ?? new ProblemLog(options.skipBad ?? false);
  const records = iterateCsv(text, file);
  const first = records.next();
  if (first.done) throw new DataError('empty index', { file, expected: `a header line "${INDEX_REQUIRED_COLUMNS.join(',')}"`, got: 'nothing', hint: 'write the header and one row per image' });
  const columns = headerIndex(first.value.fields);
  const missing = INDEX_REQUIRED_COLUMNS.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new DataError(`index header lacks ${missing.join(', ')}`, {
      file, line: first.value.line, expected: `columns ${INDEX_REQUIRED_COLUMNS.join(',')} (+ optional ${INDEX_OPTIONAL_COLUMNS.join(',')})`,
      got: preview(first.value.fields.join(','), 80), hint: 'is this a dataset index? for other layouts pass --format',
    });
  }
  const at = (name: string) => columns.get(name);
  const rows: IndexRow[] = [];
  const lines: number[] = [];
  for (const record of records) {
    try {
      rows.push(parseIndexRecord(record.fields, at, record.line, file, first.value.fields.length));
      lines.push(record.line);
    } catch (error) {
      problems.report(error, { file, line: record.line });
    }
  }
  return { rows, lines, problems };
}

function parseIndexRecord(fields: string[], at: (name: string) => number | undefined, line: number, file: string | undefined, width: number): IndexRow {
  if (fields.length !== width) {
    throw new DataError(`row has ${fields.length} fields`, { file, line, expected: `${width} fields like the header`, got: preview(fields.join(','), 80), hint: 'quote paths that contain commas' });
  }
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
    throw new DataError('unknown expression', { file, line, expected: `an integer 0..${EXPRESSIONS.length - 1} or a name such as "${EXPRESSIONS[0]}"`, got: preview(expressionText), hint: 'see EXPRESSIONS in src/data/labels.ts' });
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

/** Writes rows with the columns they use (required ones always, in contract order). */
export function formatIndexCsv(rows: readonly IndexRow[]): string {
  const optional = INDEX_OPTIONAL_COLUMNS.filter((name) => rows.some((row) => row[name] !== undefined));
  const header = [...INDEX_REQUIRED_COLUMNS, ...optional];
  return formatCsv(header, rows.map((row) => [row.path, row.subject, row.pose, row.expression, ...optional.map((name) => row[name])]));
}
