// `webfer convert` as a user runs it on PyTorch checkpoints (test/reference/fixtures/pytorch/,
// made by make_fixtures.py): both formats convert to safetensors that a webfer LightCNN loads
// and runs to PyTorch's logits; foreign pickles, truncated files, existing outputs and tensors
// of the wrong shape are refused with one line and nothing written.
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, noGrad, tensor } from '../../src/index.js';
import { createLightCNN, type LightCNNConfig } from '../../src/models/lightcnn.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import * as ref from '../reference/index.js';
import { errorLines, removeDir, repoRoot, runCli, tempDir, type CliResult } from './run-cli.js';

const fixtures = join(repoRoot, 'test/reference/fixtures/pytorch');
const fixture = (name: string) => join(fixtures, name);
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as {
  model: { variant: 'lightcnn9'; widthMultiplier: number; inputSize: number; classes: number };
  logits: { shape: number[]; data: number[] };
  keys: string[];
  dtypes: Record<string, { dtype: string; shape: number[]; data: number[] }>;
};

const work = tempDir('webfer-convert-');
const run = (args: string[]) => runCli(['convert', ...args], { cwd: work, timeoutMs: 60_000 });
const seed = ref.randomSeed();
const rng = new ref.Rng(seed);

function oneError(result: CliResult): string {
  assert.is.not(result.code, 0, `${result.command} should fail:\n${result.stdout}\n${result.stderr}`);
  const lines = errorLines(result);
  assert.is(lines.length, 1, `${result.command}: expected one error line, got:\n${result.stderr}`);
  return lines[0]!;
}

