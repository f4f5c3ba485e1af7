// The browser page's PyTorch loader (lightCNNFromPytorch, which web/worker.ts calls on a dropped
// .pth): both torch.save formats become a LightCNN whose configuration is read from the shapes
// and whose logits are PyTorch's (test/reference/fixtures/pytorch/expected.json); files that
// are not LightCNN state dicts are refused in one line that names the file and the reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, noGrad, tensor } from '../../src/index.js';
import { lightCNNFromPytorch } from '../../src/models/lightcnn-detect.js';
import { repoRoot } from '../cli/run-cli.js';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test/reference/fixtures/pytorch', name));
const expected = JSON.parse(fixture('expected.json').toString('utf8')) as {
  model: { variant: string; widthMultiplier: number; inputSize: number; classes: number };
  input: string;
  logits: { shape: number[]; data: number[] };
};

await init();

for (const file of ['lightcnn9-tiny.pth', 'lightcnn9-tiny-legacy.pth.tar']) {
  test(`${file}: the configuration comes from the shapes and the logits are PyTorch's`, async () => {
    const { model, config, summary } = lightCNNFromPytorch(fixture(file), file);
    try {
      assert.equal({ variant: config.variant, widthMultiplier: config.widthMultiplier, inputSize: config.inputSize, classes: config.classes }, expected.model);
      assert.match(summary, 'every key and shape fits lightcnn9');
      model.eval();
      // expected.input: element i of [2, 1, 32, 32] is ((37 i) mod 101) / 100.
      const size = expected.model.inputSize;
      const logits = await noGrad(async () => {
        const x = tensor(Float32Array.from({ length: 2 * size * size }, (_, i) => ((37 * i) % 101) / 100), [2, 1, size, size]);
        const out = model.call(x).logits;
        try {
          return await out.toArray();
        } finally {
          x.dispose();
          out.dispose();
        }
      });
      const scale = Math.max(...expected.logits.data.map(Math.abs));
      expected.logits.data.forEach((want, i) => {
        assert.ok(Math.abs(logits[i]! - want) <= 1e-5 * scale, `${file}: logit ${i} is ${logits[i]}, PyTorch ${want} (tolerance 1e-5 × ${scale})`);
      });
    } finally {
      model.dispose();
    }
  });
}

test('a state dict of other tensors and one saved from another architecture are refused, naming the file and why', () => {
  assert.throws(() => lightCNNFromPytorch(fixture('dtypes.pth'), 'dtypes.pth'), /^dtypes\.pth is not a LightCNN state dict webfer can build: the keys match none of webfer's LightCNN variants \(first keys: /);
  assert.throws(
    () => lightCNNFromPytorch(fixture('lightcnn9-tiny-bad-shape.pth'), 'bad.pth'),
    /^bad\.pth is not a LightCNN state dict webfer can build: .*tensor \S+ is \[[\d, ]+\], lightcnn9 expects \[[\d, ]+\].*different architecture$/,
  );
  assert.throws(() => lightCNNFromPytorch(fixture('truncated.pth'), 'cut.pth'), /^cut\.pth: not a readable zip archive/);
});

test('a checkpoint whose weights hold NaN is refused, naming the tensor (as --init-from refuses it)', () => {
  // The legacy format ends with the last storage's raw data: its last float becomes a NaN.
  const bytes = Uint8Array.from(fixture('lightcnn9-tiny-legacy.pth.tar'));
  new DataView(bytes.buffer).setFloat32(bytes.length - 4, NaN, true);
  assert.throws(() => lightCNNFromPytorch(bytes, 'nan.pth.tar'), /^nan\.pth\.tar: tensor "[\w.]+" holds 1 NaN or infinite value\(s\) of \d+; these weights cannot be used/);
});

test.run();
