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
import { gpu, hasGpu } from './gpu/index.js';

await yargs(hideBin(process.argv))
  .scriptName('webfer')
  .command(infoCommand)
  .command(selfcheckCommand)
  .command(demoCommand)
  .command(dataCommands)
  .command(fanetCommands)
  .command(ganCommands)
  .command(benchCommand)
  .demandCommand(1, 'Name a command (see --help).')
  .strict()
  .fail((message, error, y) => {
    if (error) {
      console.error(`webfer: ${error.message}`);
    } else {
      console.error(`webfer: ${message}\n`);
      y.showHelp();
    }
    process.exit(1);
  })
  .help()
  .parseAsync();

// Dawn keeps the event loop alive while a device exists; finish pending work and leave.
if (hasGpu()) {
  await gpu().sync().catch(() => {});
  gpu().destroy();
}
