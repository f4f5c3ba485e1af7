// The messages between the page (web/app/main.ts) and the training worker (web/worker.ts), and the
// run settings both sides agree on. Requests carry an id and get one reply; a training run also
// streams events. Plain data only (structured clone).
export const TASK_CHOICES = ['er-up', 'er-ue', 'er-ss', 'er-zid'] as const;
export type TaskChoice = (typeof TASK_CHOICES)[number];
/** Tasks whose rare part FaPE-GAN tops up (the paper's ER-UP and ER-UE). */
export const AUGMENTABLE_TASKS: readonly TaskChoice[] = ['er-up', 'er-ue'];

export interface RunSettings {
  task: TaskChoice;
  epochs: number;
  /** LightCNN-9 width multiplier. */
  width: number;
  /** Fa-Net input side in pixels (the synthetic faces are 64 px up to 64, else 128). */
  inputSize: number;
  subjects: number;
  expressions: number;
  seed: number;
  batchSize: number;
  /** Train FaPE-GAN, re-pose training faces into the rare pose and train Fa-Net again. */
  augment: boolean;
  ganEpochs: number;
}

export interface SettingLimits { min: number; max: number; step: number }

export const SETTING_LIMITS: Record<Exclude<keyof RunSettings, 'task' | 'augment'>, SettingLimits> = {
  epochs: { min: 1, max: 200, step: 1 },
  width: { min: 0.0625, max: 1, step: 0.0625 },
  inputSize: { min: 32, max: 128, step: 16 },
  subjects: { min: 2, max: 40, step: 1 },
  expressions: { min: 2, max: 54, step: 1 },
  seed: { min: 0, max: 2 ** 31 - 1, step: 1 },
  batchSize: { min: 1, max: 256, step: 1 },
  ganEpochs: { min: 1, max: 100, step: 1 },
};

/**
 * Sizes that finish in about a minute on the adapter: a software rasteriser (SwiftShader,
 * lavapipe) gets the narrowest network at 32 px; a real GPU a wider one at 64 px.
 */
export function suggestedSettings(isSoftware: boolean): RunSettings {
  return isSoftware
    ? { task: 'er-up', epochs: 3, width: 0.125, inputSize: 32, subjects: 3, expressions: 3, seed: 1, batchSize: 16, augment: false, ganEpochs: 1 }
    : { task: 'er-up', epochs: 10, width: 0.25, inputSize: 64, subjects: 6, expressions: 6, seed: 1, batchSize: 32, augment: true, ganEpochs: 4 };
}

/** What is wrong with the settings, one line each (empty when they are fine). */
export function settingsProblems(settings: RunSettings): string[] {
  const problems: string[] = [];
  for (const [name, limits] of Object.entries(SETTING_LIMITS) as [keyof typeof SETTING_LIMITS, SettingLimits][]) {
    const value = settings[name];
    const integral = limits.step >= 1;
    if (!Number.isFinite(value) || value < limits.min || value > limits.max || (integral && !Number.isInteger(value))) {
      problems.push(`${name} must be ${integral ? 'an integer ' : ''}from ${limits.min} to ${limits.max}, got ${Number.isFinite(value) ? value : 'nothing'}`);
    }
  }
  if (Number.isInteger(settings.inputSize) && settings.inputSize % 16 !== 0) problems.push(`inputSize must be a multiple of 16 (LightCNN-9 pools four times), got ${settings.inputSize}`);
  if (!(TASK_CHOICES as readonly string[]).includes(settings.task)) problems.push(`task must be one of ${TASK_CHOICES.join(', ')}, got ${settings.task}`);
  if (settings.augment && !AUGMENTABLE_TASKS.includes(settings.task)) problems.push(`FaPE-GAN augmentation tops up a rare pose or expressions: choose er-up or er-ue, or turn augmentation off`);
  return problems;
}

/** The most render workers a page address may ask for (?renderWorkers=N). */
export const RENDER_WORKER_LIMIT = 16;

/**
 * ?renderWorkers=N from the page address: N render workers, 0 for the training worker's own
 * thread, absent for the default; anything else is an error that names the fix.
 */
