// The browser application: settings, live training charts, gallery, predictions, checkpoints,
// the FaPE-GAN panel and the benchmark table. All GPU work happens in web/worker.ts; this thread
// only draws, so the page stays responsive while a run goes on. Stable ids (DESIGN.md "Browser
// page"): #adapter #gallery #train-start #train-stop #train-status #loss-chart #predictions
// #gan-output #bench-table #checkpoint-input, and body[data-state] = 'ready' once initialised.
import {
  AUGMENTABLE_TASKS, SETTING_LIMITS, STAGE_LABELS, parseRenderWorkers, settingsProblems,
  type AdapterSummary, type BenchRowMessage, type FromWorker, type GalleryFace, type GalleryReply, type GanReply, type GrayImage, type ImageSource,
  type PredictionReply, type Request, type RunSettings, type TrainEvent, type TrainSummary,
} from './protocol.js';
import { formatSecondsLeft } from './estimate.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
};

/** What tests and users' scripts can read besides the DOM. */
const app = {
  summaries: [] as TrainSummary[],
  errors: [] as string[],
  selectedFace: undefined as string | undefined,
  /** The gallery's faces as the worker sent them (pixels included). */
  gallery: [] as GalleryFace[],
};
(window as unknown as { webferApp: typeof app }).webferApp = app;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

function call<T>(request: Request, transfer: Transferable[] = []): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    worker.postMessage({ ...request, id }, transfer);
  });
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  if (message.kind === 'reply') {
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiting?.resolve(message.value);
    else waiting?.reject(new Error(message.error));
    return;
  }
  onTrainEvent(message);
};
worker.onerror = (event) => {
  const text = `the worker failed: ${event.message || 'it could not start (see the console)'}`;
  showError(text);
  for (const waiting of pending.values()) waiting.reject(new Error(text));
  pending.clear();
};

function showError(text: string): void {
  app.errors.push(text);
  const box = $('errors');
  box.textContent = text;
  box.hidden = false;
}

function clearError(): void {
  $('errors').hidden = true;
}

// ---- drawing helpers

