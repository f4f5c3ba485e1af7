/**
 * The synthetic F²ED as an in-memory Dataset: images rendered on demand (no files). Rendering is
 * a hook: by default in this thread (browser-friendly); Node passes worker threads
 * (src/node/data/synth-workers.ts) so that training does not wait on one core. Either way each
 * image is a pure function of (options, spec): the same bytes whoever renders it, in any order.
 */
import type { Dataset, Sample } from '../dataset.js';
import { DataError } from '../errors.js';
import type { ImageU8 } from '../image.js';
import { EXPRESSIONS } from '../labels.js';
import { listSynthSpecs, renderSynthSample, synthLandmarks, synthSubjectName, type SynthOptions, type SynthSpec } from './generator.js';

/** Renders one image of a synthetic set. */
export type SynthImageRenderer = (options: SynthOptions, spec: SynthSpec) => Promise<ImageU8>;

/** Renders in the calling thread. */
export const renderSynthInThisThread: SynthImageRenderer = async (options, spec) => renderSynthSample(options, spec).image;

export function synthSamplePath(spec: SynthSpec): string {
  return `${synthSubjectName(spec.subject)}/${spec.pose}/e${String(spec.expression).padStart(2, '0')}_c${spec.clip}_f${spec.frame}.png`;
}

export function createSynthDataset(options: SynthOptions, render: SynthImageRenderer = renderSynthInThisThread): Dataset {
  const specs = new Map<string, SynthSpec>();
  const samples: Sample[] = listSynthSpecs(options).map((spec) => {
    const path = synthSamplePath(spec);
    specs.set(path, spec);
    return { path, label: spec.expression, subject: synthSubjectName(spec.subject), pose: spec.pose, clip: spec.clip, frame: spec.frame };
  });
  const specOf = (sample: Sample) => {
    const spec = specs.get(sample.path);
    if (!spec) throw new DataError('not a sample of this synthetic dataset', { file: sample.path });
    return spec;
  };
  return {
    format: 'synth', source: 'synth', classes: EXPRESSIONS, samples, problems: [],
    loadImage: async (sample) => render(options, specOf(sample)),
    loadLandmarks: async (sample) => synthLandmarks(options, specOf(sample)),
  };
}
