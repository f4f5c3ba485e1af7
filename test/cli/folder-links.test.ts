// Dataset folders assembled from symbolic links (a common way to build a class-folder set from a
// shared image store): `webfer inspect` and `webfer train` see linked images and linked class
// folders as torchvision's ImageFolder does (os.walk(followlinks=True)), a link cycle is not
// followed forever, and a dangling link is named rather than dropped.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePng } from '../../src/data/codecs.js';
import { expectOk, expectRefused, removeDir, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-folder-links-');
const at = (...parts: string[]) => join(root, ...parts);

/** A small gray PNG whose pixels depend on `seed`. */
function face(seed: number): Uint8Array {
  const data = Uint8Array.from({ length: 24 * 24 }, (_, i) => (i * (seed + 3) + seed * 50) % 256);
  return encodePng({ width: 24, height: 24, channels: 1, data });
}

interface Summary { images: number; perClass: Record<string, number>; problems: { message: string }[] }

test('linked images and a linked class folder are counted; a link back to a parent folder is not entered again', async () => {
  mkdirSync(at('store', 'sad-faces'), { recursive: true });
  for (const [k, name] of ['a', 'b', 'c', 'd'].entries()) writeFileSync(at('store', `${name}.png`), face(k));
  writeFileSync(at('store', 'sad-faces', 'e.png'), face(5));
  writeFileSync(at('store', 'sad-faces', 'f.png'), face(6));
  mkdirSync(at('faces', 'happy'), { recursive: true });
  writeFileSync(at('faces', 'happy', 'own.png'), face(7));
  symlinkSync(join('..', '..', 'store', 'a.png'), at('faces', 'happy', 'linked-a.png'));
  symlinkSync(join('..', '..', 'store', 'b.png'), at('faces', 'happy', 'linked-b.png'));
  symlinkSync(join('..', 'store', 'sad-faces'), at('faces', 'sad'));
  symlinkSync('..', at('faces', 'happy', 'cycle'));

  const summary = JSON.parse(expectOk(await runCli(['inspect', at('faces'), '--json'])).stdout) as Summary;
  assert.equal(summary.perClass, { happy: 3, sad: 2 }, 'linked images and the linked class folder count');
  assert.is(summary.images, 5);
  assert.equal(summary.problems, []);
  expectOk(await runCli(['train', '--data', at('faces'), '--input-size', '32', '--width', '0.125', '--batch-size', '4', '--epochs', '1', '--out', at('run')], { timeoutMs: 180_000 }));
});

test('a dangling link in a class folder is named (inspect lists it, train refuses), not dropped unseen', async () => {
  symlinkSync(join('..', '..', 'store', 'gone.png'), at('faces', 'happy', 'gone.png'));
  const summary = JSON.parse(expectOk(await runCli(['inspect', at('faces'), '--json'])).stdout) as Summary;
  assert.is(summary.problems.length, 1, JSON.stringify(summary.problems));
  assert.match(summary.problems[0]!.message, /happy\/gone\.png: cannot read file; expected a readable file, got ENOENT/);
  expectRefused(await runCli(['train', '--data', at('faces'), '--input-size', '32', '--width', '0.125', '--epochs', '1', '--out', at('never')]), /happy\/gone\.png: cannot read file/);
});

test.after(() => removeDir(root));
test.run();
