// The GPU runtime: one device, an open command encoder that every op appends its dispatch to, a
// pipeline cache, a uniform arena for kernel parameters, the buffer pool, read-back and
// profiling. Knows nothing of tensors or gradients.
//
// Execution model: dispatches are encoded, not submitted. The encoder is submitted when data is
// read back, on sync(), and after maxDispatchesPerSubmit dispatches (the size of the uniform
// arena). Uploads while work is encoded are copied inside the encoder, so they keep their order.
//
// With asyncCompile on, a dispatch of a kernel whose pipeline is not compiled yet does not compile
// it in place (in Chromium on SwiftShader, a step's first-use createComputePipeline calls held the
// page's frames back 0.9-4.7 s: they block the GPU process, which draws the page too). It starts
// createComputePipelineAsync, and from then on every op is recorded instead of encoded, in order;
// once the compiles finish (or a read-back or sync() needs the results) the record is encoded as
// if nothing had waited.

import { BufferUsage, MapMode } from './constants.js';
import { BufferPool, sizeClass, type PoolStats } from './pool.js';
import { describeAdapter, type AdapterDescription } from './device.js';
import { Profiler, type KernelTiming } from './profiler.js';
import { KernelPolicy, adapterClassOf, type KernelChoices, type TunableKey } from './policy.js';
import type { TuningRecord } from './autotune.js';

export type { KernelTiming } from './profiler.js';

/** A compute kernel: WGSL source plus the override constants that specialise it. */
export interface Kernel {
  /** Names the kernel in errors and profiles, e.g. "matmul.tiled". */
  name: string;
  code: string;
  entryPoint?: string;
  constants?: Record<string, number>;
}

/** A storage buffer, or a byte range of one, bound at @binding(1 + index). */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

export interface RuntimeOptions {
  /** Wraps every dispatch in a validation error scope, so errors name their kernel exactly. */
  debug?: boolean;
  maxDispatchesPerSubmit?: number;
  /** Upper bound on bytes kept in the free lists of the buffer pool. */
  maxPooledBytes?: number;
  /** Kernel variants to use instead of the adapter class's defaults (see KernelPolicy). */
  kernelPolicy?: Partial<KernelChoices>;
  /** Time the kernel variants per shape class and keep the fastest (Gpu.autotune()); off by default. */
  autotune?: boolean;
  /** Compile new pipelines with createComputePipelineAsync, holding back the ops that follow (see the header); off by default. */
  asyncCompile?: boolean;
}

export interface Counters {
  dispatches: number;
  submits: number;
  /** Pipelines compiled, blocking (createComputePipeline) or not. */
  pipelinesCompiled: number;
  /** Of those, the ones compiled with createComputePipelineAsync (precompile(), asyncCompile). */
  pipelinesCompiledAsync: number;
  /** Dispatches recorded while pipelines compiled in the background, encoded later. */
  dispatchesDeferred: number;
  readbacks: number;
  bytesRead: number;
  uploads: number;
  bytesUploaded: number;
}

export class DeviceLostError extends Error {
  constructor(reason: string) {
    super(`The WebGPU device is lost (${reason}); every tensor on it is gone. Call init() again to get a new device.`);
    this.name = 'DeviceLostError';
  }
}

/** A kernel flagged input it cannot raise an error for itself (see Gpu.checkedFlags). */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

export class KernelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelError';
  }
}

interface CompiledKernel {
  id: number;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Set once the asynchronous validation of this pipeline reported an error. */
  error?: string;
}

/** An op recorded while pipelines compile in the background, encoded in order once they are ready. */
type DeferredOp =
  | { kind: 'dispatch'; kernel: Kernel; resources: { buffer: GPUBuffer; offset: number; size: number }[]; params: Uint8Array | undefined; workgroups: [number, number, number] }
  | { kind: 'copy'; source: GPUBuffer; sourceOffset: number; target: GPUBuffer; targetOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; bytes: number }
  | { kind: 'flush' }
  | { kind: 'mapAfterSubmit'; read: ReadAwaitingSubmit };

/** A read-back copy encoded but not yet submitted (readAfterSubmit): mapped once a submit has carried it. */
interface ReadAwaitingSubmit {
  staging: GPUBuffer;
  byteLength: number;
  submitted: boolean;
  resolve: (bytes: ArrayBuffer) => void;
  reject: (error: unknown) => void;
}

/** A read-back that rides the next submit, whoever makes it (Gpu.readAfterSubmit). */
export interface ReadAfterSubmit {
  /** The bytes, once the GPU has run the submit that carried the copy. */
  readonly bytes: Promise<ArrayBuffer>;
  /** Submits now unless a submit has carried the copy already (for a reader about to wait on it). */
  submit(): void;
}

