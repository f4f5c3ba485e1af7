// The demo's tables and report (browser-safe text): Table 5 and Table 4 in the paper's shape,
// this run beside the paper's numbers, the sentences on whether the paper's direction held —
// computed from the numbers — and report.md with the figures the caller wrote.
import type { Task } from '../../data/splits.js';
import { EXPRESSION_FAMILIES, POSES } from '../../data/labels.js';
import type { PaperDemoResult, TaskResult, TransferResult } from '../paper-demo.js';
import type { SeedSummary, Comparison } from './stats.js';
import { PAPER_RESULTS, PAPER_TRANSFER_RESULTS, TRANSFER_SET_NAMES } from './paper-results.js';

/** Accuracy % with one decimal, "± std" when there are several seeds. */
export function formatSummary(summary: SeedSummary): string {
  return `${(100 * summary.mean).toFixed(1)}${summary.std === null ? '' : ` ± ${(100 * summary.std).toFixed(1)}`}`;
}

export function formatComparison(comparison: Comparison): string {
  const sign = comparison.difference >= 0 ? '+' : '−';
  const verdict = comparison.exceedsSpread === null ? 'one seed: no spread' : comparison.exceedsSpread ? 'exceeds the spread' : 'within the spread';
  return `${sign}${Math.abs(100 * comparison.difference).toFixed(1)} (${verdict})`;
}

const taskName = (task: Task) => task.toUpperCase();

/** Table 5 as rows of cells: header first. Every cell is filled ("—" only where the paper has no number). */
export function table5Rows(result: PaperDemoResult): string[][] {
  const tasks = result.tasks;
  const rows: string[][] = [['Method (accuracy %)', ...tasks.map((t) => taskName(t.task))]];
  rows.push(['Fa-Net (this run)', ...tasks.map((t) => formatSummary(t.baseline))]);
  if (tasks.every((t) => t.augmented)) {
    rows.push(['FaPE-GAN + Fa-Net (this run)', ...tasks.map((t) => formatSummary(t.augmented!))]);
    rows.push(['Difference (this run)', ...tasks.map((t) => formatComparison(t.comparison!))]);
  }
  rows.push(['Fa-Net (paper)', ...tasks.map((t) => PAPER_RESULTS[t.task].fanet.toFixed(1))]);
  rows.push(['FaPE-GAN + Fa-Net (paper)', ...tasks.map((t) => PAPER_RESULTS[t.task].fapeganFanet.toFixed(1))]);
  rows.push(['Chance (this run / paper)', ...tasks.map(() => `${(100 * result.chance).toFixed(1)} / ${(100 / 54).toFixed(1)}`)]);
  rows.push(['Seeds (this run)', ...tasks.map((t) => String(t.runs.length))]);
  return rows;
}

/** Table 4 as rows of cells: header first. */
export function table4Rows(result: PaperDemoResult): string[][] {
  const sets = result.transfer ?? [];
  const rows: string[][] = [['Method (accuracy %)', ...sets.map((s) => TRANSFER_SET_NAMES[s.set])]];
  rows.push(['Fa-Net from scratch (this run)', ...sets.map((s) => formatSummary(s.scratch))]);
  rows.push(['Fa-Net pre-trained on synthetic F²ED (this run)', ...sets.map((s) => formatSummary(s.pretrained))]);
  rows.push(['Difference (this run)', ...sets.map((s) => formatComparison(s.comparison))]);
  rows.push(['Fa-Net from scratch (paper)', ...sets.map((s) => PAPER_TRANSFER_RESULTS[s.set].scratch.toFixed(1))]);
  rows.push(['Fa-Net pre-trained on F²ED (paper)', ...sets.map((s) => PAPER_TRANSFER_RESULTS[s.set].pretrained.toFixed(1))]);
  rows.push(['Chance', ...sets.map((s) => (100 / s.classes.length).toFixed(1))]);
  rows.push(['Train / val / test images (this run)', ...sets.map((s) => `${s.counts.train} / ${s.counts.val} / ${s.counts.test}`)]);
  rows.push(['Seeds (this run)', ...sets.map((s) => String(s.runs.length))]);
  return rows;
}

