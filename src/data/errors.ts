/**
 * Bad input in the data layer is reported with where it is (file, line), what was expected,
 * what arrived and what to do, so a user can fix a dataset without reading our source.
 */
export interface DataProblemInfo {
  file?: string;
  line?: number;
  expected?: string;
  got?: string;
  hint?: string;
}

export class DataError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly expected?: string;
  readonly got?: string;
  readonly hint?: string;

  constructor(summary: string, info: DataProblemInfo = {}) {
    super(formatProblem(summary, info));
    this.name = 'DataError';
    this.file = info.file; this.line = info.line;
    this.expected = info.expected; this.got = info.got; this.hint = info.hint;
  }
}

export function formatProblem(summary: string, info: DataProblemInfo): string {
  const where = info.file ? `${info.file}${info.line !== undefined ? `:${info.line}` : ''}: ` : '';
  let text = `${where}${summary}`;
  if (info.expected !== undefined) text += `; expected ${info.expected}`;
  if (info.got !== undefined) text += `, got ${info.got}`;
  if (info.hint) text += `. ${info.hint}`;
  return text;
}

/** A problem kept instead of thrown when the user asked to skip bad input (--skip-bad). */
export interface DataProblem { message: string; file?: string; line?: number }

/**
 * Collects problems: with skipBad the offending item is skipped and counted, otherwise the
 * first problem is thrown. Nothing is ever dropped silently.
 */
export class ProblemLog {
  readonly problems: DataProblem[] = [];
  constructor(readonly skipBad: boolean) {}

  /** Report a bad item; throws unless skipping. */
  report(error: unknown, fallback: DataProblemInfo = {}): void {
    const problem: DataProblem = error instanceof DataError
      ? { message: error.message, file: error.file, line: error.line }
      : { message: formatProblem(error instanceof Error ? error.message : String(error), fallback), file: fallback.file, line: fallback.line };
    if (!this.skipBad) throw error instanceof DataError ? error : new DataError(problem.message);
    this.problems.push(problem);
  }

  get count(): number { return this.problems.length; }
}

/** Short quoted preview of a value for error messages. */
export function preview(value: string, max = 40): string {
  const text = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(text);
}
