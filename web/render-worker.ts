// A render worker: renders the synthetic faces web/render-pool.ts sends and sends the pixels back
// (the buffer transferred, not copied). Started by the training worker (web/worker.ts), one per
// pool slot. Every image is a pure function of its options and spec: the same bytes as in any
// other thread.
import { renderSynthSample } from '../src/data/synth/generator.js';
import type { RenderJob, RenderReply } from './render-pool.js';

const workerScope = self as unknown as { postMessage(message: RenderReply, transfer?: Transferable[]): void; onmessage: ((event: MessageEvent<RenderJob>) => void) | null };

workerScope.onmessage = (event) => {
  const { id, options, spec } = event.data;
  try {
    const { image } = renderSynthSample(options, spec);
    workerScope.postMessage({ id, image }, [image.data.buffer]);
  } catch (error) {
    workerScope.postMessage({ id, failed: error instanceof Error ? error.message : String(error) });
  }
};
