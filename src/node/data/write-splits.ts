/** `webfer split`: reads an index CSV, applies a task's split rule, writes train.csv / val.csv / test.csv. */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { formatIndexCsv, parseIndexCsv, type IndexRow } from '../../data/index-csv.js';
import { splitRows, type SplitResult, type Task } from '../../data/splits.js';
import type { DataProblem } from '../../data/errors.js';
import { readText, writeFileAtomic } from './files.js';

export interface WriteSplitsResult { result: SplitResult<IndexRow>; files: string[]; problems: DataProblem[] }

export async function writeSplits(indexPath: string, task: Task, seed: number, outDir: string, skipBad = false): Promise<WriteSplitsResult> {
  const parsed = parseIndexCsv(await readText(indexPath), { file: indexPath, skipBad });
  const result = splitRows(parsed.rows, task, seed);
  // Paths in the split files are relative to where the split files are written.
  const rebase = (value: string) => relative(resolve(outDir), resolve(dirname(indexPath), value)).split(sep).join('/');
  const files: string[] = [];
  const parts: [string, IndexRow[]][] = task === 'er-ss' ? [['train', result.train], ['val', result.val], ['test', result.test]] : [['train', result.train], ['test', result.test]];
  for (const [name, rows] of parts) {
    const file = join(outDir, `${name}.csv`);
    await writeFileAtomic(file, formatIndexCsv(rows.map((row) => ({ ...row, path: rebase(row.path), landmarks: row.landmarks ? rebase(row.landmarks) : undefined, split: name as IndexRow['split'] }))));
    files.push(file);
  }
  return { result, files, problems: parsed.problems.problems };
}
