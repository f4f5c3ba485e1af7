// Checks of flags shared by the commands, run before any file is written or the device starts:
// each error names the flag, the value it got and what to use instead.
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { hideBin } from 'yargs/helpers';
import { NUM_EXPRESSIONS } from '../data/labels.js';

/** A flag as typed: its kebab-case name and the word given as its value (undefined when none follows). */
export interface TypedFlag { name: string; value: string | undefined; attached: boolean }

/** The `--flag value` and `--flag=value` pairs typed, up to `--` (a camelCase `--batchSize` is named batch-size). */
export function typedFlags(words: string[] = hideBin(process.argv)): TypedFlag[] {
  const flags: TypedFlag[] = [];
  for (let i = 0; i < words.length && words[i] !== '--'; i++) {
    const flag = /^--([^=]+)(=(.*))?$/s.exec(words[i]!);
    if (!flag) continue;
    const name = flag[1]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    flags.push({ name, value: flag[2] !== undefined ? flag[3]! : words[i + 1], attached: flag[2] !== undefined });
  }
  return flags;
}

/** What was typed for `flag` ('--epochs'), when that text is what `value` was read from. */
function typedText(flag: string, value: number): string | undefined {
  const text = typedFlags().filter((typed) => `--${typed.name}` === flag).pop()?.value;
  return text !== undefined && Number(text) === value ? text : undefined;
}

/** Decimal digits with an optional point and exponent, no leading zeros (010 is octal 8 in C and shell arithmetic). */
const DECIMAL_NUMBER = /^[+-]?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const DECIMAL_INTEGER = /^[+-]?(0|[1-9]\d*)$/;

/**
 * The text typed for a number flag. yargs reads it with Number(), which took 0x10 as 16, 0b11 as 3,
 * " 8 " as 8 and 1e999 as Infinity: only decimal numbers pass, finite ones.
 */
export function checkNumberText(flag: string, text: string): void {
  if (/^[+-]?0\d/.test(text)) throw new Error(`${flag} ${text}: write the number without leading zeros (010 is octal 8 in C and shell arithmetic)`);
  if (!DECIMAL_NUMBER.test(text)) throw new Error(`${flag} takes a decimal number such as 10, 0.5 or 1e-3, got "${text}"`);
  if (!Number.isFinite(Number(text))) throw new Error(`${flag} ${text} is beyond the largest number a double holds (about 1.8e308)`);
}

/**
 * An integer flag: `valid` says whether its value keeps `rule`; the message shows the text typed
 * ("got 1e-999", not "got 0"). A valid integer must be typed in digits: a point or an exponent
 * means a fraction was meant somewhere.
 */
function checkIntegerFlag(value: number, flag: string, valid: boolean, rule: string, hint: string): void {
  const text = typedText(flag, value);
  if (!valid) throw new Error(`${flag} must be ${rule}, got ${text ?? value}; ${hint}`);
  if (text !== undefined && !DECIMAL_INTEGER.test(text)) throw new Error(`${flag} takes an integer in digits, got ${text}; write ${flag} ${value}`);
}

/** The generators take 32-bit seeds: a larger or fractional seed would quietly equal another one. */
export const MAX_SEED = 2 ** 32 - 1;

/** Above 2^53 neighbouring integers share one double (9007199254740993 is read as …992): named in the message. */
const tooLarge = (value: number) => (value > Number.MAX_SAFE_INTEGER ? ` up to ${Number.MAX_SAFE_INTEGER}` : '');

export function checkInteger(value: number, flag: string, minimum: number, hint: string): void {
  checkIntegerFlag(value, flag, Number.isSafeInteger(value) && value >= minimum, `an integer of at least ${minimum}${tooLarge(value)}`, hint);
}

export function checkPositiveInteger(value: number, flag: string, hint: string): void {
  checkIntegerFlag(value, flag, Number.isSafeInteger(value) && value >= 1, `a positive integer${tooLarge(value)}`, hint);
}

export function checkSeed(value: number, flag = '--seed'): void {
  checkIntegerFlag(value, flag, Number.isInteger(value) && value >= 0 && value <= MAX_SEED, `an integer from 0 to ${MAX_SEED}`, `e.g. ${flag} 1`);
}

