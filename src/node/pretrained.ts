// Pre-trained weights for `webfer train --init-from`: a webfer training checkpoint (its model's
// tensors and configuration), a plain safetensors state dict with PyTorch's names (what
// `webfer convert` writes), or a PyTorch checkpoint (.pth / .pth.tar / .pt, read without Python).
import { readFileSync } from 'node:fs';
import type { LightCNNConfig } from '../models/lightcnn.js';
import { hasBatchNormKeys } from '../models/lightcnn-detect.js';
import type { HostTensor } from '../nn/module.js';
import { dataParallelPrefix, readPytorchCheckpoint } from '../nn/pytorch/index.js';
import { readRunInfo } from '../train/checkpoint.js';
import { assertFiniteTensors, loadSafetensors } from './checkpoint.js';

export interface PretrainedWeights {
  tensors: Map<string, HostTensor>;
  /** The model configuration the file records (webfer checkpoints; converted files when checked). */
  config?: Partial<LightCNNConfig>;
  /** What the file was, for the run's log. */
  description: string;
  /** The class names its classifier was trained on (webfer checkpoints record them), output k naming classes[k]. */
  classes?: string[];
}

const PYTORCH_FILE = /\.(pth|pt|tar|bin|ckpt)$/i;

export function readPretrainedWeights(path: string): PretrainedWeights {
  if (PYTORCH_FILE.test(path)) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new Error(`--init-from ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const checkpoint = readPytorchCheckpoint(bytes, { source: path });
    const tensors = new Map<string, HostTensor>([...checkpoint.tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data }]));
    assertFiniteTensors(tensors, path);
    // A state dict records no configuration, but its keys tell batch norm, for which no flag exists.
    return { tensors, config: { batchNorm: hasBatchNormKeys(tensors.keys()) }, description: `PyTorch checkpoint (${checkpoint.format} format) ${path}` };
  }
  if (!/\.safetensors$/i.test(path)) {
    throw new Error(`--init-from ${path}: expected a .safetensors file (webfer checkpoint or \`webfer convert\` output) or a PyTorch .pth / .pth.tar`);
  }
  const content = loadSafetensors(path, { finite: true });
  if (content.metadata.run) {
    const info = readRunInfo(content, path);
    if (info.kind !== 'fanet') throw new Error(`--init-from ${path} is a ${info.kind} checkpoint, not Fa-Net (LightCNN): pass a checkpoint from \`webfer train\``);
    const tensors = new Map<string, HostTensor>();
    for (const [name, t] of content.tensors) if (name.startsWith('model.')) tensors.set(name.slice('model.'.length), t);
    const classes = Array.isArray(info.extra?.classes) ? (info.extra.classes as string[]) : undefined;
    return { tensors, config: info.config as unknown as LightCNNConfig, description: `webfer Fa-Net checkpoint ${path} (after epoch ${info.epoch})`, classes };
  }
  const config = content.metadata.model ? (JSON.parse(content.metadata.model) as Partial<LightCNNConfig>) : { batchNorm: hasBatchNormKeys(content.tensors.keys()) };
  // A state dict PyTorch saved from a DataParallel wrapper (safetensors.torch.save_file(model.state_dict())) loses 'module.' as a .pth does.
  const prefix = dataParallelPrefix([...content.tensors.keys()]);
  const tensors = prefix ? new Map([...content.tensors].map(([name, t]) => [name.slice(prefix.length), t])) : content.tensors;
  const notes = `${content.metadata.converted_from ? ` (converted from ${content.metadata.converted_from})` : ''}${prefix ? ` (DataParallel prefix '${prefix}' removed from ${tensors.size} keys)` : ''}`;
  return { tensors, config, description: `state dict ${path}${notes}` };
}
