/** The synthetic F²ED as an in-memory Dataset: images rendered on demand (browser-friendly, no files). */
import type { Dataset, Sample } from '../dataset.js';
import { DataError } from '../errors.js';
import { EXPRESSIONS } from '../labels.js';
import { listSynthSpecs, renderSynthSample, synthLandmarks, synthSubjectName, type SynthOptions, type SynthSpec } from './generator.js';

export function synthSamplePath(spec: SynthSpec): string {
  return `${synthSubjectName(spec.subject)}/${spec.pose}/e${String(spec.expression).padStart(2, '0')}_c${spec.clip}_f${spec.frame}.png`;
}

export function createSynthDataset(options: SynthOptions): Dataset {
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
    loadImage: async (sample) => renderSynthSample(options, specOf(sample)).image,
    loadLandmarks: async (sample) => synthLandmarks(options, specOf(sample)),
  };
}
