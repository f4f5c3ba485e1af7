// TIFFs as scanners and microscopy tools write them (audit 6), from the TIFF 6.0 specification
// (test/data/tiff-writer.ts): `webfer inspect --json` over a class folder of tiled, 4-bit gray and
// LZMA-compressed TIFFs. utif2 printed "==== 2 2" on stdout for each tiled one (the JSON did not
// parse), decoded 4-bit gray as black with alpha 0 (counted as transparent) and the LZMA one as
// zeros, with no problem reported.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { baseTags, LONG, packRows, SHORT, writeTiff } from '../data/tiff-writer.js';
import { expectOk, removeDir, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-tiff-files-');
const at = (...parts: string[]) => join(root, ...parts);
const write = (path: string, data: Uint8Array) => { mkdirSync(join(path, '..'), { recursive: true }); writeFileSync(path, data); };

const SIZE = 24, TILE = 16;
const gray = (seed: number) => Array.from({ length: SIZE * SIZE }, (_, i) => (i * (seed + 3) + seed * 50) % 256);

/** An 8-bit gray TIFF in 16×16 tiles (2×2 of them, the right and bottom ones padded). */
function tiledTiff(seed: number): Uint8Array {
  const values = gray(seed), tiles: Uint8Array[] = [];
  for (let ty = 0; ty < SIZE; ty += TILE) for (let tx = 0; tx < SIZE; tx += TILE) {
    const tile = new Uint8Array(TILE * TILE);
    for (let y = 0; y < TILE && ty + y < SIZE; y++) for (let x = 0; x < TILE && tx + x < SIZE; x++) tile[y * TILE + x] = values[(ty + y) * SIZE + tx + x]!;
    tiles.push(tile);
  }
  return writeTiff([LONG(256, SIZE), LONG(257, SIZE), SHORT(258, 8), SHORT(259, 1), SHORT(262, 1), SHORT(277, 1), LONG(322, TILE), LONG(323, TILE)], { tiles });
}

interface Summary { images: number; perClass: Record<string, number>; problems: { message: string }[]; transparentImages: number }

test('inspect --json over tiled, 4-bit gray and LZMA TIFFs: valid JSON on stdout, no image counted transparent, the LZMA one named as unsupported', async () => {
  write(at('faces', 'happy', 'tiled scan.tif'), tiledTiff(1));
  write(at('faces', 'sad', 'tiled scan.tif'), tiledTiff(2));
  write(at('faces', 'sad', '4-bit scan.tif'), writeTiff(baseTags(SIZE, SIZE, 4, 1), { pixels: packRows(gray(3).map((v) => v >> 4), SIZE, 4) }));
  const lzmaTags = [...baseTags(SIZE, SIZE, 8, 1).filter((entry) => entry.tag !== 259), SHORT(259, 34925)];
  write(at('faces', 'happy', 'lzma.tif'), writeTiff(lzmaTags, { pixels: new Uint8Array(64) }));

  const result = expectOk(await runCli(['inspect', at('faces'), '--json']));
  let summary: Summary | undefined;
  try { summary = JSON.parse(result.stdout) as Summary; } catch { assert.unreachable(`stdout is not JSON:\n${result.stdout.slice(0, 300)}`); }
  assert.is(summary!.transparentImages, 0, 'no TIFF here has alpha');
  assert.is(summary!.problems.length, 1, JSON.stringify(summary!.problems));
  assert.match(summary!.problems[0]!.message, /happy\/lzma\.tif: unsupported TIFF; expected .*, got compression 34925 \(LZMA\)\. re-save it as an 8-bit TIFF, JPEG or PNG/);
});

test.after(() => removeDir(root));
test.run();