function canvasOf(image: GrayImage): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  const rgba = new ImageData(image.width, image.height);
  for (let i = 0; i < image.pixels.length; i++) {
    rgba.data[4 * i] = rgba.data[4 * i + 1] = rgba.data[4 * i + 2] = image.pixels[i]!;
    rgba.data[4 * i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(rgba, 0, 0);
  return canvas;
}

function imageOf(image: GrayImage, alt: string, className = ''): HTMLImageElement {
  const img = document.createElement('img');
  img.src = canvasOf(image).toDataURL('image/png');
  img.alt = alt;
  img.width = image.width;
  img.height = image.height;
  if (className) img.className = className;
  return img;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// ---- settings

const settingInputs = {
  epochs: $<HTMLInputElement>('set-epochs'), width: $<HTMLInputElement>('set-width'), inputSize: $<HTMLInputElement>('set-input-size'),
  subjects: $<HTMLInputElement>('set-subjects'), expressions: $<HTMLInputElement>('set-expressions'), seed: $<HTMLInputElement>('set-seed'),
  batchSize: $<HTMLInputElement>('set-batch-size'), ganEpochs: $<HTMLInputElement>('set-gan-epochs'),
};
const taskSelect = $<HTMLSelectElement>('set-task');
const augmentBox = $<HTMLInputElement>('set-augment');

for (const [name, input] of Object.entries(settingInputs) as [keyof typeof SETTING_LIMITS, HTMLInputElement][]) {
  const limits = SETTING_LIMITS[name];
  input.min = String(limits.min);
  input.max = String(limits.max);
  input.step = String(limits.step);
}

function readSettings(): RunSettings {
  const number = (input: HTMLInputElement) => (input.value.trim() === '' ? NaN : Number(input.value));
  return {
    task: taskSelect.value as RunSettings['task'], augment: augmentBox.checked,
    epochs: number(settingInputs.epochs), width: number(settingInputs.width), inputSize: number(settingInputs.inputSize),
    subjects: number(settingInputs.subjects), expressions: number(settingInputs.expressions), seed: number(settingInputs.seed),
    batchSize: number(settingInputs.batchSize), ganEpochs: number(settingInputs.ganEpochs),
  };
}

function writeSettings(settings: RunSettings): void {
  taskSelect.value = settings.task;
  augmentBox.checked = settings.augment;
  for (const [name, input] of Object.entries(settingInputs) as [keyof typeof settingInputs, HTMLInputElement][]) input.value = String(settings[name]);
}

/**
 * Settings from the address (?epochs=2&seed=3): for links and tests. A value the settings refuse
 * keeps `base`'s, and the page says which and why (else the gallery would be asked for NaN faces).
 */
function settingsFromQuery(base: RunSettings): RunSettings {
  const query = new URLSearchParams(location.search);
  let merged = { ...base };
  const refused: string[] = [];
  for (const key of Object.keys(base) as (keyof RunSettings)[]) {
    const value = query.get(key);
    if (value === null) continue;
    const parsed = key === 'task' ? value : key === 'augment' ? value === '1' || value === 'true' : value.trim() === '' ? NaN : Number(value);
    const candidate = { ...merged, [key]: parsed } as RunSettings;
    const known = settingsProblems(merged);
    const added = settingsProblems(candidate).filter((problem) => !known.includes(problem));
    if (added.length > 0) refused.push(`?${key}=${value} (${added.join('; ')})`);
    else merged = candidate;
  }
  if (refused.length > 0) showError(`the page address asks for ${refused.join(', ')}: the suggested value is used instead; change it below or fix the address`);
  return merged;
}

function syncAugment(): void {
  const possible = AUGMENTABLE_TASKS.includes(taskSelect.value as RunSettings['task']);
  augmentBox.disabled = !possible || training;
  if (!possible) augmentBox.checked = false;
  $('augment-note').textContent = possible ? '' : '(FaPE-GAN tops up a rare pose or expression: ER-UP and ER-UE only)';
}
taskSelect.addEventListener('change', syncAugment);

// ---- training

const startButton = $<HTMLButtonElement>('train-start');
const stopButton = $<HTMLButtonElement>('train-stop');
const pauseButton = $<HTMLButtonElement>('train-pause');
const status = $('train-status');
const bar = $<HTMLProgressElement>('train-progress');
const logBox = $('train-log');
const liveChart = $('loss-chart');
const epochChart = $('epoch-chart');
let training = false;
let paused = false;
/** The run's request has gone to the worker; before that, Stop is kept here (the worker has no run to stop yet). */
let runSent = false;
let stopBeforeSent = false;

function log(line: string): void {
  // Appending a text node keeps each line O(1); `textContent +=` re-lays out the whole log.
  logBox.append(`${line}\n`);
  logBox.scrollTop = logBox.scrollHeight;
}

/**
 * Progress and charts are drawn once per animation frame with the newest values: events that
 * arrive faster than frames replace each other instead of each costing a style and layout pass.
 */
const pendingDraw: { progress?: Extract<TrainEvent, { event: 'progress' }>; charts: Map<'live' | 'epochs', Extract<TrainEvent, { event: 'chart' }>> } = { charts: new Map() };
let drawScheduled = false;

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    const progress = pendingDraw.progress;
    pendingDraw.progress = undefined;
    if (progress) drawProgress(progress);
    for (const chart of pendingDraw.charts.values()) drawChart(chart);
    pendingDraw.charts.clear();
  });
}

/** At a run's end: its last charts are drawn now, its last progress line gives way to the result. */
function finishPendingDraw(): void {
  pendingDraw.progress = undefined;
  for (const chart of pendingDraw.charts.values()) drawChart(chart);
  pendingDraw.charts.clear();
}

