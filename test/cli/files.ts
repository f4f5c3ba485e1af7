// Reads what the CLI wrote the way a user's script would: CSV rows by header name, PNG sizes,
// safetensors headers, numbers out of printed lines.
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';

/** The rows of a CSV that webfer wrote (no quoted fields), as objects keyed by the header. */
export function readCsv(path: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(path, 'utf8').split(/\r?\n/).filter((line) => line.length > 0);
  const columns = header!.split(',');
  return lines.map((line) => {
    const fields = line.split(',');
    assert.is(fields.length, columns.length, `${path}: row "${line}" has ${fields.length} fields, the header ${columns.length}`);
    return Object.fromEntries(columns.map((name, k) => [name, fields[k]!]));
  });
}

/**
 * The records of RFC 4180 text, read character by character as Python's csv.reader reads them
 * (quoted fields with commas, doubled quotes and line breaks; CRLF or LF), kept apart from
 * src/data/csv.ts so that a test checks webfer's writer against another reader.
 */
export function parseRfc4180(text: string): string[][] {
  const records: string[][] = [];
  let fields: string[] = [], field = '', quoted = false, i = 0;
  const endRecord = () => { fields.push(field); records.push(fields); fields = []; field = ''; };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { fields.push(field); field = ''; }
    else if (c === '\n' || c === '\r') { endRecord(); if (c === '\r' && text[i + 1] === '\n') i++; }
    else field += c;
    i++;
  }
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** Width, height and channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) from a PNG's IHDR chunk. */
export function pngInfo(path: string): { width: number; height: number; channels: number } {
  const bytes = readFileSync(path);
  assert.equal([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${path} is not a PNG`);
  assert.is(bytes.toString('latin1', 12, 16), 'IHDR', `${path}: first chunk is not IHDR`);
  const colorType = bytes[25]!;
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  assert.ok(channels !== undefined, `${path}: unknown PNG colour type ${colorType}`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), channels: channels! };
}

/** The JSON header of a safetensors file (tensor name → dtype, shape, offsets; plus __metadata__). */
export function safetensorsHeader(path: string): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>> {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.ok(8 + headerLength <= bytes.length, `${path}: header length ${headerLength} runs past the file (${bytes.length} bytes)`);
  return JSON.parse(bytes.toString('utf8', 8, 8 + headerLength));
}

/** The numbers captured by `pattern` in `text`; fails naming the pattern and the text when absent. */
export function numbersIn(text: string, pattern: RegExp): number[] {
  const match = pattern.exec(text);
  assert.ok(match, `expected ${pattern} in:\n${text}`);
  return match!.slice(1).map((group) => {
    const value = Number(group.replace(/,/g, ''));
    assert.ok(Number.isFinite(value), `${pattern}: "${group}" is not a number`);
    return value;
  });
}

export function assertPercent(value: number, what: string): void {
  assert.ok(value >= 0 && value <= 100, `${what}: ${value} % is outside [0, 100]`);
}

export function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
