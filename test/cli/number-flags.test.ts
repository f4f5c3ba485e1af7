// Number flags as a user mistypes them, for every command: yargs reads a number with Number(),
// which took --epochs 0x10 as 16, " 8 " as 8 and 1e999 as Infinity. Each is refused in one line
// naming the flag and the text typed, before any folder is made.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expectRefused, removeDir, runCli, tempDir } from './run-cli.js';

const root = tempDir('webfer-number-flags-');
const out = join(root, 'never');

test.after(() => removeDir(root));

const notDecimal = (flag: string, text: string) => new RegExp(`^webfer: ${flag} takes a decimal number such as 10, 0\\.5 or 1e-3, got "${text.replace(/[.+]/g, '\\$&')}"$`);

test('hexadecimal, binary, Infinity, NaN, blanks and digit separators are refused for every number flag', async () => {
  const cases: [string[], string, string][] = [
    [['train', '--out', out], '--epochs', '0x10'],
    [['train', '--out', out], '--lr', '-Infinity'],
    [['train', '--out', out], '--width', '0b1'],
    [['train', '--out', out], '--seed', ' 3'],
    [['train', '--out', out], '--batch-size', '8 '],
    [['train', '--out', out], '--read-every', '1_0'],
    [['eval', '--checkpoint', join(root, 'none.safetensors')], '--batch-size', 'NaN'],
    [['predict', join(root, 'face.png'), '--checkpoint', join(root, 'none.safetensors')], '--top', '0o7'],
    [['gan-train', '--out', out], '--lambda', '-0x1'],
    [['augment', '--checkpoint', 'c', '--data', 'd', '--task', 'er-up', '--out', out], '--count', '+5x'],
    [['synth', out], '--size', '0x40'],
    [['synth', out], '--noise', '.'],
    [['split', '--index', 'i.csv', '--task', 'er-ss', '--out', out], '--seed', '1e'],
    [['models'], '--gan-blocks', '0x3'],
    [['demo', '--out', out], '--repose-share', '0x1'],
    [['bench', '--step'], '--steps', '2x'],
  ];
  for (const [command, flag, text] of cases) {
    expectRefused(await runCli([...command, flag, text]), notDecimal(flag, text));
  }
  expectRefused(await runCli(['train', '--out', out, '--epochs=0x10']), notDecimal('--epochs', '0x10'));
  assert.not.ok(existsSync(out), 'a command made its output folder');
});

test('leading zeros, overflow and underflow are refused naming the flag and the text typed', async () => {
  expectRefused(await runCli(['train', '--out', out, '--batch-size', '08']), /^webfer: --batch-size 08: write the number without leading zeros \(010 is octal 8 in C and shell arithmetic\)$/);
  expectRefused(await runCli(['gan-train', '--out', out, '--lr', '-00.5']), /^webfer: --lr -00\.5: write the number without leading zeros/);
  expectRefused(await runCli(['train', '--out', out, '--lr', '1e999']), /^webfer: --lr 1e999 is beyond the largest number a double holds \(about 1\.8e308\)$/);
  // 1e-999 reads as 0: the message shows what was typed, not the 0 it became.
  expectRefused(await runCli(['train', '--out', out, '--lr', '1e-999']), /^webfer: --lr must be a finite number above 0, got 1e-999; e\.g\. --lr 0\.01$/);
  expectRefused(await runCli(['train', '--out', out, '--epochs', '99999999999999999999']),
    /^webfer: --epochs must be a positive integer up to 9007199254740991, got 99999999999999999999; e\.g\. --epochs 10$/);
  expectRefused(await runCli(['train', '--out', out, '--seed', '-1']), /^webfer: --seed must be an integer from 0 to 4294967295, got -1; e\.g\. --seed 1$/);
  assert.not.ok(existsSync(out), 'a command made its output folder');
});

test('an integer flag typed with a point or an exponent is refused with the digits to write; a float flag takes both', async () => {
  const cases: [string[], string, string, string][] = [
    [['train', '--out', out], '--epochs', '1e1', '10'],
    [['train', '--out', out], '--batch-size', '16.0', '16'],
    [['gan-train', '--out', out], '--blocks', '3e0', '3'],
    [['predict', join(root, 'face.png'), '--checkpoint', join(root, 'none.safetensors')], '--batch-size', '2E1', '20'],
    [['split', '--index', 'i.csv', '--task', 'er-ss', '--out', out], '--seed', '1e3', '1000'],
    [['demo', '--out', out], '--seeds', '2.', '2'],
  ];
  for (const [command, flag, text, digits] of cases) {
    expectRefused(await runCli([...command, flag, text]), new RegExp(`^webfer: ${flag} takes an integer in digits, got ${text.replace('.', '\\.')}; write ${flag} ${digits}$`));
  }
  expectRefused(await runCli(['train', '--out', out, '--batch-size', '1.5']), /^webfer: --batch-size must be a positive integer, got 1\.5; e\.g\. --batch-size 16$/);
  // Floats in exponent form pass the text check and reach the range check.
  expectRefused(await runCli(['train', '--out', out, '--width', '5e0']), /^webfer: --width must be a finite number above 0 and at most 4, got 5e0; e\.g\. --width 0\.25$/);
  expectRefused(await runCli(['demo', '--out', out, '--repose-share', '4.5']), /^webfer: --repose-share must be a finite number of at least 0 and at most 4, got 4\.5; it is a share of the training images/);
  expectRefused(await runCli(['synth', out, '--preset', 'f2ed', '--scale', '1e-3', '--dry-run']), /^webfer: --scale 0\.001: F²ED scale must be between 0\.01 and 1/);
  assert.not.ok(existsSync(out), 'a command made its output folder');
});

test('good numbers in exponent or signed form still run', async () => {
  const result = await runCli(['models', '--width', '5e-1', '--input-size', '+64', '--classes', '7', '--json']);
  assert.is(result.code, 0, result.stderr);
  const listed = JSON.parse(result.stdout) as { lightcnn: { classes: number; inputSize: number; widthMultiplier: number } };
  assert.equal(listed.lightcnn, { classes: 7, inputSize: 64, widthMultiplier: 0.5 });
  const synth = await runCli(['synth', '--dry-run', '--preset', 'f2ed', '--scale', '1e-1']);
  assert.is(synth.code, 0, synth.stderr);
  assert.match(synth.stdout, /f2ed ×0\.1: 21972 images/);
});

test.run();