function drawProgress(event: Extract<TrainEvent, { event: 'progress' }>): void {
  bar.value = event.fraction;
  bar.setAttribute('aria-valuetext', `${Math.round(100 * event.fraction)} %`);
  const stage = `stage ${event.stageIndex + 1} of ${event.stageCount}: ${STAGE_LABELS[event.stage]}`;
  status.textContent = `${paused ? 'paused · ' : ''}${stage} — ${event.detail} · ${Math.round(100 * event.fraction)} % · ${formatSecondsLeft(event.etaSeconds)}`;
  status.dataset.stage = event.stage;
}

function drawChart(event: Extract<TrainEvent, { event: 'chart' }>): void {
  const target = event.target === 'live' ? liveChart : epochChart;
  target.innerHTML = event.svg;
  target.dataset.points = String(event.points);
  target.querySelector('svg')?.setAttribute('role', 'img');
  target.querySelector('svg')?.setAttribute('aria-label', event.target === 'live' ? 'training loss and accuracy per step' : 'training curves per epoch');
}

function onTrainEvent(event: TrainEvent): void {
  switch (event.event) {
    case 'log': log(event.line); break;
    case 'progress':
      pendingDraw.progress = event;
      scheduleDraw();
      break;
    case 'chart':
      pendingDraw.charts.set(event.target, event);
      scheduleDraw();
      break;
    case 'paused':
      showPaused(event.paused);
      if (paused) status.textContent = `paused · ${status.textContent}`;
      break;
    case 'bench-row': addBenchRow(event.row); break;
    case 'warning': showError(event.message); break;
  }
}

function showPaused(value: boolean): void {
  paused = value;
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  pauseButton.setAttribute('aria-pressed', String(paused));
}

function setBusy(isTraining: boolean): void {
  training = isTraining;
  startButton.disabled = isTraining;
  stopButton.disabled = !isTraining;
  pauseButton.disabled = !isTraining;
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('[data-needs-idle]'))) button.disabled = isTraining;
  syncCameraButtons();
  syncAugment();
}

async function startTraining(): Promise<void> {
  clearError();
  const settings = readSettings();
  const problems = settingsProblems(settings);
  if (problems.length > 0) {
    showError(`check the settings: ${problems.join('; ')}`);
    return;
  }
  // Each run starts clean: log, charts and bar.
  logBox.textContent = '';
  liveChart.replaceChildren(element('p', 'the loss appears here after the first step', 'muted'));
  liveChart.dataset.points = '0';
  epochChart.replaceChildren();
  epochChart.dataset.points = '0';
  bar.value = 0;
  showPaused(false);
  runSent = false;
  stopBeforeSent = false;
  setBusy(true);
  document.body.dataset.training = 'running';
  delete status.dataset.stage;
  status.textContent = 'starting…';
  try {
    await refreshGallery(settings);
    if (stopBeforeSent) {
      status.textContent = 'stopped before training started';
      document.body.dataset.training = 'stopped';
      return;
    }
    runSent = true;
    const summary = await call<TrainSummary>({ op: 'train', settings }).finally(finishPendingDraw);
    app.summaries.push(summary);
    const results = Object.entries(summary.accuracy).map(([stage, value]) => `${STAGE_LABELS[stage as keyof typeof STAGE_LABELS]}: test accuracy ${(100 * value!).toFixed(1)} %`);
    status.textContent = summary.stopped ? `stopped after ${summary.seconds.toFixed(0)} s` : `done in ${summary.seconds.toFixed(0)} s · ${results.join(' · ')}`;
    if (!summary.stopped) bar.value = 1;
    document.body.dataset.training = summary.stopped ? 'stopped' : 'done';
    $('model-choice-page').removeAttribute('disabled');
  } catch (error) {
    status.textContent = `training failed: ${(error as Error).message}`;
    showError((error as Error).message);
    document.body.dataset.training = 'failed';
  } finally {
    setBusy(false);
  }
}