/** The bindings a kernel declares: @binding(0) uniform params (optional), then storage buffers. */
interface BindingPlan {
  hasParams: boolean;
  storage: { binding: number; readOnly: boolean }[];
}

const BINDING_DECLARATION = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage)\s*(?:,\s*(read_write|read))?\s*>/g;

/** Reads a kernel's binding table from its WGSL, so pipelines get explicit layouts. */
export function bindingPlan(code: string, kernelName: string): BindingPlan {
  const plan: BindingPlan = { hasParams: false, storage: [] };
  for (const match of code.matchAll(BINDING_DECLARATION)) {
    const binding = Number(match[1]);
    if (match[2] === 'uniform') {
      if (binding !== 0) throw new KernelError(`kernel "${kernelName}": the params uniform must be @binding(0), found @binding(${binding})`);
      plan.hasParams = true;
    } else {
      plan.storage.push({ binding, readOnly: match[3] !== 'read_write' });
    }
  }
  plan.storage.sort((a, b) => a.binding - b.binding);
  plan.storage.forEach((entry, i) => {
    if (entry.binding !== i + 1) throw new KernelError(`kernel "${kernelName}": storage buffers must be @binding(1), @binding(2), ... in order; found @binding(${entry.binding})`);
  });
  return plan;
}

/** Words in a checked-flags buffer; kernels give them their own meanings. */
export const FLAG_WORDS = 4;
const FLAG_BYTES = 4 * FLAG_WORDS;

/** A flags buffer handed to a kernel, and how to turn what the kernel wrote into an error. */
interface FlagCheck {
  buffer: GPUBuffer;
  explain: (words: Uint32Array) => string | undefined;
}

const PARAMS_SLOT_BYTES = 256;
const MAX_CACHED_BIND_GROUPS = 16_384;
const STAGE_COMPUTE = 0x4; // GPUShaderStage.COMPUTE
const DEFAULT_DISPATCHES_PER_SUBMIT = 512;

function formatBytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes} bytes`;
}

export class Gpu {
  readonly info: AdapterDescription;
  readonly pool: BufferPool;
  readonly counters: Counters = { dispatches: 0, submits: 0, pipelinesCompiled: 0, pipelinesCompiledAsync: 0, dispatchesDeferred: 0, readbacks: 0, bytesRead: 0, uploads: 0, bytesUploaded: 0 };
  readonly maxDispatchesPerSubmit: number;
  /** The largest storage binding a dispatch may use: the adapter's limit, or lower (setMaxBindingBytes). */
  get maxBindingBytes(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.bindingLimitOverride ?? Infinity);
  }
  private bindingLimitOverride: number | undefined;
  /** A 16-byte storage buffer bound where a kernel's optional input is absent. */
  readonly placeholder: GPUBuffer;
  /**
   * A 16-byte storage buffer bound where a kernel's optional output is absent: a writable binding
   * may alias neither the read-only placeholder nor another writable binding in one dispatch.
   */
  readonly placeholderOutput: GPUBuffer;
  /** Which kernel variant and split each GEMM-shaped op uses here; overridable. */
  readonly policy: KernelPolicy;
  debug: boolean;
  /** Compile new pipelines without blocking the GPU process (see the header); settable at any time. */
  asyncCompile: boolean;

  private lostReason: string | undefined;
  private readonly pipelines = new Map<string, CompiledKernel>();
  private readonly compiledByKernel = new WeakMap<Kernel, CompiledKernel>();
  /** Callbacks for the next write into a buffer (watchWrites). */
  private readonly writeWatchers = new Map<GPUBuffer, () => void>();
  private readonly writableSlotsByKernel = new WeakMap<Kernel, number[]>();
  /** Background compiles queued or in flight, by kernel key. */
  private readonly compiling = new Map<string, Promise<void>>();
  /** The last background compile queued: each waits for the one before it (see compileInBackground). */
  private compileQueue: Promise<unknown> = Promise.resolve();
  /** Kernels whose background compile failed, by kernel key: the error message. */
  private readonly failedKernels = new Map<string, string>();
  /** The ops recorded since a dispatch met a pipeline still compiling; undefined while encoding directly. */
  private deferred: DeferredOp[] | undefined;
  private draining: Promise<void> | undefined;
  /**
   * Set while recorded ops are encoded: buffers freed anywhere in the record (upload staging,
   * pool evictions) wait for the submit after the last of them, not the first recorded submit.
   */
  private replaying = false;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bindGroupKeysByBuffer = new Map<number, string[]>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private nextPipelineId = 1;
  private readonly pendingChecks: Promise<void>[] = [];
  private readonly failures: string[] = [];
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private dispatchesInEncoder = 0;
  private readonly paramsSlotBytes: number;
  private readonly paramsArena: GPUBuffer;
  private readonly paramsStaging: Uint8Array<ArrayBuffer>;
  private paramsUsed = 0;
  private readonly destroyAfterSubmit: GPUBuffer[] = [];
  private readonly readbackFree = new Map<number, GPUBuffer[]>();
  /** readAfterSubmit's copies in the open encoder: mapped after the next submit. */
  private readonly readsAwaitingSubmit: ReadAwaitingSubmit[] = [];
  private readonly pendingFlags: FlagCheck[] = [];
  /** Flags buffers already read back and cleared (in queue order), ready for the next kernel. */
  private readonly flagsFree: GPUBuffer[] = [];
  private readonly recentKernels: string[] = [];
  private profiler: Profiler | undefined;

  constructor(
    readonly device: GPUDevice,
    adapter: GPUAdapter | undefined,
    options: RuntimeOptions = {},
  ) {
    this.info = describeAdapter(adapter, device);
    this.policy = new KernelPolicy(adapterClassOf(this.info), options.kernelPolicy, options.autotune ?? false);
    this.debug = options.debug ?? false;
    this.asyncCompile = options.asyncCompile ?? false;
    this.maxDispatchesPerSubmit = options.maxDispatchesPerSubmit ?? DEFAULT_DISPATCHES_PER_SUBMIT;
    this.paramsSlotBytes = Math.max(PARAMS_SLOT_BYTES, device.limits.minUniformBufferOffsetAlignment);
    const arenaBytes = this.paramsSlotBytes * this.maxDispatchesPerSubmit;
    this.paramsArena = device.createBuffer({ label: 'webfer.params', size: arenaBytes, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.paramsStaging = new Uint8Array(arenaBytes);
    this.placeholder = device.createBuffer({ label: 'webfer.placeholder', size: 16, usage: BufferUsage.STORAGE });
    this.placeholderOutput = device.createBuffer({ label: 'webfer.placeholderOutput', size: 16, usage: BufferUsage.STORAGE });
    this.pool = new BufferPool(device, (b) => this.destroyAfterSubmit.push(b), options.maxPooledBytes ?? defaultPoolBytes(device));
    device.lost.then((info) => {
      this.lostReason ??= `${info.reason ?? 'unknown'}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.failures.push(`WebGPU error after kernels [${this.recentKernels.join(', ')}]: ${message}`);
    });
  }

  get lost(): string | undefined {
    return this.lostReason;
  }

  private assertAlive(): void {
    if (this.lostReason !== undefined) throw new DeviceLostError(this.lostReason);
  }

  private kernelKey(kernel: Kernel): string {
    const constants = kernel.constants ? JSON.stringify(Object.entries(kernel.constants).sort()) : '';
    return `${kernel.name}|${kernel.entryPoint ?? 'main'}|${constants}|${kernel.code}`;
  }

  private pipelineDescriptor(kernel: Kernel): { descriptor: GPUComputePipelineDescriptor; layout: GPUBindGroupLayout; module: GPUShaderModule } {
    const plan = bindingPlan(kernel.code, kernel.name);
    const entries: GPUBindGroupLayoutEntry[] = [];
    if (plan.hasParams) {
      entries.push({ binding: 0, visibility: STAGE_COMPUTE, buffer: { type: 'uniform' } });
    }
    for (const { binding, readOnly } of plan.storage) {
      entries.push({ binding, visibility: STAGE_COMPUTE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } });
    }
    const layout = this.device.createBindGroupLayout({ label: kernel.name, entries });
    const module = this.device.createShaderModule({ label: kernel.name, code: kernel.code });
    return {
      layout,
      module,
      descriptor: {
        label: kernel.name,
        layout: this.device.createPipelineLayout({ label: kernel.name, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants: kernel.constants },
      },
    };
  }

  /** The kernel's pipeline if it is compiled already; a KernelError if its background compile failed. */
  private compiledAlready(kernel: Kernel, key?: string): CompiledKernel | undefined {
    const known = this.compiledByKernel.get(kernel);
    if (known) return known;
    key ??= this.kernelKey(kernel);
    const failure = this.failedKernels.get(key);
    if (failure !== undefined) throw new KernelError(failure);
    const cached = this.pipelines.get(key);
    if (cached) this.compiledByKernel.set(kernel, cached);
    return cached;
  }

  private compile(kernel: Kernel): CompiledKernel {
    const key = this.kernelKey(kernel);
    const cached = this.compiledAlready(kernel, key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const { descriptor, layout, module } = this.pipelineDescriptor(kernel);
    const pipeline = this.device.createComputePipeline(descriptor);
    const compiled: CompiledKernel = { id: this.nextPipelineId++, pipeline, layout };
    this.pendingChecks.push(
      this.device.popErrorScope().then(async (error) => {
        if (!error) return;
        const info = await module.getCompilationInfo().catch(() => undefined);
        const lines = info?.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
        compiled.error = `kernel "${kernel.name}" failed to compile: ${error.message}${lines ? `\n${lines}` : ''}`;
        this.failures.push(compiled.error);
      }),
    );
    this.counters.pipelinesCompiled++;
    this.pipelines.set(key, compiled);
    this.compiledByKernel.set(kernel, compiled);
    return compiled;
  }

  /**
   * Queues a kernel for createComputePipelineAsync unless it is compiled or queued; resolves when
   * it is done. A failure is kept (failedKernels) and raised where the kernel is used. One compile
   * at a time: in Chromium on SwiftShader a dozen asked at once still held the page's frames back
   * 3.3 s; one after another, it draws in between (bench/RESULTS.md, the page's held frames).
   */
  private compileInBackground(kernel: Kernel, key = this.kernelKey(kernel)): Promise<void> {
    if (this.pipelines.has(key) || this.failedKernels.has(key)) return Promise.resolve();
    const queued = this.compiling.get(key);
    if (queued) return queued;
    // A WGSL error in the module is raised by the rejected compile below, not as an uncaptured error.
    this.device.pushErrorScope('validation');
    const { descriptor, layout } = this.pipelineDescriptor(kernel);
    void this.device.popErrorScope();
    const done = this.compileQueue.then(() => this.device.createComputePipelineAsync(descriptor)).then(
      (pipeline) => {
        this.counters.pipelinesCompiled++;
        this.counters.pipelinesCompiledAsync++;
        this.pipelines.set(key, { id: this.nextPipelineId++, pipeline, layout });
      },
      (error: Error) => {
        this.failedKernels.set(key, `kernel "${kernel.name}" failed to compile: ${error.message}`);
      },
    ).finally(() => {
      this.compiling.delete(key);
      // The recorded ops go to the GPU as soon as their pipelines exist, not at the next read-back.
      if (this.compiling.size === 0 && this.deferred) void this.drain();
    });
    this.compiling.set(key, done);
    this.compileQueue = done;
    return done;
  }

  /** Compiles kernels ahead of their first use without blocking (one after another), so the first step does not stall. */
  async precompile(kernels: Kernel[]): Promise<void> {
    await Promise.all(kernels.map((kernel) => this.compileInBackground(kernel)));
    for (const kernel of kernels) this.compiledAlready(kernel);
  }

  /**
   * Encodes the ops recorded while pipelines compiled, once every background compile has
   * finished (ops recorded meanwhile included). A recorded dispatch whose kernel failed to compile
   * is dropped and its error raised by the next read-back or sync().
   */
  private drain(): Promise<void> {
    if (!this.deferred) return Promise.resolve();
    this.draining ??= (async () => {
      try {
        while (this.compiling.size > 0) await Promise.all(this.compiling.values());
        const ops = this.deferred ?? [];
        this.deferred = undefined;
        this.replaying = true;
        for (const op of ops) {
          try {
            this.encode(op);
          } catch (error) {
            const message = (error as Error).message;
            if (!this.failures.includes(message)) this.failures.push(message);
          }
        }
      } finally {
        this.replaying = false;
        this.draining = undefined;
      }
      if (!this.encoder) this.destroyFreedBuffers();
    })();
    return this.draining;
  }

  private encode(op: DeferredOp): void {
    switch (op.kind) {
      case 'dispatch': return this.encodeDispatch(op.kernel, this.compile(op.kernel), op.resources, op.params, op.workgroups);
      case 'copy': return this.encodeCopy(op.source, op.sourceOffset, op.target, op.targetOffset, op.bytes);
      case 'clear': return this.encodeClear(op.buffer, op.bytes);
      case 'flush': return this.flush();
      case 'mapAfterSubmit': return void this.readsAwaitingSubmit.push(op.read);
    }
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }

  /**
   * One bind group per (pipeline, params slot, buffers): a training step replays the same
   * dispatches over the same pooled buffers every step, so after the first step every bind group
   * is a cache hit. (Dynamic uniform offsets would need fewer bind groups, but measured 2-3x
   * slower per dispatch on lavapipe.)
   */
  /**
   * Lowers the binding limit the runtime assumes below the adapter's (undefined restores it), so
   * tests reach the paths of tensors larger than a binding with small ones.
   */
  setMaxBindingBytes(bytes: number | undefined): void {
    if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 16 && bytes % 16 === 0)) {
      throw new Error(`setMaxBindingBytes: expected a positive multiple of 16 bytes, got ${bytes}`);
    }
    this.bindingLimitOverride = bytes;
  }

  /**
   * The range a whole-buffer binding covers: a pooled buffer's acquired bytes (rounded up to 16,
   * within the buffer), not its size class, so a tensor that fits a binding binds even when its
   * pool buffer would not; other buffers whole.
   */
  private boundRange(buffer: GPUBuffer): { buffer: GPUBuffer; offset: number; size: number } {
    const acquired = this.pool.bytesAcquired(buffer);
    const size = acquired === undefined ? buffer.size : Math.min(buffer.size, Math.max(16, Math.ceil(acquired / 16) * 16));
    return { buffer, offset: 0, size };
  }

  private bindGroup(kernel: Kernel, compiled: CompiledKernel, bindings: Binding[], hasParams: boolean, paramsOffset: number): GPUBindGroup {
    let key = `${compiled.id}:${paramsOffset}`;
    const ids: number[] = [];
    const resources = bindings.map((binding) => ('buffer' in binding ? binding : this.boundRange(binding)));
    for (const resource of resources) {
      const id = this.bufferId(resource.buffer);
      ids.push(id);
      key += `,${id}@${resource.offset}+${resource.size}`;
    }
    const cached = this.bindGroups.get(key);
    if (cached) return cached;
    const entries: GPUBindGroupEntry[] = [];
    if (hasParams) entries.push({ binding: 0, resource: { buffer: this.paramsArena, offset: paramsOffset, size: this.paramsSlotBytes } });
    resources.forEach((resource, index) => {
      if (resource.size > this.maxBindingBytes) {
        throw new KernelError(
          `kernel "${kernel.name}": binding ${index + 1} is ${formatBytes(resource.size)}, above this adapter's ` +
            `maxStorageBufferBindingSize of ${formatBytes(this.maxBindingBytes)}; use a smaller batch or input`,
        );
      }
      entries.push({ binding: index + 1, resource });
    });
    const group = this.device.createBindGroup({ label: kernel.name, layout: compiled.layout, entries });
    if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) {
      this.bindGroups.clear();
      this.bindGroupKeysByBuffer.clear();
    }
    this.bindGroups.set(key, group);
    for (const id of ids) {
      const keys = this.bindGroupKeysByBuffer.get(id);
      if (keys) keys.push(key);
      else this.bindGroupKeysByBuffer.set(id, [key]);
    }
    return group;
  }

  private destroyFreedBuffers(): void {
    for (const buffer of this.destroyAfterSubmit.splice(0)) this.destroyBuffer(buffer);
  }

  /** Destroys a buffer and forgets the bind groups that reference it. */
  private destroyBuffer(buffer: GPUBuffer): void {
    const id = this.bufferIds.get(buffer);
    if (id !== undefined) {
      for (const key of this.bindGroupKeysByBuffer.get(id) ?? []) this.bindGroups.delete(key);
      this.bindGroupKeysByBuffer.delete(id);
    }
    buffer.destroy();
  }

  private openPass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'webfer.ops' });
    if (this.profiler?.active) return this.profiler.beginPass(this.encoder);
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  private closePass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /**
   * Appends one dispatch. `params` is copied into the uniform arena and bound at @binding(0);
   * `bindings` are bound at @binding(1), @binding(2), ... in order.
   */
  dispatch(kernel: Kernel, bindings: Binding[], params: ArrayBufferView | undefined, workgroups: readonly [number, number?, number?]): void {
    this.assertAlive();
    const compiled = this.asyncCompile || this.deferred ? this.compiledAlready(kernel) : this.compile(kernel);
    if (compiled?.error) throw new KernelError(compiled.error);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new KernelError(`kernel "${kernel.name}": dispatch [${x}, ${y}, ${z}] exceeds ${maxGroups} workgroups per dimension`);
    }
    if (params && params.byteLength > this.paramsSlotBytes) throw new KernelError(`kernel "${kernel.name}": ${params.byteLength} bytes of parameters exceed the ${this.paramsSlotBytes}-byte slot`);
    if (this.writeWatchers.size > 0) this.noteDispatchWrites(kernel, bindings);
    if (!compiled || this.deferred) {
      if (!compiled) void this.compileInBackground(kernel);
      // Bound ranges and parameters as they are now: pooled buffers and parameter arrays get reused.
      const resources = bindings.map((binding) => ('buffer' in binding ? binding : this.boundRange(binding)));
      const bytes = params && new Uint8Array(params.buffer, params.byteOffset, params.byteLength).slice();
      (this.deferred ??= []).push({ kind: 'dispatch', kernel, resources, params: bytes, workgroups: [x, y, z] });
      this.counters.dispatchesDeferred++;
      return;
    }
    this.encodeDispatch(kernel, compiled, bindings, params, [x, y, z]);
  }

  private encodeDispatch(kernel: Kernel, compiled: CompiledKernel, bindings: Binding[], params: ArrayBufferView | undefined, [x, y, z]: [number, number, number]): void {
    if (compiled.error) throw new KernelError(compiled.error);
    if (this.dispatchesInEncoder >= this.maxDispatchesPerSubmit) this.flush();

    const hasParams = params !== undefined;
    let paramsOffset = 0;
    if (params) {
      paramsOffset = this.paramsUsed;
      this.paramsStaging.set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength), paramsOffset);
      this.paramsUsed += this.paramsSlotBytes;
    }
    if (this.debug) this.device.pushErrorScope('validation');
    const bindGroup = this.bindGroup(kernel, compiled, bindings, hasParams, paramsOffset);
    const pass = this.openPass();
    pass.setPipeline(compiled.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler?.active) this.profiler.endPass(pass, kernel.name);
    if (this.debug) {
      this.pendingChecks.push(
        this.device.popErrorScope().then((error) => {
          if (error) this.failures.push(`kernel "${kernel.name}": ${error.message}`);
        }),
      );
    }
    this.recentKernels.push(kernel.name);
    if (this.recentKernels.length > 4) this.recentKernels.shift();
    this.dispatchesInEncoder++;
    this.counters.dispatches++;
  }

  /**
   * Calls `onWrite` once, at the next write into `buffer` encoded after now (a dispatch binding it
   * writable, a copy or upload into it, a clear), then forgets it: what caches a value derived from
   * a buffer (a parameter's float16 copy) learns there that it went stale, whoever wrote it.
   */
  watchWrites(buffer: GPUBuffer, onWrite: () => void): void {
    this.writeWatchers.set(buffer, onWrite);
  }

  /** Stops watching `buffer` (its holder let it go). */
  unwatchWrites(buffer: GPUBuffer): void {
    this.writeWatchers.delete(buffer);
  }

  private noteWrite(buffer: GPUBuffer): void {
    const onWrite = this.writeWatchers.get(buffer);
    if (!onWrite) return;
    this.writeWatchers.delete(buffer);
    onWrite();
  }

  /** The storage bindings a kernel may write (its read_write ones), by position in its bindings list. */
  private writableSlots(kernel: Kernel): number[] {
    let slots = this.writableSlotsByKernel.get(kernel);
    if (!slots) {
      slots = bindingPlan(kernel.code, kernel.name).storage.flatMap((entry, i) => (entry.readOnly ? [] : [i]));
      this.writableSlotsByKernel.set(kernel, slots);
    }
    return slots;
  }

  private noteDispatchWrites(kernel: Kernel, bindings: Binding[]): void {
    for (const slot of this.writableSlots(kernel)) {
      const binding = bindings[slot];
      if (binding) this.noteWrite('buffer' in binding ? binding.buffer : binding);
    }
  }

  /** Appends a buffer-to-buffer copy to the open encoder. */
  copy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.assertAlive();
    if (bytes === 0) return;
    if (this.writeWatchers.size > 0) this.noteWrite(target);
    if (this.deferred) this.deferred.push({ kind: 'copy', source, sourceOffset, target, targetOffset, bytes });
    else this.encodeCopy(source, sourceOffset, target, targetOffset, bytes);
  }

  private encodeCopy(source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.closePass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'webfer.ops' });
    this.encoder.copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
    this.dispatchesInEncoder++;
  }

  private clear(buffer: GPUBuffer, bytes: number): void {
    if (this.writeWatchers.size > 0) this.noteWrite(buffer);
    if (this.deferred) this.deferred.push({ kind: 'clear', buffer, bytes });
    else this.encodeClear(buffer, bytes);
  }

  private encodeClear(buffer: GPUBuffer, bytes: number): void {
    this.closePass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'webfer.ops' });
    this.encoder.clearBuffer(buffer, 0, bytes);
  }

  /** Submits everything encoded so far (while pipelines compile in the background: once they are ready). */
  flush(): void {
    this.assertAlive();
    if (this.deferred) {
      if (this.deferred.at(-1)?.kind !== 'flush') this.deferred.push({ kind: 'flush' });
      return;
    }
    if (!this.encoder) return;
    this.closePass();
    if (this.paramsUsed > 0) this.device.queue.writeBuffer(this.paramsArena, 0, this.paramsStaging, 0, this.paramsUsed);
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.collect();
    this.counters.submits++;
    this.encoder = undefined;
    this.dispatchesInEncoder = 0;
    this.paramsUsed = 0;
    if (this.readsAwaitingSubmit.length > 0) this.mapSubmittedReads();
    if (!this.replaying) this.destroyFreedBuffers();
  }

  /**
   * Writes host data into a buffer, ordered after everything already encoded (which may still
   * read the buffer's old contents: pooled buffers are reused). With work encoded, the data goes
   * through a staging buffer copied inside the encoder, so a mid-step upload (targets, labels)
   * costs no submit; with nothing encoded, straight through the queue.
   */
  upload(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.assertAlive();
    const bytes = data.byteLength;
    if (bytes % 4 !== 0) throw new Error(`upload: ${bytes} bytes is not a multiple of 4`);
    if (this.writeWatchers.size > 0) this.noteWrite(buffer);
    if ((this.encoder || this.deferred) && bytes > 0) {
      const staging = this.device.createBuffer({ label: 'webfer.upload', size: bytes, usage: BufferUsage.COPY_SRC, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      staging.unmap();
      this.copy(staging, 0, buffer, byteOffset, bytes);
      this.destroyAfterSubmit.push(staging);
    } else {
      this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, bytes);
    }
    this.counters.uploads++;
    this.counters.bytesUploaded += bytes;
  }

  /** Reads a byte range of a buffer back to the host, after everything encoded before it. */
  async read(buffer: GPUBuffer, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.assertAlive();
    const staging = this.copyToReadback(buffer, byteLength, byteOffset);
    const flags = this.encodeFlagReadback();
    this.flush();
    await this.whileAlive(this.drain(), 'read-back');
    const [result, flagWords] = await Promise.all([this.mapAndCopy(staging, byteLength, 'read-back'), flags && this.mapAndCopy(flags.staging, flags.bytes, 'read-back')]);
    await this.checkErrors();
    if (flags && flagWords) this.raiseFlags(flags.checks, new Uint32Array(flagWords));
    return result;
  }

  /**
   * A read-back that neither waits nor submits: the copy of the range joins the open encoder and
   * its read-back buffer is mapped after the next submit, whoever makes it (a step's loss read, a
   * sync, the dispatch limit); `submit()` forces one when nothing else will. The checked flags and
   * kernel errors stay for the next read() or sync() to raise. For state the host needs later but
   * not now (a loss scaler's check of a step that the GPU skips by itself if it must).
   */
  readAfterSubmit(buffer: GPUBuffer, byteLength: number, byteOffset = 0): ReadAfterSubmit {
    this.assertAlive();
    const staging = this.copyToReadback(buffer, byteLength, byteOffset);
    let read!: ReadAwaitingSubmit;
    const bytes = new Promise<ArrayBuffer>((resolve, reject) => {
      read = { staging, byteLength, submitted: false, resolve, reject };
    });
    if (this.deferred) this.deferred.push({ kind: 'mapAfterSubmit', read });
    else this.readsAwaitingSubmit.push(read);
    // Nothing encoded (an empty range): no submit will come, and none is needed.
    if (!this.encoder && !this.deferred) this.mapSubmittedReads();
    return {
      bytes,
      submit: () => {
        if (read.submitted) return;
        this.flush();
        // Recorded while pipelines compile: the submit comes when they are ready.
        void this.drain();
      },
    };
  }

  /** Maps the read-back buffers of readAfterSubmit's copies, which the submit just made carried. */
  private mapSubmittedReads(): void {
    for (const read of this.readsAwaitingSubmit.splice(0)) {
      read.submitted = true;
      this.mapAndCopy(read.staging, read.byteLength, 'read-back').then(read.resolve, read.reject);
    }
  }

  /** Encodes a copy of a buffer's byte range into a read-back buffer (counted as a read-back). */
  private copyToReadback(buffer: GPUBuffer, byteLength: number, byteOffset: number): GPUBuffer {
    const staging = this.takeReadback(byteLength);
    if (byteLength > 0) this.copy(buffer, byteOffset, staging, 0, byteLength);
    this.counters.readbacks++;
    this.counters.bytesRead += byteLength;
    return staging;
  }

  /**
   * With autotuning on: times the candidate variants of every shape class the launchers queued
   * since the last call, on scratch inputs, and keeps the fastest of each (KernelPolicy.choose).
   * Returns what was tuned; nothing when autotuning is off or nothing is queued.
   */
  async autotune(): Promise<TuningRecord[]> {
    const tuner = this.policy.autotuner;
    if (tuner.pendingCount === 0) return [];
    await this.sync();
    return tuner.tune(
      (key, variant) => this.policy.force(key as TunableKey, variant),
      async (run, repeats) => {
        const start = performance.now();
        for (let i = 0; i < repeats; i++) run();
        await this.sync();
        return performance.now() - start;
      },
    );
  }

  /** Waits until the GPU has finished all work submitted so far; raises deferred kernel errors. */
  async sync(): Promise<void> {
    const flags = this.encodeFlagReadback();
    this.flush();
    await this.whileAlive(this.drain(), 'sync');
    await this.whileAlive(this.device.queue.onSubmittedWorkDone(), 'sync');
    const flagWords = flags && (await this.mapAndCopy(flags.staging, flags.bytes, 'sync'));
    await this.checkErrors();
    if (flags && flagWords) this.raiseFlags(flags.checks, new Uint32Array(flagWords));
  }

  private takeReadback(byteLength: number): GPUBuffer {
    const size = sizeClass(byteLength);
    return this.readbackFree.get(size)?.pop() ?? this.device.createBuffer({ label: 'webfer.readback', size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  }

  /** Maps a read-back buffer once its copy has run, copies out the first byteLength bytes and recycles it. */
  private async mapAndCopy(staging: GPUBuffer, byteLength: number, what: string): Promise<ArrayBuffer> {
    const size = staging.size;
    await this.whileAlive(staging.mapAsync(MapMode.READ, 0, size), what);
    const result = staging.getMappedRange(0, size).slice(0, byteLength);
    staging.unmap();
    let list = this.readbackFree.get(size);
    if (!list) this.readbackFree.set(size, (list = []));
    list.push(staging);
    return result;
  }

  /**
   * A zeroed storage buffer of FLAG_WORDS u32 words for a kernel that checks its input on the
   * GPU (class indices, say) and cannot raise an error itself: the kernel writes what it found
   * wrong into the words. With the next read-back or sync the words come back to the host
   * alongside the data; `explain` turns nonzero words into a message (undefined: all is well),
   * and that read or sync rejects with an InvalidInputError. The runtime owns the buffer.
   */
  checkedFlags(explain: (words: Uint32Array) => string | undefined): GPUBuffer {
    this.assertAlive();
    const buffer = this.flagsFree.pop() ?? this.device.createBuffer({ label: 'webfer.flags', size: FLAG_BYTES, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST });
    this.pendingFlags.push({ buffer, explain });
    return buffer;
  }

  /** Copies every pending flags buffer into one read-back buffer, then clears them for reuse. */
  private encodeFlagReadback(): { staging: GPUBuffer; bytes: number; checks: FlagCheck[] } | undefined {
    if (this.pendingFlags.length === 0) return undefined;
    const checks = this.pendingFlags.splice(0);
    const bytes = checks.length * FLAG_BYTES;
    const staging = this.takeReadback(bytes);
    checks.forEach((check, i) => this.copy(check.buffer, 0, staging, i * FLAG_BYTES, FLAG_BYTES));
    for (const { buffer } of checks) {
      this.clear(buffer, FLAG_BYTES);
      this.flagsFree.push(buffer);
    }
    return { staging, bytes, checks };
  }

  private raiseFlags(checks: FlagCheck[], words: Uint32Array): void {
    const messages: string[] = [];
    checks.forEach((check, i) => {
      const slice = words.subarray(i * FLAG_WORDS, (i + 1) * FLAG_WORDS);
      if (slice.some((w) => w !== 0)) {
        const message = check.explain(slice);
        if (message !== undefined) messages.push(message);
      }
    });
    if (messages.length === 0) return;
    const more = messages.length > 1 ? ` (and ${messages.length - 1} more like it since the last read-back)` : '';
    throw new InvalidInputError(messages[0] + more);
  }

  private async checkErrors(): Promise<void> {
    if (this.pendingChecks.length) await Promise.all(this.pendingChecks.splice(0));
    if (this.failures.length) {
      const messages = this.failures.splice(0);
      throw new KernelError(messages.join('\n'));
    }
  }

  /** Resolves like `promise`, but rejects with the loss reason if the device is lost first. */
  private async whileAlive<T>(promise: Promise<T>, what: string): Promise<T> {
    const lost = this.device.lost.then((info) => {
      throw new DeviceLostError(`${info.reason ?? 'unknown'} during ${what}${info.message ? `: ${info.message}` : ''}`);
    });
    try {
      return await Promise.race([promise, lost]);
    } catch (error) {
      if (error instanceof DeviceLostError) throw error;
      if (this.lostReason !== undefined) throw new DeviceLostError(this.lostReason);
      throw error;
    }
  }

  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Returns pooled buffers to the driver. */
  releasePool(): void {
    this.pool.trim();
    for (const list of this.readbackFree.values()) for (const b of list) this.destroyAfterSubmit.push(b);
    this.readbackFree.clear();
    if (!this.encoder && !this.deferred) this.destroyFreedBuffers();
  }

  /**
   * Runs fn with per-kernel GPU timing. With the timestamp-query feature each dispatch gets its
   * own pass and GPU timestamps; without it, timings are absent (callers fall back to wall clock).
   */
  async profile<T>(fn: () => T | Promise<T>): Promise<{ result: T; timings: KernelTiming[]; timestamps: boolean }> {
    const timestamps = this.device.features.has('timestamp-query');
    this.flush();
    await this.drain();
    this.profiler = new Profiler(this.device, this.maxDispatchesPerSubmit, timestamps);
    try {
      const result = await fn();
      await this.sync();
      await this.profiler.settled();
      return { result, timings: this.profiler.timings(), timestamps };
    } finally {
      this.profiler.dispose();
      this.profiler = undefined;
    }
  }

  destroy(): void {
    this.lostReason ??= 'destroyed';
    this.device.destroy();
  }
}

function defaultPoolBytes(device: GPUDevice): number {
  return Math.min(4 * 2 ** 30, Math.max(256 * 2 ** 20, device.limits.maxBufferSize));
}