function listNames(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Whether augmentation helped as the paper found (higher on every task), from this run's numbers. */
export function paperDirection(result: PaperDemoResult): string {
  const compared = result.tasks.filter((t): t is TaskResult & { comparison: Comparison } => t.comparison !== undefined);
  if (compared.length === 0) return 'FaPE-GAN was not run (--no-gan), so the paper\'s augmentation claim was not tested here.';
  const up = compared.filter((t) => t.comparison.difference > 0);
  const clear = compared.filter((t) => t.comparison.exceedsSpread === true);
  const held = up.length === compared.length ? 'held on every task' : up.length === 0 ? 'did not hold on any task' : `held on ${up.length} of ${compared.length} tasks (${listNames(up.map((t) => taskName(t.task)))})`;
  const spread = compared[0]!.comparison.exceedsSpread === null
    ? 'with one seed there is no spread to tell these differences from noise'
    : clear.length === 0 ? 'no difference exceeds the seed spread' : `the difference exceeds the seed spread on ${listNames(clear.map((t) => taskName(t.task)))}`;
  return `The paper's direction (FaPE-GAN + Fa-Net above Fa-Net on every task) ${held} in this run; ${spread}.`;
}

/** Whether pre-training helped as the paper found (higher on both sets), from this run's numbers. */
export function transferDirection(result: PaperDemoResult): string {
  const sets = result.transfer ?? [];
  if (sets.length === 0) return 'The transfer experiment was not run (--no-transfer).';
  const up = sets.filter((s) => s.comparison.difference > 0);
  const clear = sets.filter((s) => s.comparison.exceedsSpread === true);
  const held = up.length === sets.length ? 'held on both sets' : up.length === 0 ? 'did not hold on either set' : `held on ${TRANSFER_SET_NAMES[up[0]!.set]} only`;
  const spread = sets[0]!.comparison.exceedsSpread === null
    ? 'with one seed there is no spread to tell these differences from noise'
    : clear.length === 0 ? 'no difference exceeds the seed spread' : `the difference exceeds the seed spread on ${listNames(clear.map((s) => TRANSFER_SET_NAMES[s.set]))}`;
  return `The paper's direction (pre-training on F²ED above training from scratch) ${held} in this run; ${spread}.`;
}

function markdownTable(rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const [header, ...body] = rows;
  return [`| ${header!.map(escape).join(' | ')} |`, `|${header!.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((row) => `| ${row.map(escape).join(' | ')} |`)].join('\n');
}

function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')).join('\n');
}

/** The closing summary printed by the CLI and shown by the page: both tables and their sentences. */
export function formatPaperDemo(result: PaperDemoResult): string {
  const lines = [
    `Table 5 — ${result.classIds.length} of the 54 expressions, ${result.images} synthetic images, ${result.seeds.length} seed${result.seeds.length > 1 ? 's' : ''}`,
    textTable(table5Rows(result)),
    paperDirection(result),
  ];
  if (result.transfer) lines.push('', 'Table 4 — transfer to seven-emotion sets of unseen identities', textTable(table4Rows(result)), transferDirection(result));
  lines.push('Synthetic faces and miniature networks: compare the direction of the changes, not the numbers.');
  return lines.join('\n');
}

export interface ReportContext {
  adapter: string;
  commit: string;
  /** ISO time the run started. */
  startedAt: string;
  /** The command line that made the run. */
  command: string;
  /** Figure name → path relative to report.md (see figureName). */
  figures: Record<string, string>;
  /** Files of the transfer sets, relative to report.md. */
  transferFiles?: { fer2013: string; jaffe: string };
  /** The estimate printed at the start, seconds. */
  estimateSeconds?: number;
}

/** The names under which the caller stores figures (the report links what exists). */
export const figureName = {
  table5: () => 'table5',
  table4: () => 'table4',
  curves: (run: string) => `curves-${run.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`,
  confusion: (task: Task, method: 'fanet' | 'fapegan') => `confusion-${task}-${method}`,
  families: (task: Task, method: 'fanet' | 'fapegan') => `families-${task}-${method}`,
  perPose: (task: Task) => `per-pose-${task}`,
  transferConfusion: (set: string, method: 'scratch' | 'pretrained') => `confusion-${set}-${method}`,
};

/** Names of the runs whose curves are drawn (the first seed's). */
export function curveRuns(result: PaperDemoResult): { name: string; history: TaskResult['runs'][number]['baseline']['history'] }[] {
  const seed = result.seeds[0]!;
  const out: ReturnType<typeof curveRuns> = [];
  for (const task of result.tasks) {
    const run = task.runs[0]!;
    out.push({ name: `${task.task} Fa-Net seed ${seed}`, history: run.baseline.history });
    if (run.augmented) out.push({ name: `${task.task} FaPE-GAN + Fa-Net seed ${seed}`, history: run.augmented.history });
  }
  for (const set of result.transfer ?? []) {
    out.push({ name: `${set.set} from scratch seed ${seed}`, history: set.runs[0]!.scratch.history });
    out.push({ name: `${set.set} pre-trained seed ${seed}`, history: set.runs[0]!.pretrained.history });
  }
  return out;
}

function figure(context: ReportContext, name: string, alt: string): string {
  const path = context.figures[name];
  return path ? `![${alt}](${path})` : `(${alt}: not drawn)`;
}

function perPoseTable(task: TaskResult): string {
  const poses = POSES.filter((pose) => task.runs[0]!.baseline.perPose?.some((p) => p.pose === pose));
  const rows: string[][] = [['Run (accuracy %)', ...poses.map((pose) => `${pose} (${task.runs[0]!.baseline.perPose!.find((p) => p.pose === pose)!.count} test)`)]];
  for (const run of task.runs) {
    const cell = (list: TaskResult['runs'][number]['baseline']['perPose'], pose: string) => {
      const entry = list?.find((p) => p.pose === pose);
      return entry ? (100 * entry.accuracy).toFixed(1) : '—';
    };
    rows.push([`Fa-Net seed ${run.seed}`, ...poses.map((pose) => cell(run.baseline.perPose, pose))]);
    if (run.augmented) rows.push([`FaPE-GAN + Fa-Net seed ${run.seed}`, ...poses.map((pose) => cell(run.augmented!.perPose, pose))]);
  }
  return markdownTable(rows);
}

function familyTable(confusion: number[][]): string {
  const names = EXPRESSION_FAMILIES.map((f) => f.name);
  return markdownTable([['true \\ predicted', ...names], ...confusion.map((row, t) => [names[t]!, ...row.map(String)])]);
}

/** report.md: the tables first, then per task and per set the details, then the settings. */
export function reportMarkdown(result: PaperDemoResult, context: ReportContext): string {
  const o = result.options;
  const seed = result.seeds[0]!;
  const out: string[] = [];
  out.push('# webfer demo: the F²ED paper\'s experiments in miniature', '');
  out.push(`Synthetic F²ED made on the spot: ${o.data.subjects} subjects × ${result.classIds.length} of the 54 expressions (${result.classNames.join(', ')}) × 4 poses, ${result.images} images at ${o.data.size} px; Fa-Net = LightCNN-9 ×${o.fanet.widthMultiplier} at ${o.fanet.inputSize} px with all 54 outputs. Synthetic faces and miniature networks reproduce the pipeline, not the paper's numbers: compare directions. Every number below was measured in this run (${result.seconds.toFixed(0)} s).`, '');
  out.push('## Table 5: Fa-Net without and with FaPE-GAN augmentation', '');
  out.push(markdownTable(table5Rows(result)), '');
  out.push(paperDirection(result), '');
  out.push('Mean ± sample standard deviation over seeds; a difference "exceeds the spread" when |mean difference| > sqrt(std_a² + std_b²).', '');
  out.push(figure(context, figureName.table5(), 'Table 5 as bars'), '');
  if (result.transfer) {
    out.push('## Table 4: transfer from synthetic F²ED to seven-emotion sets', '');
    out.push(markdownTable(table4Rows(result)), '');
    out.push(transferDirection(result), '');
    out.push(`Pre-trained model: ${result.pretrainedFrom}; its classifier (54 outputs) is replaced by a fresh 7-class one and the backbone learns at the paper's fine-tuning lr ratio (FER2013 ${result.transfer[0]!.backboneLrRatio}, JAFFE ${result.transfer[1]?.backboneLrRatio} of the classifier's lr). The sets are made by the synthetic generator with the 7 basic expressions and identities from their own seeds (${Object.entries(result.transferIdentitySeeds ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}), none of them an F²ED subject, written in the real formats${context.transferFiles ? ` (${context.transferFiles.fer2013}: emotion,pixels,Usage; ${context.transferFiles.jaffe}: 256×256 TIFFs named like KA.AN1.39.tiff in train/ val/ test/)` : ''} and read back through the real loaders. Evaluated on the ${result.transfer.map((set) => `${set.counts.test} ${set.set === 'fer2013' ? 'PrivateTest rows (FER2013)' : 'test images (JAFFE)'}`).join(' and the ')}; the validation parts (PublicTest, JAFFE val/) are not used.`, '');
    out.push(figure(context, figureName.table4(), 'Table 4 as bars'), '');
  }
  out.push('## FaPE-GAN', '');
  for (const gan of result.gans) {
    const last = gan.metrics[gan.metrics.length - 1];
    out.push(`- seed ${gan.seed}, ${gan.scope === 'shared' ? `one GAN shared by ${gan.tasks.map(taskName).join(', ')}, trained on the ${gan.trainedOn.length} images that are in the training split of every one of these tasks (so it saw no test image of any)` : `the GAN of ${taskName(gan.scope)}, trained on its ${gan.trainedOn.length} training images`}; ${gan.metrics.length} epochs${last ? `, last epoch D ${last.dLoss.toFixed(3)}, G_GAN ${last.gGan.toFixed(3)}, L1 ${last.l1.toFixed(3)}` : ''}.`);
  }
  if (result.gans.length === 0) out.push('Not run (--no-gan).');
  out.push('');
  for (const gan of result.gans.filter((g) => g.seed === seed)) {
    const name = `fapegan-samples-${gan.scope}-seed${gan.seed}`;
    if (context.figures[name]) out.push(`Sample grid (${gan.scope}, seed ${gan.seed}), each row one pose pair; columns: **source** | **target pose mask** | **generated** | **real target**`, '', figure(context, name, 'FaPE-GAN sample grid'), '');
  }
  for (const task of result.tasks) {
    out.push(`## ${taskName(task.task)}`, '');
    out.push(`${task.counts.train} training / ${task.counts.val} validation (unused) / ${task.counts.test} test images.${task.augmentation ? ` Augmentation: ${task.runs.map((r) => r.synthetic)[0]} ${task.augmentation}.` : ''}`, '');
    out.push('Accuracy per pose:', '', perPoseTable(task), '');
    out.push(figure(context, figureName.perPose(task.task), `per-pose accuracy, ${taskName(task.task)}`), '');
    const run = task.runs[0]!;
    out.push(`Expression families (seed ${run.seed}, Fa-Net), counts:`, '', familyTable(run.baseline.familyConfusion!), '');
    if (run.augmented) out.push(`Expression families (seed ${run.seed}, FaPE-GAN + Fa-Net), counts:`, '', familyTable(run.augmented.familyConfusion!), '');
    for (const method of ['fanet', 'fapegan'] as const) {
      if (method === 'fapegan' && !run.augmented) continue;
      out.push(figure(context, figureName.confusion(task.task, method), `confusion, ${taskName(task.task)}, ${method === 'fanet' ? 'Fa-Net' : 'FaPE-GAN + Fa-Net'}`), figure(context, figureName.families(task.task, method), `families, ${taskName(task.task)}, ${method === 'fanet' ? 'Fa-Net' : 'FaPE-GAN + Fa-Net'}`), '');
    }
  }
  for (const set of result.transfer ?? []) {
    out.push(`## ${TRANSFER_SET_NAMES[set.set]}-format set`, '');
    out.push(figure(context, figureName.transferConfusion(set.set, 'scratch'), `confusion, ${set.set}, from scratch`), figure(context, figureName.transferConfusion(set.set, 'pretrained'), `confusion, ${set.set}, pre-trained`), '');
  }
  out.push('## Training curves', '');
  for (const run of curveRuns(result)) out.push(`- ${run.name}: ${figure(context, figureName.curves(run.name), run.name)}`);
  out.push('', '## Settings', '');
  out.push(`- command: \`${context.command}\``);
  out.push(`- adapter: ${context.adapter}`);
  out.push(`- commit: ${context.commit}`);
  out.push(`- started: ${context.startedAt}; took ${result.seconds.toFixed(0)} s${context.estimateSeconds !== undefined ? ` (estimated ${context.estimateSeconds.toFixed(0)} s at the start)` : ''}`);
  out.push(`- data seed ${o.seed}; training seeds ${result.seeds.join(', ')}`);
  out.push(`- Fa-Net: ${JSON.stringify(o.fanet)}`);
  out.push(`- FaPE-GAN: ${JSON.stringify(o.gan)}`);
  out.push(`- transfer: ${JSON.stringify(o.transfer)}`);
  out.push('', 'Numbers: results.json holds every value in this report, the test images of every task and the images each GAN trained on.', '');
  return out.join('\n');
}