startButton.addEventListener('click', () => void startTraining());
stopButton.addEventListener('click', () => {
  if (!runSent) stopBeforeSent = true;
  worker.postMessage({ op: 'stop' });
  status.textContent = 'stopping after this step…';
});
pauseButton.addEventListener('click', () => worker.postMessage({ op: paused ? 'resume' : 'pause' }));

// ---- gallery

const galleryBox = $('gallery');
let galleryKey = '';
let faces: GalleryFace[] = [];

async function refreshGallery(settings: RunSettings): Promise<void> {
  const key = JSON.stringify([settings.subjects, settings.expressions, settings.seed, settings.inputSize > 64]);
  if (key === galleryKey) return;
  const reply = await call<GalleryReply>({ op: 'gallery', settings });
  // Only a gallery that arrived counts as shown: after a failure the next call asks again.
  galleryKey = key;
  faces = app.gallery = reply.faces;
  $('gallery-status').textContent = `Gallery: ${reply.rendering}.`;
  galleryBox.replaceChildren();
  const bySubject = new Map<string, GalleryFace[]>();
  for (const face of faces) bySubject.set(face.subject, [...(bySubject.get(face.subject) ?? []), face]);
  for (const [subject, list] of bySubject) {
    const group = element('div', undefined, 'subject');
    group.append(element('h3', `subject ${subject}`));
    const grid = element('div', undefined, 'faces');
    for (const face of list) {
      const button = element('button', undefined, 'face');
      button.type = 'button';
      button.dataset.key = face.key;
      const description = `${face.subject}, pose ${face.pose}, ${face.expressionName}`;
      button.setAttribute('aria-label', `select ${description}`);
      button.title = `${description} — hover or focus shows the landmark mask`;
      const photo = imageOf(face.image, `synthetic face: ${description}`, 'photo');
      const mask = imageOf(face.mask, `landmark pose mask of ${description}`, 'mask');
      button.append(photo, mask, element('span', `${face.pose} · ${face.expressionName}`));
      button.addEventListener('click', () => selectFace(face.key));
      grid.append(button);
    }
    group.append(grid);
    galleryBox.append(group);
  }
  if (!faces.some((face) => face.key === app.selectedFace)) selectFace(faces[0]?.key);
}

function selectFace(key: string | undefined): void {
  app.selectedFace = key;
  for (const button of Array.from(galleryBox.querySelectorAll<HTMLButtonElement>('button.face'))) button.setAttribute('aria-pressed', String(button.dataset.key === key));
  const face = faces.find((f) => f.key === key);
  $('selected-face').textContent = face ? `${face.subject}, pose ${face.pose}, ${face.expressionName} (true label)` : 'none';
}

// ---- predictions

const predictionsBox = $('predictions');

function modelChoice(): 'page' | 'loaded' {
  return ($<HTMLInputElement>('model-choice-loaded')).checked ? 'loaded' : 'page';
}

async function predict(source: ImageSource, transfer: Transferable[] = []): Promise<void> {
  clearError();
  predictionsBox.dataset.state = 'running';
  predictionsBox.replaceChildren(element('p', 'predicting…', 'muted'));
  try {
    const reply = await call<PredictionReply>({ op: 'predict', source, model: modelChoice() }, transfer);
    const list = element('ol', undefined, 'top5');
    for (const p of reply.predictions) {
      const item = element('li');
      item.dataset.class = String(p.class);
      item.dataset.name = p.name;
      item.dataset.probability = String(p.probability);
      const meter = element('meter') as HTMLMeterElement;
      meter.min = 0;
      meter.max = 1;
      meter.value = p.probability;
      meter.setAttribute('aria-label', `probability of ${p.name}`);
      item.append(element('span', p.name, 'name'), meter, element('span', `${(100 * p.probability).toFixed(1)} %`, 'value'));
      list.append(item);
    }
    const figure = element('figure');
    figure.append(imageOf(reply.input, 'the image as the model sees it after the evaluation crop and resize', 'enlarged'), element('figcaption', `model input (${reply.input.width} px)`));
    predictionsBox.replaceChildren(element('p', `by ${reply.model}:`, 'muted'), element('div', undefined, 'prediction'));
    predictionsBox.lastElementChild!.append(figure, list);
    predictionsBox.dataset.state = 'done';
  } catch (error) {
    showPredictionError((error as Error).message);
  }
}

