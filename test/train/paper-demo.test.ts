// The end-to-end demo in its quick size: every stage runs, the numbers are consistent, the
// pictures come out, and the whole pipeline gives back every byte of GPU memory it took.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, memory } from '../../src/index.js';
import { decodeImage } from '../../src/data/codecs.js';
import { defaultPaperDemoOptions, formatPaperDemo, runPaperDemo } from '../../src/train/paper-demo.js';

await init();

test('quick ER-UP demo: baseline, FaPE-GAN, augmentation, augmented Fa-Net; no leaks', async () => {
  const options = defaultPaperDemoOptions(true, true);
  const before = memory();
  const pictures: string[] = [];
  const epochs: string[] = [];
  const result = await runPaperDemo(options, {
    image: (name, image) => {
      assert.ok(image.width > 0 && image.height > 0);
      pictures.push(name);
    },
    png: (name, png) => {
      assert.ok(decodeImage(png, name).width > 0, `${name} is a valid PNG`);
      pictures.push(name);
    },
    fanetEpoch: (run, record) => {
      epochs.push(`${run}:${record.epoch}`);
    },
  });
  assert.is(result.classes, options.data.expressionIds!.length);
  assert.is(result.counts.train + result.counts.test, result.counts.images, 'ER-UP has no validation split');
  assert.ok(result.counts.synthetic > 0, 'half-left faces were synthesised');
  for (const run of [result.baseline, result.augmented!]) {
    assert.ok(run.accuracy >= 0 && run.accuracy <= 1);
    assert.is(run.history.length, options.fanet.epochs);
    assert.is(run.report.count, result.counts.test, 'evaluated on every test image');
  }
  assert.equal(epochs, ['baseline:1', 'baseline:2', 'augmented:1', 'augmented:2']);
  assert.ok(pictures.includes('contact-sheet') && pictures.some((p) => p.startsWith('fapegan-samples')));
  assert.match(formatPaperDemo(result), 'FaPE-GAN + Fa-Net');
  const after = memory();
  assert.is(after.liveTensors, before.liveTensors, 'every tensor of the pipeline was freed');
  assert.is(after.bytesInUse, before.bytesInUse, 'GPU memory back where it started');
});

test.run();
