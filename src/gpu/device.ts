// Device acquisition: navigator.gpu in a browser, Dawn (npm `webgpu`) in Node, or a device the
// caller already has. Asks the adapter for its higher limits, since the defaults (128 MiB
// bindings, 8 storage buffers per stage) are lower than what the kernels can use.

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Software rasterisers (lavapipe, SwiftShader, WARP): kernels pick variants without workgroup memory. */
  isSoftware: boolean;
  features: string[];
  limits: Record<string, number>;
}

export const REQUESTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups' as GPUFeatureName];

const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

export const REPORTED_LIMITS = [...RAISED_LIMITS, 'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment'] as const;

const NO_ADAPTER_HELP =
  'No WebGPU adapter was found. webfer needs a Vulkan, Metal or D3D12 driver; on a machine without a GPU, ' +
  'Mesa lavapipe (software Vulkan) works. On Debian bookworm, as root: ' +
  "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && " +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1 ' +
  "(bookworm's own Mesa 22.3 is refused by Dawn). Or run `bash scripts/setup.sh` in the webfer checkout.";

// The object returned by the `webgpu` package's create() must stay referenced for the life of the
// process: if it is garbage-collected, Node crashes.
let nodeGpu: GPU | undefined;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

async function nodeGpuEntry(): Promise<GPU> {
  if (nodeGpu) return nodeGpu;
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  if (!env.XDG_RUNTIME_DIR) {
    // Mesa's Vulkan loader warns on every start without it; a per-user temp folder is enough.
    const os = await import('node:os');
    const fs = await import('node:fs');
    const dir = `${os.tmpdir()}/webfer-xdg-${os.userInfo().uid}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  // Reached only in Node; browser bundles mark 'webgpu' and node:* as external and never load them.
  let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (error) {
    throw new Error(`Could not load the 'webgpu' package (Dawn for Node): ${(error as Error).message}. Run \`npm install\` in the webfer checkout.`);
  }
  Object.assign(globalThis, dawn.globals);
  nodeGpu = dawn.create([]);
  return nodeGpu;
}

export async function requestAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter> {
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const entry = navigatorGpu ?? (isNode() ? await nodeGpuEntry() : undefined);
  if (!entry) throw new Error('This browser has no WebGPU (navigator.gpu is undefined). Use a recent Chrome, Edge or Firefox, or enable WebGPU in its flags.');
  const adapter = await entry.requestAdapter({ powerPreference });
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  return adapter;
}

export async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredFeatures = REQUESTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  return adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'webfer' });
}

export function describeAdapter(adapter: GPUAdapter | undefined, device: GPUDevice): AdapterDescription {
  const info = (adapter?.info ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo) as GPUAdapterInfo | undefined;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const deviceName = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${deviceName} ${description}`;
  const isFallback = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? false;
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) {
    const value = (device.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') limits[name] = value;
  }
  return {
    vendor,
    architecture,
    device: deviceName,
    description,
    isSoftware: isFallback || /llvmpipe|lavapipe|swiftshader|warp|software/i.test(text),
    features: [...device.features].sort(),
    limits,
  };
}
