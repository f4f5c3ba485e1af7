/**
 * Seven-emotion sets made by the synthetic generator and written in the public sets' real file
 * formats, for the paper's transfer experiment (Table 4) without the real data:
 *   FER2013 — one `emotion,pixels,Usage` CSV of 48×48 grey faces, rows Training, then PublicTest,
 *             then PrivateTest (28,709 / 3,589 / 3,589 in the real file: 80 / 10 / 10 %);
 *   JAFFE   — 256×256 8-bit grey TIFFs named `KA.AN1.39.tiff` (poser initials, expression code and
 *             take, running number), in train/ val/ test/ folders split 120 / 23 / 70 of 213 as
 *             in the deep-emotion protocol the paper follows.
 * The identities come from their own seeds, so none of these faces is a subject of the synthetic
 * F²ED a model was pre-trained on. Browser-safe: returns text and bytes, the caller writes them.
 */
import { EXPRESSIONS, FER2013_CLASSES, JAFFE_CODES, type Pose, type SplitName } from '../labels.js';
import { resize, toGrayscale, type ImageU8 } from '../image.js';
import { Random, hashSeed } from '../random.js';
import { listSynthSpecs, renderSynthSample, type SynthOptions, type SynthSpec } from './generator.js';

/** The F²ED expression drawn for each FER2013 class, in FER2013's order (0 Angry … 6 Neutral). */
export const BASIC_EXPRESSION_IDS: readonly number[] = ['angry', 'disgust', 'fear', 'joy', 'sadness', 'surprise', 'neutral'].map((name) => {
  const id = EXPRESSIONS.indexOf(name);
  if (id < 0) throw new Error(`export-formats: expression "${name}" is not one of the 54`);
  return id;
});

/** The real JAFFE posers' initials, used as the synthetic subjects' names (10 subjects). */
export const JAFFE_POSERS = ['KA', 'KL', 'KM', 'KR', 'MK', 'NA', 'NM', 'TM', 'UY', 'YM'] as const;
/** JAFFE's 213 images split train / val / test as in deep-emotion. */
export const JAFFE_SPLIT = { train: 120, val: 23, test: 70 } as const;
/** FER2013's Usage shares (28,709 / 3,589 / 3,589). */
export const FER2013_USAGE_SHARES = { train: 28_709 / 35_887, val: 3_589 / 35_887, test: 3_589 / 35_887 } as const;
const FER2013_USAGE: Record<SplitName, string> = { train: 'Training', val: 'PublicTest', test: 'PrivateTest' };
const JAFFE_CODE_OF_CLASS: readonly string[] = Object.entries(JAFFE_CODES).sort((a, b) => a[1] - b[1]).map(([code]) => code);

export interface SevenClassSetOptions {
  subjects: number;
  /** Images per (subject, expression): frames of one clip. */
  framesPerExpression: number;
  /** Identity seed; pick one no F²ED set uses (the demo derives it from its seed and the set's name). */
  seed: number;
  poses?: readonly Pose[];
  /** Extra images beyond subjects × 7 × frames (JAFFE has 213 = 10 × 7 × 3 + 3): one more frame for the first few. */
  extra?: number;
}

interface RenderedSevenClass { spec: SynthSpec; label: number; image: ImageU8 }

/** Yields to the event loop now and then: rendering is CPU work that would freeze a page or a progress bar. */
const breathe = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function renderSevenClass(options: SevenClassSetOptions, size: 64 | 128 | 256, onImage?: (done: number, total: number) => void): Promise<RenderedSevenClass[]> {
  const extra = options.extra ?? 0;
  const synth: SynthOptions = {
    subjects: options.subjects, expressionIds: BASIC_EXPRESSION_IDS, clipsPerExpression: 1,
    framesPerClip: options.framesPerExpression + (extra > 0 ? 1 : 0), poses: options.poses ?? ['F'], size, channels: 1, seed: options.seed,
  };
  let extraLeft = extra;
  const specs = listSynthSpecs(synth).filter((spec) => {
    if (spec.frame < options.framesPerExpression) return true;
    if (extraLeft > 0 && spec.pose === (options.poses ?? ['F'])[0]) { extraLeft--; return true; }
    return false;
  });
  if (extraLeft > 0) throw new RangeError(`export-formats: extra ${extra} is more than one per (subject, expression)`);
  const out: RenderedSevenClass[] = [];
  for (const spec of specs) {
    out.push({ spec, label: BASIC_EXPRESSION_IDS.indexOf(spec.expression), image: toGrayscale(renderSynthSample(synth, spec).image) });
    onImage?.(out.length, specs.length);
    if (out.length % 8 === 0) await breathe();
  }
  return out;
}

