/**
 * FER2013 (`fer2013.csv`): columns `emotion,pixels,Usage`; pixels are 2304 space-separated grey
 * levels of a 48×48 face. Usage Training / PublicTest / PrivateTest → train / val / test.
 * Kaggle re-uploads differ in header spacing (`emotion, pixels, Usage`) and may lack Usage.
 */
import { assertFieldCount, delimiterHint, headerIndex, iterateCsv } from '../csv.js';
import { DataError, ProblemLog, preview } from '../errors.js';
import type { ImageU8 } from '../image.js';
import { FER2013_CLASSES, type SplitName } from '../labels.js';
import type { Dataset, Sample } from '../dataset.js';

const USAGE_SPLIT: Record<string, SplitName> = { training: 'train', publictest: 'val', privatetest: 'test' };
export const FER2013_SIZE = 48;

export interface Fer2013Options { file?: string; skipBad?: boolean }

export function parseFer2013(text: string, options: Fer2013Options = {}): Dataset {
  const file = options.file ?? 'fer2013.csv';
  const problems = new ProblemLog(options.skipBad ?? false);
  const records = iterateCsv(text, file);
  const first = records.next();
  if (first.done) throw new DataError('empty FER2013 file', { file, expected: 'a header "emotion,pixels,Usage"', got: 'nothing' });
  const columns = headerIndex(first.value, file);
  const emotionColumn = columns.get('emotion'), pixelsColumn = columns.get('pixels'), usageColumn = columns.get('usage');
  if (emotionColumn === undefined || pixelsColumn === undefined) {
    throw new DataError('not a FER2013 header', { file, line: first.value.line, expected: 'columns emotion,pixels[,Usage]', got: preview(first.value.fields.join(','), 60), hint: delimiterHint(first.value.fields) ?? 'pass --format to choose another loader' });
  }
  const samples: Sample[] = [];
  const images = new Map<string, ImageU8>();
  for (const record of records) {
    try {
      assertFieldCount(record, first.value, file, 'the row is damaged; re-download fer2013.csv or pass --skip-bad');
      const emotionText = (record.fields[emotionColumn] ?? '').trim();
      if (!/^[0-6]$/.test(emotionText)) throw new DataError('bad emotion', { file, line: record.line, expected: 'an integer 0..6 (Angry, Disgust, Fear, Happy, Sad, Surprise, Neutral)', got: preview(emotionText) });
      const pixelText = (record.fields[pixelsColumn] ?? '').trim();
      const values = pixelText === '' ? [] : pixelText.split(/\s+/);
      if (values.length !== FER2013_SIZE * FER2013_SIZE) {
        throw new DataError('wrong number of pixels', { file, line: record.line, expected: `${FER2013_SIZE * FER2013_SIZE} values (48×48)`, got: `${values.length}`, hint: 'the row is truncated; re-download fer2013.csv or pass --skip-bad' });
      }
      const data = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        // Decimal digits only, as numpy's int parsing in the usual loaders: Number() took "0x10", "1e2" and "12.0".
        const value = /^\d{1,3}$/.test(values[i]!) ? Number(values[i]) : NaN;
        if (!(value <= 255)) throw new DataError('bad pixel value', { file, line: record.line, expected: 'integers 0..255', got: preview(values[i]!) });
        data[i] = value;
      }
      let split: SplitName | undefined;
      if (usageColumn !== undefined) {
        const usage = (record.fields[usageColumn] ?? '').trim();
        split = USAGE_SPLIT[usage.toLowerCase()];
        if (!split) throw new DataError('unknown Usage', { file, line: record.line, expected: 'Training, PublicTest or PrivateTest', got: preview(usage) });
      }
      const path = `${file}:${record.line}`;
      images.set(path, { width: FER2013_SIZE, height: FER2013_SIZE, channels: 1, data });
      samples.push({ path, label: Number(emotionText), split, line: record.line });
    } catch (error) {
      problems.report(error, { file, line: record.line });
    }
  }
  return {
    format: 'fer2013', source: file, classes: FER2013_CLASSES, samples, problems: problems.problems,
    loadImage: async (sample) => {
      const image = images.get(sample.path);
      if (!image) throw new DataError('sample is not in this FER2013 file', { file: sample.path });
      return image;
    },
  };
}