export function parseRenderWorkers(value: string | null): number | undefined {
  if (value === null) return undefined;
  const count = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(count) || count < 0 || count > RENDER_WORKER_LIMIT) {
    throw new Error(`?renderWorkers=${value} in the page address: expected an integer from 0 to ${RENDER_WORKER_LIMIT} (0 renders the faces in the training worker's own thread); fix or remove it and reload`);
  }
  return count;
}

export type StageName = 'synth' | 'fanet' | 'fapegan' | 'fanet-augmented';

export const STAGE_LABELS: Record<StageName, string> = {
  synth: 'synthesising faces',
  fanet: 'training Fa-Net',
  fapegan: 'training FaPE-GAN and re-posing faces',
  'fanet-augmented': 'training Fa-Net on the augmented set',
};

/** A gray image as bytes (row-major, one byte per pixel). */
export interface GrayImage { width: number; height: number; pixels: Uint8Array }

export interface GalleryFace {
  /** The synthetic sample's path: the key for predictions and the GAN panel. */
  key: string;
  subject: string;
  pose: string;
  expression: number;
  expressionName: string;
  image: GrayImage;
  /** The 68-landmark pose mask of the face (what FaPE-GAN is conditioned on). */
  mask: GrayImage;
}

/** The gallery's faces and how fast they were rendered, in words. */
export interface GalleryReply { faces: GalleryFace[]; rendering: string }

export interface AdapterSummary {
  name: string;
  isSoftware: boolean;
  features: string[];
  /** The kernel variants in force (the runtime's KernelPolicy choices). */
  kernels: Record<string, string | number>;
}

export type ImageSource = { kind: 'gallery'; key: string } | { kind: 'file'; name: string; bytes: Uint8Array };

export interface PredictionReply {
  /** Which model answered, in words. */
  model: string;
  /** The image as the model saw it (after the evaluation crop and resize). */
  input: GrayImage;
  predictions: { class: number; name: string; probability: number }[];
}

export interface GanReply {
  generator: string;
  /** source | target mask | generated | real target (when known), each labelled. */
  tiles: { label: string; image: GrayImage }[];
}

export interface BenchRowMessage { suite: string; name: string; shape: string; ms: number; gflops?: number; gbps?: number; note?: string }

export type Request =
  | { op: 'init'; renderWorkers?: number }
  | { op: 'gallery'; settings: RunSettings }
  | { op: 'train'; settings: RunSettings }
  | { op: 'predict'; source: ImageSource; model: 'page' | 'loaded' }
  | { op: 'load-checkpoint'; name: string; bytes: Uint8Array }
  | { op: 'save-checkpoint' }
  | { op: 'gan'; key: string; targetPose: string }
  | { op: 'bench'; suites: string[] };

/** Control messages act at once, even while a request runs. */
export type Control = { op: 'stop' } | { op: 'pause' } | { op: 'resume' };

export type ToWorker = (Request & { id: number }) | Control;

export interface TrainSummary {
  stopped: boolean;
  seconds: number;
  /** Test accuracy (fraction) of each trained Fa-Net, by stage. */
  accuracy: Partial<Record<StageName, number>>;
  /** Every loss the run read back, in order: equal for equal seeds. */
  losses: number[];
  classes: number;
  /** Pipelines the run compiled: blocking (createComputePipeline, which stalls the page's frames) and in the background. */
  pipelines: { blocking: number; background: number };
}

export type TrainEvent =
  | { event: 'log'; line: string }
  | { event: 'progress'; stage: StageName; stageIndex: number; stageCount: number; detail: string; fraction: number; etaSeconds?: number }
  | { event: 'chart'; target: 'live' | 'epochs'; svg: string; points: number }
  | { event: 'paused'; paused: boolean }
  | { event: 'bench-row'; row: BenchRowMessage }
  | { event: 'warning'; message: string };

export type FromWorker =
  | { kind: 'reply'; id: number; ok: true; value: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | ({ kind: 'event' } & TrainEvent);