/** Sizes of a split of `total` in the proportions `shares` (largest remainder; each part ≥ 1 when total ≥ 3). */
export function splitSizes(total: number, shares: Record<SplitName, number>): Record<SplitName, number> {
  const names = ['train', 'val', 'test'] as const;
  const sum = names.reduce((a, n) => a + shares[n], 0);
  const exact = names.map((n) => (shares[n] / sum) * total);
  const sizes = exact.map(Math.floor);
  const order = exact.map((v, i) => [v - Math.floor(v), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; sizes.reduce((a, b) => a + b, 0) < total; k++) sizes[order[k % 3]![1]]++;
  if (total >= 3) {
    for (let i = 0; i < 3; i++) {
      if (sizes[i] === 0) { const largest = sizes.indexOf(Math.max(...sizes)); sizes[largest]--; sizes[i]++; }
    }
  }
  return { train: sizes[0]!, val: sizes[1]!, test: sizes[2]! };
}

/** A seeded assignment of `total` items to splits of the given sizes. */
function assignSplits(total: number, sizes: Record<SplitName, number>, seed: number): SplitName[] {
  const order = new Random(seed).permutation(total);
  const splits = new Array<SplitName>(total);
  order.forEach((item, k) => { splits[item] = k < sizes.train ? 'train' : k < sizes.train + sizes.val ? 'val' : 'test'; });
  return splits;
}

export interface Fer2013Export {
  /** The whole fer2013.csv text. */
  csv: string;
  counts: Record<SplitName, number>;
  /** Rows per FER2013 class (0..6). */
  perClass: number[];
}

/** A FER2013-format CSV of synthetic 48×48 faces of the seven basic expressions. */
export async function createFer2013Csv(options: SevenClassSetOptions, onImage?: (done: number, total: number) => void): Promise<Fer2013Export> {
  const rendered = await renderSevenClass({ ...options, poses: options.poses ?? ['HL', 'F', 'HR'] }, 64, onImage);
  const sizes = splitSizes(rendered.length, FER2013_USAGE_SHARES);
  const splits = assignSplits(rendered.length, sizes, hashSeed(options.seed, 'fer2013-usage'));
  const lines = ['emotion,pixels,Usage'];
  const perClass = new Array<number>(FER2013_CLASSES.length).fill(0);
  for (const split of ['train', 'val', 'test'] as const) {
    rendered.forEach(({ label, image }, k) => {
      if (splits[k] !== split) return;
      lines.push(`${label},${Array.from(resize(image, 48, 48).data).join(' ')},${FER2013_USAGE[split]}`);
      perClass[label]++;
    });
  }
  return { csv: `${lines.join('\n')}\n`, counts: sizes, perClass };
}

export interface JaffeExport {
  /** Paths relative to the set's folder (`train/KA.AN1.1.tiff`) and TIFF bytes. */
  files: { path: string; bytes: Uint8Array; split: SplitName; label: number; subject: string }[];
  counts: Record<SplitName, number>;
}

/**
 * A JAFFE-format folder of synthetic 256×256 frontal faces: 10 posers × 7 expressions × 3 takes
 * + 3 = 213 images by default, split 120 / 23 / 70 (other sizes in the same proportions).
 */
export async function createJaffeSet(options: SevenClassSetOptions, onImage?: (done: number, total: number) => void): Promise<JaffeExport> {
  if (options.subjects > JAFFE_POSERS.length) throw new RangeError(`JAFFE export: at most ${JAFFE_POSERS.length} posers (JAFFE's 10), got ${options.subjects}`);
  const rendered = await renderSevenClass({ ...options, poses: ['F'] }, 256, onImage);
  const sizes = rendered.length === 213 ? { ...JAFFE_SPLIT } : splitSizes(rendered.length, JAFFE_SPLIT);
  const splits = assignSplits(rendered.length, sizes, hashSeed(options.seed, 'jaffe-split'));
  const takes = new Map<string, number>();
  const files = rendered.map(({ spec, label, image }, k) => {
    const subject = JAFFE_POSERS[spec.subject]!;
    const code = JAFFE_CODE_OF_CLASS[label]!;
    const take = (takes.get(`${subject}.${code}`) ?? 0) + 1;
    takes.set(`${subject}.${code}`, take);
    return { path: `${splits[k]}/${subject}.${code}${take}.${k + 1}.tiff`, bytes: encodeGrayTiff(image), split: splits[k]!, label, subject };
  });
  return { files, counts: sizes };
}

/**
 * A baseline TIFF 6.0 grey image: little-endian, 8 bits, uncompressed, one strip,
 * BlackIsZero, 72 dpi — the layout of the real JAFFE files.
 */
export function encodeGrayTiff(image: ImageU8): Uint8Array {
  if (image.channels !== 1) throw new Error(`encodeGrayTiff: expected a 1-channel image, got ${image.channels} channels`);
  const { width, height } = image;
  const entries: [tag: number, type: number, value: number][] = [];
  const SHORT = 3, LONG = 4, RATIONAL = 5;
  const ifdOffset = 8, entryCount = 12;
  const ifdSize = 2 + 12 * entryCount + 4;
  const resolutionOffset = ifdOffset + ifdSize;
  const pixelOffset = resolutionOffset + 16;
  entries.push([256, LONG, width], [257, LONG, height], [258, SHORT, 8], [259, SHORT, 1], [262, SHORT, 1], [273, LONG, pixelOffset],
    [277, SHORT, 1], [278, LONG, height], [279, LONG, width * height], [282, RATIONAL, resolutionOffset], [283, RATIONAL, resolutionOffset + 8], [296, SHORT, 2]);
  const bytes = new Uint8Array(pixelOffset + width * height);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x49; bytes[1] = 0x49; // "II": little-endian
  view.setUint16(2, 42, true);
  view.setUint32(4, ifdOffset, true);
  view.setUint16(ifdOffset, entryCount, true);
  entries.forEach(([tag, type, value], i) => {
    const at = ifdOffset + 2 + 12 * i;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, 1, true);
    if (type === SHORT) view.setUint16(at + 8, value, true);
    else view.setUint32(at + 8, value, true); // LONG, or the offset of a RATIONAL
  });
  view.setUint32(ifdOffset + 2 + 12 * entryCount, 0, true); // no next IFD
  for (const at of [resolutionOffset, resolutionOffset + 8]) { view.setUint32(at, 72, true); view.setUint32(at + 4, 1, true); }
  bytes.set(image.data, pixelOffset);
  return bytes;
}
