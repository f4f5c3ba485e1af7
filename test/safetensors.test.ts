// safetensors encoding and the atomic checkpoint writer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../src/nn/safetensors.js';
import { loadSafetensors, saveSafetensors } from '../src/node/checkpoint.js';
import { Rng, randomSeed } from './reference/index.js';

function randomTensors(rng: Rng) {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const shapes: [string, number[]][] = [['features.0.filter.weight', [6, 1, 5, 5]], ['features.0.filter.bias', [6]], ['fc.weight', [3, 7]], ['empty', [0, 4]]];
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { shape: [...shape], data: Float32Array.from({ length: n }, () => rng.normal()) });
  }
  return tensors;
}

test('encode/decode round-trips names, shapes, values and metadata', () => {
  const seed = randomSeed();
  const tensors = randomTensors(new Rng(seed));
  const bytes = encodeSafetensors(tensors, { model: 'lightcnn9', config: JSON.stringify({ classes: 54 }) });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is((8 + headerLength) % 8, 0, 'data is 8-byte aligned');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  assert.equal(header['fc.weight'].dtype, 'F32');
  const back = decodeSafetensors(bytes);
  assert.equal(back.metadata, { model: 'lightcnn9', config: '{"classes":54}' });
  for (const [name, t] of tensors) {
    assert.equal(back.tensors.get(name)!.shape, t.shape, name);
    assert.equal(Array.from(back.tensors.get(name)!.data), Array.from(t.data), `${name} (seed ${seed})`);
  }
});

test('a hand-built file with F16 and BF16 tensors decodes (PyTorch-written half checkpoints)', () => {
  const header = JSON.stringify({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] } });
  const bytes = new Uint8Array(8 + header.length + 6);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(header.length), true);
  bytes.set(new TextEncoder().encode(header), 8);
  const base = 8 + header.length;
  view.setUint16(base, 0x3c00, true); // 1.0
  view.setUint16(base + 2, 0xc000, true); // -2.0
  view.setUint16(base + 4, 0x4040, true); // bf16 3.0
  const t = decodeSafetensors(bytes).tensors;
  assert.equal(Array.from(t.get('h')!.data), [1, -2]);
  assert.equal(Array.from(t.get('b')!.data), [3]);
});

test('truncated and malformed files raise errors that name the file', () => {
  const bytes = encodeSafetensors(randomTensors(new Rng(1)));
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), 'a.safetensors'), /a\.safetensors.*too short/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 10), 'b.safetensors'), /b\.safetensors.*do not fit/);
  const garbage = new Uint8Array(16);
  new DataView(garbage.buffer).setBigUint64(0, 8n, true);
  assert.throws(() => decodeSafetensors(garbage, 'c.safetensors'), /c\.safetensors.*not valid JSON/);
});

test('saves are atomic: no temp files left, an existing checkpoint is replaced whole', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webfer-ckpt-'));
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, 'old contents');
  const tensors = randomTensors(new Rng(2));
  saveSafetensors(path, tensors, { epoch: '3' });
  assert.equal(readdirSync(dir), ['model.safetensors']);
  const back = loadSafetensors(path);
  assert.is(back.metadata.epoch, '3');
  assert.is(readFileSync(path).length, encodeSafetensors(tensors, { epoch: '3' }).length);
  assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors.*ENOENT/);
});

test.run();