/** A finite number above `minimum` (or at least it, with `orEqual`), and at most `maximum`. */
export function checkFiniteNumber(value: number, flag: string, minimum: number, hint: string, orEqual = false, maximum = Infinity): void {
  if (!(Number.isFinite(value) && (orEqual ? value >= minimum : value > minimum) && value <= maximum)) {
    const range = `${orEqual ? 'of at least' : 'above'} ${minimum}${maximum < Infinity ? ` and at most ${maximum}` : ''}`;
    throw new Error(`${flag} must be a finite number ${range}, got ${typedText(flag, value) ?? value}; ${hint}`);
  }
}

/** FaPE-GAN's image size: its stride-2 convs and transposed convs must return the input size. */
export function checkGanImageSize(value: number, flag: string): void {
  checkIntegerFlag(value, flag, Number.isInteger(value) && value >= 24 && value % 4 === 0,
    'a multiple of 4 of at least 24 (FaPE-GAN\'s stride-2 convs and transposed convs must return the input size)', 'use 128, 64 or 48');
}

/**
 * The --synth-* flags shape the synthetic set made when no dataset is named; beside --data (or
 * --split-dir) they were ignored without a word. `given` holds the flags typed (givenOptions()).
 */
export function checkSynthFlagsUnused(given: ReadonlySet<string>, dataFlag: string | undefined): void {
  const ignored = ([['synth-subjects', 'synthSubjects'], ['synth-expressions', 'synthExpressions']] as const)
    .filter((names) => names.some((name) => given.has(name))).map(([flag]) => flag);
  if (dataFlag && ignored.length) {
    throw new Error(`${ignored.map((name) => `--${name}`).join(' and ')} shape${ignored.length === 1 ? 's' : ''} the synthetic data made without a dataset; with ${dataFlag} the images are read from files: drop ${ignored.length === 1 ? 'it' : 'them'}`);
  }
}

/**
 * Synthetic sets are listed in memory before rendering (about 140 bytes an image): a slip such as
 * --subjects 100000000 crashed V8 out of memory with a native stack, even with --dry-run.
 */
export const MAX_SYNTH_IMAGES = 10_000_000;

/** `images` is the product of the layout flags named in `flags`. */
export function checkSynthImages(images: number, flags: string): void {
  if (images > MAX_SYNTH_IMAGES) {
    throw new Error(`${flags} make ${images.toLocaleString('en')} synthetic images, more than the ${MAX_SYNTH_IMAGES.toLocaleString('en')} webfer can list (F²ED has 219,719): lower them`);
  }
}

/** Synthetic faces show expressions 0..N-1 of the F²ED label list. */
export function checkSynthExpressions(value: number, flag: string, example: number): void {
  checkIntegerFlag(value, flag, Number.isInteger(value) && value >= 1 && value <= NUM_EXPRESSIONS, `an integer from 1 to ${NUM_EXPRESSIONS}`, `e.g. ${flag} ${example}`);
}

/**
 * An output folder must be a folder or not exist yet (it is then made): a file there, or as one
 * of its parents, is refused before any work rather than by mkdir's EEXIST / ENOTDIR at the end.
 */
export function checkOutputFolder(path: string, flag: string): void {
  checkParentFolders(path, path, flag);
}

/** An output file must not be a folder, nor lie under a file (refused before the work, not by rename's EISDIR after it). */
export function checkOutputFile(path: string, flag: string, example: string): void {
  let isDirectory = false;
  try { isDirectory = statSync(path).isDirectory(); } catch { /* a new file */ }
  if (isDirectory) throw new Error(`${flag} ${path} is a folder: name a file, e.g. ${flag} ${join(path, example)}`);
  checkParentFolders(dirname(resolve(path)), path, flag);
}

/** Throws when `folder` or one of its parents is a file (`path` and `flag` name what the user gave). */
function checkParentFolders(start: string, path: string, flag: string): void {
  for (let folder = resolve(start); ; folder = dirname(folder)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(folder).isDirectory();
    } catch {
      if (dirname(folder) === folder) return;
      continue;
    }
    if (isDirectory) return;
    if (folder === resolve(path)) throw new Error(`${flag} ${path} is a file, not a folder: pass a folder path for ${flag} (a new folder is made)`);
    throw new Error(`${flag} ${path} is inside ${folder}, which is a file, not a folder: pass a path in a folder`);
  }
}
