// Checks of numeric flags shared by the commands, run in their yargs .check() before any file or
// device is touched: each error names the flag, the value it got and an example to use instead.
import { NUM_EXPRESSIONS } from '../data/labels.js';

/** The generators take 32-bit seeds: a larger or fractional seed would quietly equal another one. */
export const MAX_SEED = 2 ** 32 - 1;

export function checkInteger(value: number, flag: string, minimum: number, hint: string): void {
  if (!(Number.isInteger(value) && value >= minimum)) throw new Error(`${flag} must be an integer of at least ${minimum}, got ${value}; ${hint}`);
}

export function checkPositiveInteger(value: number, flag: string, hint: string): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`${flag} must be a positive integer, got ${value}; ${hint}`);
}

export function checkSeed(value: number, flag = '--seed'): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= MAX_SEED)) {
    throw new Error(`${flag} must be an integer from 0 to ${MAX_SEED}, got ${value}; e.g. ${flag} 1`);
  }
}

/** A finite number above `minimum` (or at least it, with `orEqual`). */
export function checkFiniteNumber(value: number, flag: string, minimum: number, hint: string, orEqual = false): void {
  if (!(Number.isFinite(value) && (orEqual ? value >= minimum : value > minimum))) {
    throw new Error(`${flag} must be a finite number ${orEqual ? 'of at least' : 'above'} ${minimum}, got ${value}; ${hint}`);
  }
}

/** FaPE-GAN's image size: its stride-2 convs and transposed convs must return the input size. */
export function checkGanImageSize(value: number, flag: string): void {
  if (!(Number.isInteger(value) && value >= 24 && value % 4 === 0)) {
    throw new Error(`${flag} must be a multiple of 4 of at least 24 (FaPE-GAN's stride-2 convs and transposed convs must return the input size), got ${value}; use 128, 64 or 48`);
  }
}

/** Synthetic faces show expressions 0..N-1 of the F²ED label list. */
export function checkSynthExpressions(value: number, flag: string, example: number): void {
  if (!(Number.isInteger(value) && value >= 1 && value <= NUM_EXPRESSIONS)) {
    throw new Error(`${flag} must be an integer from 1 to ${NUM_EXPRESSIONS}, got ${value}; e.g. ${flag} ${example}`);
  }
}
