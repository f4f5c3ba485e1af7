/** Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF, with 1-based line numbers for errors. */
import { DataError, preview } from './errors.js';

export interface CsvRecord { line: number; fields: string[] }

/**
 * Yields the records of `text` one at a time (FER2013's CSV is ~300 MB, so no full split).
 * Blank lines are skipped. An unterminated quote is an error naming the line it started on.
 */
export function* iterateCsv(text: string, file?: string): Generator<CsvRecord> {
  let position = 0;
  let line = 1;
  const length = text.length;
  if (text.charCodeAt(0) === 0xfeff) position = 1; // byte-order mark from spreadsheet exports
  while (position < length) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let atRecordEnd = false;
    while (!atRecordEnd) {
      if (text[position] === '"') {
        position++;
        for (;;) {
          const quote = text.indexOf('"', position);
          if (quote < 0) {
            throw new DataError('unterminated quoted field', { file, line: startLine, expected: 'a closing "', got: 'end of file', hint: 'fix the quoting of this row' });
          }
          const chunk = text.slice(position, quote);
          for (let i = 0; i < chunk.length; i++) if (chunk.charCodeAt(i) === 10) line++;
          field += chunk;
          if (text[quote + 1] === '"') { field += '"'; position = quote + 2; continue; }
          position = quote + 1;
          break;
        }
      }
      // Unquoted part (or what follows a closing quote) up to the next comma or newline.
      let end = position;
      while (end < length) {
        const c = text.charCodeAt(end);
        if (c === 44 || c === 10 || c === 13) break;
        end++;
      }
      field += text.slice(position, end);
      fields.push(field);
      field = '';
      if (end >= length) { position = length; atRecordEnd = true; }
      else if (text.charCodeAt(end) === 44) { position = end + 1; if (position >= length) { fields.push(''); atRecordEnd = true; } }
      else {
        position = end + (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? 2 : 1);
        line++;
        atRecordEnd = true;
      }
    }
    if (fields.length === 1 && fields[0]!.trim() === '') continue;
    yield { line: startLine, fields };
  }
}

export function parseCsv(text: string, file?: string): CsvRecord[] {
  return [...iterateCsv(text, file)];
}

function quoteField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Formats rows as CSV text with a header line; values are stringified, undefined → empty. */
export function formatCsv(header: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string {
  const lines = [header.map(quoteField).join(',')];
  for (const row of rows) lines.push(row.map((value) => quoteField(value === undefined ? '' : String(value))).join(','));
  return `${lines.join('\n')}\n`;
}

/** What a header line of one field separated by something else than commas was split by. */
const FOREIGN_DELIMITERS: readonly [string, string][] = [[';', 'semicolons'], ['\t', 'tabs'], ['|', 'vertical bars']];

/**
 * The fix for a header that is one field holding semicolons, tabs or bars (a spreadsheet's
 * regional "CSV", a TSV): a comma-separated copy. undefined for any other header.
 */
export function delimiterHint(header: readonly string[]): string | undefined {
  if (header.length !== 1) return undefined;
  const found = FOREIGN_DELIMITERS.find(([delimiter]) => header[0]!.includes(delimiter));
  if (!found) return undefined;
  return `the file is separated by ${found[1]}, not commas: save it as comma-separated CSV (Excel: "CSV UTF-8 (Comma delimited)"; pandas: pd.read_csv(FILE, sep=${JSON.stringify(found[0])}).to_csv(NEW, index=False))`;
}

/**
 * Maps header names (trimmed, lower-cased) to column indices. A name given twice is refused: one
 * of the two columns would be read and the other ignored without a word.
 */
export function headerIndex(header: CsvRecord, file?: string): Map<string, number> {
  const map = new Map<string, number>();
  header.fields.forEach((field, index) => {
    const name = field.trim().toLowerCase();
    const earlier = map.get(name);
    if (earlier !== undefined && name !== '') {
      throw new DataError('header names a column twice', {
        file, line: header.line, expected: 'each column name once', got: `"${name}" in columns ${earlier + 1} and ${index + 1}`, hint: 'delete or rename one of them',
      });
    }
    map.set(name, index);
  });
  return map;
}

/**
 * Refuses a record whose field count differs from the header's (pandas' read_csv refuses such a
 * row too): a field too many or too few means a shifted or damaged row, whose values would
 * otherwise be read from the wrong columns or dropped unseen.
 */
export function assertFieldCount(record: CsvRecord, header: CsvRecord, file: string | undefined, hint: string): void {
  if (record.fields.length === header.fields.length) return;
  throw new DataError(`row has ${record.fields.length} fields`, {
    file, line: record.line, expected: `${header.fields.length} fields like the header`, got: preview(record.fields.join(','), 80), hint,
  });
}
