// A synth worker thread: renders the images synth-workers.ts sends, either writing each image and
// its landmarks atomically (write jobs) or sending the pixels back (render jobs), and answers each
// job. Every image is a pure function of its spec and the options, so which worker renders it
// does not change a byte.
import { parentPort } from 'node:worker_threads';
import { renderSynthSample } from '../../data/synth/generator.js';
import { synthSamplePath } from '../../data/synth/synth-dataset.js';
import { renderSynthFiles, synthFilePaths, type SynthJobMessage, type SynthWorkerReply } from './synth-workers.js';

if (!parentPort) throw new Error('synth-worker.js runs as a worker thread (started by SynthWorkerPool)');
const port = parentPort;

port.on('message', (job: SynthJobMessage) => {
  let file: string | undefined;
  try {
    if (job.type === 'write') {
      for (const spec of job.specs) {
        file = synthFilePaths(spec).image;
        renderSynthFiles(job.outDir, job.options, spec);
      }
      port.postMessage({ type: 'written', id: job.id, count: job.specs.length } satisfies SynthWorkerReply);
    } else {
      file = synthSamplePath(job.spec);
      const { image } = renderSynthSample(job.options, job.spec);
      port.postMessage({ type: 'rendered', id: job.id, image } satisfies SynthWorkerReply, [image.data.buffer as ArrayBuffer]);
    }
  } catch (error) {
    port.postMessage({ type: 'failed', id: job.id, file, message: error instanceof Error ? error.message : String(error) } satisfies SynthWorkerReply);
  }
});
