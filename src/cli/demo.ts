// `webfer demo` (what `npm start` runs): the adapter and kernel self-check, then the paper's
// experiment in miniature on built-in synthetic data (src/train/paper-demo.ts), with pictures
// and results written to the output folder.
import type { CommandModule } from 'yargs';
import { join } from 'node:path';
import { gpu, init } from '../gpu/index.js';
import { encodePng } from '../data/codecs.js';
import { defaultPaperDemoOptions, formatPaperDemo, runPaperDemo, type PaperDemoOptions } from '../train/paper-demo.js';
import { trainingCurvesSpec } from '../plots/specs.js';
import { writePlot } from '../node/plots.js';
import { writeFileAtomic } from '../node/checkpoint.js';
import { terminalProgress } from '../node/progress.js';
import { runSelfCheck } from './selfcheck.js';

interface DemoArgs {
  out: string;
  quick: boolean;
  gan: boolean;
  task: 'er-up' | 'er-ue';
  seed: number;
  'fanet-epochs'?: number;
  'gan-epochs'?: number;
  subjects?: number;
  expressions?: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'The main job on built-in defaults: self-check, then Fa-Net vs FaPE-GAN + Fa-Net on synthetic F²ED (sized to the adapter)',
  builder: (y) =>
    y
      .option('out', { type: 'string', default: 'runs/demo', describe: 'folder for pictures and results' })
      .option('quick', { type: 'boolean', default: false, describe: 'tiny sizes: a smoke run in about a minute' })
      .option('gan', { type: 'boolean', default: true, describe: 'train FaPE-GAN and the augmented Fa-Net (--no-gan: baseline only)' })
      .option('task', { choices: ['er-up', 'er-ue'] as const, default: 'er-up' as const, describe: 'the task FaPE-GAN augments: rare pose or rare expressions' })
      .option('seed', { type: 'number', default: 1 })
      .option('fanet-epochs', { type: 'number', describe: 'override the Fa-Net epochs' })
      .option('gan-epochs', { type: 'number', describe: 'override the FaPE-GAN epochs' })
      .option('subjects', { type: 'number', describe: 'override the synthetic subject count' })
      .option('expressions', { type: 'number', describe: 'override the synthetic expression count (2-54)' }) as never,
  handler: async (argv) => {
    await init();
    const info = gpu().info;
    console.log(`adapter  ${info.description || info.vendor} (${info.isSoftware ? 'software: small sizes' : 'hardware GPU: larger sizes'})`);
    if (!(await runSelfCheck())) {
      process.exitCode = 1;
      console.error('webfer: the kernel self-check failed; not running the demo on a device that computes wrong results.');
      return;
    }
    console.log('');
    const defaults = defaultPaperDemoOptions(info.isSoftware, argv.quick);
    const options: PaperDemoOptions = {
      ...defaults,
      task: argv.task,
      seed: argv.seed,
      data: { ...defaults.data, ...(argv.subjects ? { subjects: argv.subjects } : {}), ...(argv.expressions ? { expressions: argv.expressions } : {}) },
      fanet: { ...defaults.fanet, ...(argv['fanet-epochs'] ? { epochs: argv['fanet-epochs'] } : {}) },
      gan: argv.gan && defaults.gan ? { ...defaults.gan, ...(argv['gan-epochs'] ? { epochs: argv['gan-epochs'] } : {}) } : false,
    };
    const written: string[] = [];
    const write = (name: string, bytes: Uint8Array | string) => {
      const path = join(argv.out, name);
      writeFileAtomic(path, bytes);
      written.push(path);
    };
    const result = await runPaperDemo(options, {
      progress: terminalProgress,
      log: (line) => console.log(line),
      image: (name, image) => write(`${name}.png`, encodePng(image)),
      png: (name, png) => write(`${name}.png`, png),
      fanetEpoch: (run, record) => {
        console.log(`  ${run} epoch ${record.epoch}: loss ${record.trainLoss.toFixed(3)}, train ${(100 * record.trainAccuracy).toFixed(1)} %, test ${record.evalAccuracy === undefined ? '-' : (100 * record.evalAccuracy).toFixed(1)} % (${record.trainImagesPerSecond.toFixed(0)} img/s)`);
      },
    });
    const plot = async (name: string, spec: Parameters<typeof writePlot>[1]) => {
      const paths = await writePlot(join(argv.out, name), spec);
      written.push(paths.png, paths.svg);
    };
    await plot('fanet-curves', trainingCurvesSpec(result.baseline.history, 'Fa-Net training curves'));
    if (result.augmented) await plot('fapegan-fanet-curves', trainingCurvesSpec(result.augmented.history, 'FaPE-GAN + Fa-Net training curves'));
    const { report: _b, ...baseline } = result.baseline;
    const augmented = result.augmented ? (({ report: _a, ...rest }) => rest)(result.augmented) : undefined;
    write('results.json', JSON.stringify({ options, ...result, baseline, augmented, adapter: info.description || info.vendor }, null, 2));
    console.log(`\n${formatPaperDemo(result)}\n`);
    console.log(`${result.seconds.toFixed(0)} s; wrote ${written.join(', ')}`);
  },
};