function showPredictionError(text: string): void {
  predictionsBox.replaceChildren(element('p', text, 'error'));
  predictionsBox.dataset.state = 'failed';
}

/** Larger than any image worth decoding here (PIL's pixel limit as 8-bit RGB is about 512 MiB). */
const IMAGE_SIZE_LIMIT = 2 ** 30;

$('predict-face').addEventListener('click', () => {
  if (!app.selectedFace) return showError('choose a face in the gallery first');
  void predict({ kind: 'gallery', key: app.selectedFace });
});

async function predictFile(file: File): Promise<void> {
  clearError();
  if (file.size > IMAGE_SIZE_LIMIT) {
    return showPredictionError(`${file.name} is ${(file.size / 2 ** 30).toFixed(1)} GiB, more than the ${IMAGE_SIZE_LIMIT / 2 ** 30} GiB this page reads: choose a face photo (PNG, JPEG or TIFF)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await file.arrayBuffer());
  } catch (error) {
    return showPredictionError(`${file.name} could not be read (${(error as Error).message}): choose the file again, or another one`);
  }
  await predict({ kind: 'file', name: file.name, bytes }, [bytes.buffer]);
}

$<HTMLInputElement>('image-input').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (file) void predictFile(file);
});

// ---- camera: a frame from getUserMedia, sent as a PNG through the same path as an upload

const cameraStart = $<HTMLButtonElement>('camera-start');
const cameraCapture = $<HTMLButtonElement>('camera-capture');
const cameraStop = $<HTMLButtonElement>('camera-stop');
const cameraStatus = $('camera-status');
const cameraVideo = $<HTMLVideoElement>('camera-video');
let cameraStream: MediaStream | undefined;

/** No camera to use: the button stays off and says why. */
function cameraUnavailable(reason: string): void {
  cameraStart.disabled = true;
  cameraStart.removeAttribute('data-needs-idle');
  cameraStatus.textContent = reason;
  document.body.dataset.camera = 'unavailable';
}

async function checkCamera(): Promise<void> {
  if (!navigator.mediaDevices?.getUserMedia) return cameraUnavailable('no camera access here (browsers allow it on https:// and localhost pages only)');
  const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
  if (!devices.some((device) => device.kind === 'videoinput')) return cameraUnavailable('no camera found');
  document.body.dataset.camera = 'available';
}

function syncCameraButtons(): void {
  if (document.body.dataset.camera === 'unavailable') cameraStart.disabled = true;
  if (cameraStream) cameraStart.disabled = true;
  cameraCapture.disabled = training || !cameraStream;
}

function stopCamera(): void {
  for (const track of cameraStream?.getTracks() ?? []) track.stop();
  cameraStream = undefined;
  cameraVideo.srcObject = null;
  cameraVideo.hidden = true;
  cameraStop.disabled = true;
  cameraStart.disabled = training;
  syncCameraButtons();
  if (document.body.dataset.camera === 'live') document.body.dataset.camera = 'available';
}

cameraStart.addEventListener('click', async () => {
  clearError();
  cameraStatus.textContent = 'asking for the camera…';
  try {
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (error) {
    const name = (error as DOMException).name;
    return cameraUnavailable(name === 'NotAllowedError' ? 'camera permission refused: allow it in the site settings, or upload an image'
      : name === 'NotFoundError' ? 'no camera found' : `the camera could not start (${(error as Error).message})`);
  }
  cameraVideo.srcObject = cameraStream;
  cameraVideo.hidden = false;
  await cameraVideo.play();
  cameraStop.disabled = false;
  syncCameraButtons();
  cameraStatus.textContent = 'camera on: centre your face, then predict a frame';
  document.body.dataset.camera = 'live';
});

cameraCapture.addEventListener('click', () => {
  if (!cameraStream || cameraVideo.videoWidth === 0) return showError('the camera has no picture yet: wait a moment and try again');
  const canvas = document.createElement('canvas');
  canvas.width = cameraVideo.videoWidth;
  canvas.height = cameraVideo.videoHeight;
  canvas.getContext('2d')!.drawImage(cameraVideo, 0, 0);
  canvas.toBlob((blob) => {
    if (!blob) return showError('the camera frame could not be captured');
    void predictFile(new File([blob], 'camera frame.png', { type: 'image/png' }));
  }, 'image/png');
});
cameraStop.addEventListener('click', () => {
  stopCamera();
  cameraStatus.textContent = '';
});

// ---- checkpoints

const checkpointStatus = $('checkpoint-status');
/** Larger than any checkpoint the page reads (LightCNN-29v2 or FaPE-GAN with optimizer state: a few hundred MB). */
const CHECKPOINT_SIZE_LIMIT = 2 ** 30;

async function loadCheckpointFile(file: File): Promise<void> {
  clearError();
  checkpointStatus.textContent = `reading ${file.name}…`;
  checkpointStatus.dataset.state = 'loading';
  try {
    if (file.size > CHECKPOINT_SIZE_LIMIT) {
      throw new Error(`${file.name} is ${(file.size / 2 ** 30).toFixed(1)} GiB, more than the ${CHECKPOINT_SIZE_LIMIT / 2 ** 30} GiB this page reads (a webfer or PyTorch LightCNN checkpoint is a few hundred MB at most): choose the .safetensors from \`webfer train\` or \`webfer gan-train\`, or a LightCNN .pth`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const loaded = await call<{ kind: string; label: string }>({ op: 'load-checkpoint', name: file.name, bytes }, [bytes.buffer]);
    checkpointStatus.textContent = `loaded ${loaded.label}`;
    checkpointStatus.dataset.state = 'loaded';
    checkpointStatus.dataset.kind = loaded.kind;
    if (loaded.kind === 'fanet') {
      const loadedChoice = $<HTMLInputElement>('model-choice-loaded');
      loadedChoice.disabled = false;
      loadedChoice.checked = true;
    }
  } catch (error) {
    const message = (error as Error).message;
    // The loaders' messages mostly start with the file's name already.
    checkpointStatus.textContent = message.startsWith(file.name) ? message : `could not load ${file.name}: ${message}`;
    checkpointStatus.dataset.state = 'failed';
  }
}

$<HTMLInputElement>('checkpoint-input').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  // Cleared, so that choosing the same file again (after fixing what went wrong) loads it again.
  input.value = '';
  if (file) void loadCheckpointFile(file);
});

