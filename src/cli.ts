#!/usr/bin/env node
// The webfer command line: one yargs program over the library's layers.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { infoCommand } from './cli/info.js';
import { selfcheckCommand } from './cli/selfcheck.js';
import { demoCommand } from './cli/demo.js';
import { benchCommand } from './cli/bench.js';
import { dataCommands } from './cli/data-commands.js';
import { ganCommands } from './cli/gan-commands.js';
import { fanetCommands } from './cli/fanet-commands.js';
import { predictCommand } from './cli/predict.js';
import { modelsCommand } from './cli/models.js';
import { convertCommand } from './cli/convert.js';
import { gpu, hasGpu } from './gpu/index.js';
import { checkNumberText, typedFlags } from './cli/option-checks.js';

const verbose = process.argv.includes('--verbose') || ['1', 'true'].includes(process.env.WEBFER_DEBUG ?? '');

/** Prints an error as one line (the stack only when asked for) and exits non-zero. */
function exitWithError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`webfer: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  process.exit(1);
}

/**
 * yargs gathers a repeated option into a list, which a command expecting one value then misreads
 * (`--seed 1 --seed 2` crashed inside the CSV reader): one value per option unless it takes a list.
 */
function refuseRepeatedOptions(argv: Record<string, unknown>, options: { key: Record<string, unknown>; array: string[] }): true {
  for (const name of Object.keys(options.key)) {
    const value = argv[name];
    if (Array.isArray(value) && !options.array.includes(name)) {
      throw new Error(`--${name} was given ${value.length} times (${value.join(', ')}): give it once`);
    }
  }
  return true;
}

interface ParserOptions { key: Record<string, unknown>; boolean: string[]; count: string[]; number: string[]; default: Record<string, unknown> }

/**
 * A flag written without its value (`--data --epochs 1`, or `--data "$DATA"` with DATA unset)
 * reaches a command as '' or, for a number, as its default: `train --data` trained on synthetic
 * faces, `--out ''` wrote the run into the current folder, `--lr` ran the default lr. yargs
 * cannot tell these apart afterwards, nor 0x10 from 16 for a number, so the words typed are read.
 */
function refuseMissingValues(_argv: unknown, options: ParserOptions): true {
  for (const { name, value, attached } of typedFlags()) {
    if (!(name in options.key) || options.boolean.includes(name) || options.count.includes(name)) continue;
    // A word such as -1, -Infinity or -0x1 is a (negative, maybe malformed) number, not the next flag.
    const nextIsFlag = !attached && value !== undefined && /^-[^\d.]/.test(value) && Number.isNaN(Number(value));
    if (value === undefined || value.trim() === '' || nextIsFlag) {
      const fallback = options.default[name] === undefined ? '' : `, or leave it out for the default ${String(options.default[name])}`;
      throw new Error(`--${name} was given without a value${value === undefined || nextIsFlag ? '' : ` (an empty "${value}")`}: write --${name} VALUE${fallback}`);
    }
    if (options.number.includes(name)) checkNumberText(`--${name}`, value);
  }
  return true;
}

// A rejection nobody awaited is still an error of this command: one line, exit 1, no raw stack.
process.on('unhandledRejection', exitWithError);
process.on('uncaughtException', exitWithError);

await yargs(hideBin(process.argv))
  .scriptName('webfer')
  .command(infoCommand)
  .command(selfcheckCommand)
  .command(demoCommand)
  .command(dataCommands)
  .command(fanetCommands)
  .command(predictCommand)
  .command(ganCommands)
  .command(modelsCommand)
  .command(convertCommand)
  .command(benchCommand)
  .option('verbose', { type: 'boolean', default: false, describe: 'print stack traces with errors (or WEBFER_DEBUG=1)' })
  .demandCommand(1, 'Name a command (see --help).')
  .strict()
  .check(refuseRepeatedOptions as never, true)
  // Before yargs' own validation: `--lr -Infinity` is otherwise refused as unknown flags -I -n -f ….
  .middleware(((argv: unknown, y: { getOptions(): ParserOptions }) => { refuseMissingValues(argv, y.getOptions()); }) as never, true)
  .fail((message, error, y) => {
    if (error) exitWithError(error);
    // yargs spreads some messages over lines ("Invalid values:\n  Argument: ..."): keep the one-line rule.
    console.error(`webfer: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    y.showHelp();
    process.exit(1);
  })
  .help()
  .parseAsync();

// Dawn keeps the event loop alive while a device exists; finish pending work and leave.
if (hasGpu()) {
  await gpu().sync().catch(() => {});
  gpu().destroy();
}
