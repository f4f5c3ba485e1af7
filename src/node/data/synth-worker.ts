// A synth worker thread: renders the batches of images synth-workers.ts sends, writes each image
// and its landmarks atomically, and reports each batch done. Every image is a pure function of
// its spec and the options, so which worker renders it does not change a byte.
import { parentPort } from 'node:worker_threads';
import { renderSynthFiles, synthFilePaths, type SynthBatch, type SynthWorkerReply } from './synth-workers.js';

if (!parentPort) throw new Error('synth-worker.js runs as a worker thread (started by renderSynthInWorkers)');
const port = parentPort;

port.on('message', (batch: SynthBatch) => {
  let file: string | undefined;
  try {
    for (const spec of batch.specs) {
      file = synthFilePaths(spec).image;
      renderSynthFiles(batch.outDir, batch.options, spec);
    }
    port.postMessage({ type: 'done', batch: batch.id, count: batch.specs.length } satisfies SynthWorkerReply);
  } catch (error) {
    port.postMessage({ type: 'failed', batch: batch.id, file, message: error instanceof Error ? error.message : String(error) } satisfies SynthWorkerReply);
  }
});