function succeeded(result: CliResult): string {
  assert.is(result.code, 0, `${result.command}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Nothing but `keep` in the work folder: no output, no temp file of an atomic write. */
function assertOnlyFiles(keep: string[], what: string): void {
  assert.equal(readdirSync(work).sort(), [...keep].sort(), what);
}

/** The fixture's input: element i of [2, 1, 32, 32] is ((37 i) mod 101) / 100. */
function fixedInput(): Float32Array {
  const size = expected.model.inputSize;
  return Float32Array.from({ length: 2 * size * size }, (_, i) => ((37 * i) % 101) / 100);
}

await init();

test('both formats convert to safetensors that load into webfer\'s LightCNN-9 and give PyTorch\'s logits', async () => {
  const zip = succeeded(await run([fixture('lightcnn9-tiny.pth'), '--out', 'zip.safetensors']));
  assert.match(zip, 'PyTorch zip format, a bare state dict');
  assert.match(zip, 'every key and shape fits lightcnn9 (width 0.0625, 1 input channel, 5 classes, 32 px)');
  const legacy = succeeded(await run([fixture('lightcnn9-tiny-legacy.pth.tar'), '--out', 'legacy.safetensors', '--model', 'lightcnn9']));
  assert.match(legacy, "PyTorch legacy format, the state dict under 'state_dict' (also: epoch 3, arch \"LightCNN-9\", best_prec1 12.5); DataParallel prefix 'module.' removed from 22 keys");

  const fromZip = decodeSafetensors(readFileSync(join(work, 'zip.safetensors')));
  const fromLegacy = decodeSafetensors(readFileSync(join(work, 'legacy.safetensors')));
  assert.equal([...fromZip.tensors.keys()], expected.keys);
  assert.equal([...fromLegacy.tensors.entries()], [...fromZip.tensors.entries()]);
  const config = JSON.parse(fromZip.metadata.model!) as LightCNNConfig;
  assert.equal({ variant: config.variant, widthMultiplier: config.widthMultiplier, inputSize: config.inputSize, classes: config.classes }, expected.model);

  for (const [name, content] of [['zip', fromZip], ['legacy', fromLegacy]] as const) {
    const model = createLightCNN(config);
    model.loadStateDict(content.tensors);
    model.eval();
    const logits = await noGrad(async () => {
      const x = tensor(fixedInput(), [2, 1, expected.model.inputSize, expected.model.inputSize]);
      const out = model.call(x).logits;
      const values = await out.toArray();
      x.dispose();
      out.dispose();
      return values;
    });
    model.dispose();
    // PyTorch's logits in float64 from the same float32 weights; webfer computes in float32.
    const scale = Math.max(...expected.logits.data.map(Math.abs));
    expected.logits.data.forEach((want, i) => {
      assert.ok(Math.abs(logits[i]! - want) <= 1e-5 * scale, `${name}: logit ${i} is ${logits[i]}, PyTorch ${want} (tolerance 1e-5 × ${scale})`);
    });
  }
  removeDir(join(work, 'zip.safetensors'));
  removeDir(join(work, 'legacy.safetensors'));
});

test('other dtypes and views: float16 / bfloat16 / float64 widened or rounded, views gathered, integer tensors named and skipped', async () => {
  const out = succeeded(await run([fixture('dtypes-legacy.pth'), '--out', 'dtypes.safetensors']));
  assert.match(out, 'float64 rounded to float32 (1 tensor; about 7 significant digits kept)');
  assert.match(out, 'float16 / bfloat16 widened to float32 (exact)');
  assert.match(out, "skipped 1 integer tensor webfer's modules do not keep: long (int64 [3])");
  assert.match(out, "not a webfer LightCNN: the keys match none of webfer's LightCNN variants");
  const { tensors } = decodeSafetensors(readFileSync(join(work, 'dtypes.safetensors')));
  const floats = Object.entries(expected.dtypes).filter(([, t]) => t.dtype !== 'int64');
  assert.equal([...tensors.keys()], floats.map(([name]) => name));
  for (const [name, want] of floats) {
    assert.equal(tensors.get(name)!.shape, want.shape, name);
    assert.equal([...tensors.get(name)!.data], want.data.map(Math.fround), name);
  }
  removeDir(join(work, 'dtypes.safetensors'));
});

test('a pickle that calls os.system is refused with the global named, and nothing is written', async () => {
  for (const file of ['malicious.pth', 'malicious-legacy.pth']) {
    const line = oneError(await run([fixture(file), '--out', 'evil.safetensors']));
    assert.match(line, `webfer: refusing to load global os.system from ${fixture(file)}`);
    assert.match(line, "webfer's unpickler builds only containers, numbers, strings and tensors");
    assertOnlyFiles([], `${file}: nothing written`);
  }
});

test('torch.save(model) (a whole module, not its state dict): refused naming the class and how to save the weights', async () => {
  // Legacy format by hand: magic number, protocol 1001, sys info, then the object: __main__.LightCNN() by NEWOBJ.
  const pickle = (body: number[]) => [0x80, 0x02, ...body, 0x2e];
  const magic = [0x8a, 0x0a, ...Array.from({ length: 10 }, (_, k) => Number((0x1950a86a20f9469cfc6cn >> BigInt(8 * k)) & 0xffn))];
  const model = [0x63, ...Buffer.from('__main__\nLightCNN\n'), 0x29, 0x81];
  const folder = tempDir('webfer-convert-module-');
  const file = join(folder, 'whole-model.pth');
  writeFileSync(file, Uint8Array.from([...pickle(magic), ...pickle([0x4d, 0xe9, 0x03]), ...pickle([0x7d]), ...pickle(model)]));
  try {
    const line = oneError(await run([file, '--out', 'model.safetensors']));
    assert.match(line, `webfer: refusing to load global __main__.LightCNN from ${file}`);
    assert.match(line, "save only the weights in Python: torch.save(model.state_dict(), 'weights.pth')");
    assertOnlyFiles([], 'nothing written');
  } finally {
    removeDir(folder);
  }
});

test('a truncated zip: one line saying so, nothing written', async () => {
  const line = oneError(await run([fixture('truncated.pth'), '--out', 'cut.safetensors']));
  assert.match(line, `webfer: ${fixture('truncated.pth')}: not a readable zip archive`);
  assert.match(line, 'the file is truncated or damaged; download or save it again');
  assertOnlyFiles([], 'nothing written');
});

test('an existing --out is refused, naming --overwrite, and left as it was; --overwrite replaces it', async () => {
  const existing = Uint8Array.from({ length: 64 }, () => rng.int(0, 255));
  writeFileSync(join(work, 'taken.safetensors'), existing);
  const line = oneError(await run([fixture('lightcnn9-tiny.pth'), '--out', 'taken.safetensors']));
  assert.is(line, 'webfer: --out taken.safetensors exists: pass --overwrite to replace it, or choose another --out');
  assert.equal(new Uint8Array(readFileSync(join(work, 'taken.safetensors'))), existing, `seed ${seed}: the file is untouched`);
  succeeded(await run([fixture('lightcnn9-tiny.pth'), '--out', 'taken.safetensors', '--overwrite']));
  assert.equal([...decodeSafetensors(readFileSync(join(work, 'taken.safetensors'))).tensors.keys()], expected.keys);
  assertOnlyFiles(['taken.safetensors'], 'no temp file left');
  removeDir(join(work, 'taken.safetensors'));
});

test('--out naming the checkpoint itself (or, through a link, its target) is refused even with --overwrite, and the .pth is kept (it was replaced by the safetensors); an --out under a file is named (was ENOTDIR on a temp file)', async () => {
  const original = readFileSync(fixture('lightcnn9-tiny.pth'));
  writeFileSync(join(work, 'mine.pth'), original);
  symlinkSync('mine.pth', join(work, 'link.pth'));
  for (const [input, out] of [['mine.pth', 'mine.pth'], ['mine.pth', './mine.pth'], ['link.pth', 'mine.pth']] as const) {
    const line = oneError(await run([input, '--out', out, '--overwrite']));
    assert.is(line, `webfer: --out ${out} is the checkpoint being converted (${input}): writing there would replace it; choose another --out, e.g. --out ${input.replace('.pth', '')}.safetensors`);
  }
  assert.equal(readFileSync(join(work, 'mine.pth')), original, 'the checkpoint is untouched');
  writeFileSync(join(work, 'notes'), 'a file');
  assert.match(oneError(await run(['mine.pth', '--out', 'notes/mine.safetensors'])), /^webfer: --out notes\/mine\.safetensors is inside .*notes, which is a file, not a folder: pass a path in a folder$/);
  assertOnlyFiles(['mine.pth', 'link.pth', 'notes'], 'nothing written');
  for (const name of ['mine.pth', 'link.pth', 'notes']) removeDir(join(work, name));
});

test('--model: a tensor of the wrong shape is named with the expected shape; another variant\'s keys name the right --model', async () => {
  const shape = oneError(await run([fixture('lightcnn9-tiny-bad-shape.pth'), '--out', 'bad.safetensors', '--model', 'lightcnn9']));
  assert.match(shape, 'tensor features.4.conv.filter.weight is [24, 6, 5, 5], lightcnn9 expects [24, 6, 3, 3]');
  assert.match(shape, "the keys are lightcnn9's, read as lightcnn9 (width 0.0625, 1 input channel, 5 classes, 32 px)");
  const variant = oneError(await run([fixture('lightcnn9-tiny.pth'), '--out', 'bad.safetensors', '--model', 'lightcnn29v2']));
  assert.match(variant, 'the keys do not fit lightcnn29v2 (missing conv1.filter.weight');
  assert.match(variant, "the keys are lightcnn9's: pass --model lightcnn9");
  assertOnlyFiles([], 'nothing written');
});

test.after(() => removeDir(work));
test.run();
