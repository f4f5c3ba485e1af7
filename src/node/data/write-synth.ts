/**
 * Writes a synthetic F²ED to disk:
 *   OUT/images/s000/HL/e05_c0_f2.png      the face crops
 *   OUT/landmarks/s000/HL/e05_c0_f2.txt   68 lines "x y" in that image's pixels
 *   OUT/index.csv                         path,subject,pose,expression,landmarks,clip,frame
 */
import { join } from 'node:path';
import { encodePng } from '../../data/codecs.js';
import { formatIndexCsv, type IndexRow } from '../../data/index-csv.js';
import { formatLandmarks } from '../../data/landmarks.js';
import { listSynthSpecs, renderSynthSample, synthSubjectName, type SynthOptions } from '../../data/synth/generator.js';
import { synthSamplePath } from '../../data/synth/synth-dataset.js';
import { synthContactSheet, type ContactSheetOptions } from '../../data/synth/contact-sheet.js';
import { writeFileAtomic } from './files.js';

export interface WriteSynthResult { images: number; indexPath: string }

export async function writeSynthDataset(outDir: string, options: SynthOptions, onProgress?: (done: number, total: number) => void): Promise<WriteSynthResult> {
  const specs = listSynthSpecs(options);
  const rows: IndexRow[] = [];
  let done = 0;
  onProgress?.(0, specs.length);
  for (const spec of specs) {
    const sample = renderSynthSample(options, spec);
    const imagePath = `images/${synthSamplePath(spec)}`;
    const landmarksPath = `landmarks/${synthSamplePath(spec).replace(/\.png$/, '.txt')}`;
    await writeFileAtomic(join(outDir, imagePath), encodePng(sample.image));
    await writeFileAtomic(join(outDir, landmarksPath), formatLandmarks(sample.landmarks));
    rows.push({ path: imagePath, subject: synthSubjectName(spec.subject), pose: spec.pose, expression: spec.expression, landmarks: landmarksPath, clip: spec.clip, frame: spec.frame });
    onProgress?.(++done, specs.length);
  }
  const indexPath = join(outDir, 'index.csv');
  await writeFileAtomic(indexPath, formatIndexCsv(rows));
  return { images: specs.length, indexPath };
}

export async function writeSynthContactSheet(path: string, options: ContactSheetOptions): Promise<void> {
  await writeFileAtomic(path, encodePng(synthContactSheet(options)));
}
