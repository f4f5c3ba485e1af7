// Live training curves per optimizer step, for a page that redraws while a run goes on: the
// training loss of every step (a line) and the evaluation after each epoch (points at the step
// where the epoch ended). The epoch-level chart of `webfer train` is trainingCurvesSpec; this one
// shares its colours and layout so both read alike. Browser-safe.
import { curveEncoding, titleNamingNotFinite, type VegaLiteSpec } from './specs.js';

/** One value of one metric at one optimizer step. Accuracies are fractions. */
export interface StepPoint {
  /** Optimizer steps completed (1-based). */
  step: number;
  metric: 'loss' | 'accuracy';
  split: 'train' | 'eval';
  value: number;
}

/**
 * Loss (left) and accuracy (right) against the step. Non-finite values cannot be drawn and are
 * named in the subtitle; steps must be positive integers.
 */
export function stepCurvesSpec(points: readonly StepPoint[], title = 'Training (per step)', options: { width?: number } = {}): VegaLiteSpec {
  if (points.length === 0) throw new Error('stepCurvesSpec: no points; plot after the first step');
  const rows: StepPoint[] = [];
  const notFinite: string[] = [];
  for (const point of points) {
    if (!(Number.isInteger(point.step) && point.step >= 1)) throw new Error(`stepCurvesSpec: step must be a positive integer, got ${point.step}`);
    if (point.metric !== 'loss' && point.metric !== 'accuracy') throw new Error(`stepCurvesSpec: metric must be loss or accuracy, got ${JSON.stringify(point.metric)}`);
    if (Number.isFinite(point.value)) rows.push({ step: point.step, metric: point.metric, split: point.split, value: point.value });
    else notFinite.push(`${point.split} ${point.metric} ${point.value} at step ${point.step}`);
  }
  if (rows.length === 0) throw new Error(`stepCurvesSpec: no finite value to draw (${notFinite.slice(0, 3).join('; ')})`);
  const width = options.width ?? 300;
  // A layer without rows would give Vega an empty (infinite) extent: draw only the splits present.
  const layers = (metric: StepPoint['metric']) => [
    ...(rows.some((r) => r.metric === metric && r.split === 'train') ? [{ transform: [{ filter: { field: 'split', equal: 'train' } }], mark: { type: 'line' as const } }] : []),
    ...(rows.some((r) => r.metric === metric && r.split === 'eval') ? [{ transform: [{ filter: { field: 'split', equal: 'eval' } }], mark: { type: 'line' as const, point: true } }] : []),
  ];
  const panel = (metric: StepPoint['metric']) => ({
    transform: [{ filter: { field: 'metric', equal: metric } }],
    width,
    height: 200,
    encoding: curveEncoding('step', metric),
    layer: layers(metric),
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: titleNamingNotFinite(title, notFinite),
    data: { values: rows },
    hconcat: [panel('loss'), panel('accuracy')].filter((p) => p.layer.length > 0),
  };
}