for (const zone of Array.from(document.querySelectorAll<HTMLElement>('[data-drop]'))) {
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (!file) return;
    if (zone.dataset.drop === 'checkpoint') void loadCheckpointFile(file);
    else void predictFile(file);
  });
}

$('checkpoint-save').addEventListener('click', async () => {
  clearError();
  try {
    const saved = await call<{ name: string; bytes: Uint8Array }>({ op: 'save-checkpoint' });
    const link = element('a', `download ${saved.name} (${(saved.bytes.length / 1024).toFixed(0)} KiB)`);
    link.href = URL.createObjectURL(new Blob([saved.bytes as BlobPart], { type: 'application/octet-stream' }));
    link.download = saved.name;
    link.id = 'checkpoint-download';
    const hint = element('span', ' — read it with ', 'muted');
    hint.append(element('code', `webfer eval --checkpoint ${saved.name}`), ' or ', element('code', `webfer predict IMAGE --checkpoint ${saved.name}`));
    $('checkpoint-saved').replaceChildren(link, hint);
    link.click();
  } catch (error) {
    showError((error as Error).message);
  }
});

// ---- FaPE-GAN panel

const ganOutput = $('gan-output');

$('gan-run').addEventListener('click', async () => {
  clearError();
  if (!app.selectedFace) return showError('choose a face in the gallery first');
  ganOutput.dataset.state = 'running';
  try {
    const reply = await call<GanReply>({ op: 'gan', key: app.selectedFace, targetPose: $<HTMLSelectElement>('gan-pose').value });
    const row = element('div', undefined, 'gan-row');
    for (const tile of reply.tiles) {
      const figure = element('figure');
      figure.append(imageOf(tile.image, tile.label, 'enlarged'), element('figcaption', tile.label));
      row.append(figure);
    }
    ganOutput.replaceChildren(element('p', `generator: ${reply.generator}`, 'muted'), row);
    ganOutput.dataset.state = 'done';
  } catch (error) {
    ganOutput.replaceChildren(element('p', (error as Error).message, 'error'));
    ganOutput.dataset.state = 'failed';
  }
});

