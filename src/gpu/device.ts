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
  /** The adapter's smallest subgroup (lanes), 0 where it does not say (kernels that share loads across 8 lanes need 8). */
  subgroupMinSize: number;
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

const DEBIAN_DRIVER_HELP =
  'No WebGPU adapter was found. webfer needs a Vulkan, Metal or D3D12 driver; on a machine without a GPU, ' +
  'Mesa lavapipe (software Vulkan) works. On Debian bookworm, as root: ' +
  "echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list && " +
  'apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1 ' +
  "(bookworm's own Mesa 22.3 is refused by Dawn). Or run `bash scripts/setup.sh` in the webfer checkout.";

const WEBGPU_BROWSERS =
  'WebGPU runs in Chrome and Edge 113 or later, Safari 26 or later (or Safari Technology Preview with WebGPU ' +
  'turned on under Develop > Feature Flags), and Firefox 141 or later on Windows (elsewhere Firefox Nightly with ' +
  'dom.webgpu.enabled set to true in about:config). On Linux, start Chrome with --enable-unsafe-webgpu --enable-features=Vulkan.';

/** Where init() looked for WebGPU, and how far it got. */
export interface AdapterEnvironment {
  /** 'node': Dawn from the npm `webgpu` package; 'browser': navigator.gpu. */
  runtime: 'node' | 'browser';
  /** Whether an entry point (navigator.gpu, or Dawn) existed; false when there is no WebGPU at all. */
  hasWebGpu: boolean;
  /** The page's window.isSecureContext (browsers expose WebGPU only to https:// and localhost). */
  secureContext?: boolean;
}

/** What to tell someone for whom init() found no adapter: a driver to install, or a browser to use. */
export function noAdapterMessage(environment: AdapterEnvironment): string {
  if (environment.runtime === 'node') return DEBIAN_DRIVER_HELP;
  if (!environment.hasWebGpu) {
    if (environment.secureContext === false) {
      return 'This page has no WebGPU because it is not a secure context: open it over https:// or from localhost. ' + WEBGPU_BROWSERS;
    }
    return `This browser has no WebGPU (navigator.gpu is undefined). ${WEBGPU_BROWSERS}`;
  }
  return (
    'This browser has WebGPU but found no usable GPU adapter: the GPU may be blocklisted or hardware acceleration ' +
    "turned off (in Chrome or Edge: Settings > System > 'Use graphics acceleration when available'; chrome://gpu " +
    `shows why WebGPU is off). ${WEBGPU_BROWSERS}`
  );
}

// The object returned by the `webgpu` package's create() must stay referenced for the life of the
// process: if it is garbage-collected, Node crashes.
let nodeGpu: GPU | undefined;

/** Dawn toggles the Node entry enables (the `webgpu` package's `enable-dawn-features` flag). */
export const DAWN_NODE_TOGGLES = ['vulkan_enable_f16_on_nvidia'];

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
  // Dawn hides shader-f16 on NVIDIA's Vulkan driver unless this adapter toggle is on (it is off by
  // default for driver bugs in older releases); other adapters ignore it.
  nodeGpu = dawn.create([`enable-dawn-features=${DAWN_NODE_TOGGLES.join(',')}`]);
  return nodeGpu;
}

/** The Dawn entry point init() made in Node (navigator.gpu's stand-in); undefined in a browser or before it. */
export function nodeGpuEntryIfMade(): GPU | undefined {
  return nodeGpu;
}

export async function requestAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<GPUAdapter> {
  const navigatorGpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const runtime = isNode() ? 'node' : 'browser';
  const entry = navigatorGpu ?? (runtime === 'node' ? await nodeGpuEntry() : undefined);
  const secureContext = (globalThis as { isSecureContext?: boolean }).isSecureContext;
  if (!entry) throw new Error(noAdapterMessage({ runtime, hasWebGpu: false, secureContext }));
  const adapter = await entry.requestAdapter({ powerPreference });
  if (!adapter) throw new Error(noAdapterMessage({ runtime, hasWebGpu: true, secureContext }));
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
    subgroupMinSize: (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0,
  };
}