// ---- benchmark

const benchBody = $('bench-table').querySelector('tbody')!;

function addBenchRow(row: BenchRowMessage): void {
  const tr = element('tr');
  const time = row.ms < 1 ? `${(row.ms * 1000).toFixed(1)} µs` : `${row.ms.toFixed(2)} ms`;
  const rate = row.gflops !== undefined ? `${row.gflops.toFixed(2)} GFLOP/s` : row.gbps !== undefined ? `${row.gbps.toFixed(2)} GB/s` : '';
  for (const text of [row.suite, row.name, row.shape, time, rate, row.note ?? '']) tr.append(element('td', text));
  benchBody.append(tr);
}

$('bench-start').addEventListener('click', async () => {
  clearError();
  const suites = Array.from(document.querySelectorAll<HTMLInputElement>('input[name=bench-suite]:checked')).map((box) => box.value);
  if (suites.length === 0) return showError('choose at least one benchmark suite');
  benchBody.replaceChildren();
  const table = $('bench-table');
  table.dataset.state = 'running';
  $('bench-status').textContent = `running ${suites.join(', ')} (quick shapes)…`;
  try {
    const rows = await call<BenchRowMessage[]>({ op: 'bench', suites });
    table.dataset.state = 'done';
    $('bench-status').textContent = `${rows.length} rows`;
  } catch (error) {
    table.dataset.state = 'failed';
    $('bench-status').textContent = `benchmark failed: ${(error as Error).message}`;
  }
});

// ---- start-up

async function start(): Promise<void> {
  const adapterBox = $('adapter');
  const mainThreadHasWebGpu = 'gpu' in navigator;
  const refuse = (text: string, state: string) => {
    adapterBox.textContent = text;
    adapterBox.classList.add('error');
    document.body.dataset.state = state;
    for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('button'))) button.disabled = true;
  };
  let renderWorkers: number | undefined;
  try {
    renderWorkers = parseRenderWorkers(new URLSearchParams(location.search).get('renderWorkers'));
  } catch (error) {
    return refuse((error as Error).message, 'bad-address');
  }
  try {
    const { adapter, suggested } = await call<{ adapter: AdapterSummary; suggested: RunSettings }>({ op: 'init', renderWorkers });
    adapterBox.textContent = `WebGPU adapter: ${adapter.name}${adapter.isSoftware ? ' (software rasteriser: the suggested sizes are small)' : ''}`;
    adapterBox.dataset.software = String(adapter.isSoftware);
    adapterBox.dataset.kernels = JSON.stringify(adapter.kernels);
    writeSettings(settingsFromQuery(suggested));
    syncAugment();
    await refreshGallery(readSettings());
    await checkCamera();
    setBusy(false);
    document.body.dataset.state = 'ready';
  } catch (error) {
    const text = (error as Error).message;
    const inWorkerOnly = mainThreadHasWebGpu && /no WebGPU/.test(text)
      ? 'This browser has WebGPU on the page but not in Web Workers, where webfer trains; Chrome and Edge 113+ have both. ' : '';
    refuse(`${inWorkerOnly}${text}`, 'no-webgpu');
  }
}

void start();
