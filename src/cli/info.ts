// `webfer info`: the adapter, its features and the limits that matter to webfer.
import type { CommandModule } from 'yargs';
import { gpu, init } from '../gpu/index.js';

export const infoCommand: CommandModule<object, { json: boolean }> = {
  command: 'info',
  describe: 'Show the WebGPU adapter, its features and limits',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (argv) => {
    await init();
    const info = gpu().info;
    if (argv.json) {
      console.log(JSON.stringify(info, null, 2));
      return;
    }
    console.log(`adapter      ${info.description || info.device || '(no description)'}`);
    console.log(`vendor       ${info.vendor || '-'}   architecture ${info.architecture || '-'}`);
    console.log(`kind         ${info.isSoftware ? 'software rasteriser (CPU): kernels without workgroup memory' : 'hardware GPU'}`);
    console.log(`features     ${info.features.join(', ')}`);
    if (info.subgroupSizes) console.log(`subgroups    ${info.subgroupSizes.min === info.subgroupSizes.max ? info.subgroupSizes.min : `${info.subgroupSizes.min}-${info.subgroupSizes.max}`} invocations`);
    for (const [name, value] of Object.entries(info.limits)) console.log(`  ${name.padEnd(36)} ${formatLimit(value)}`);
  },
};

function formatLimit(value: number): string {
  return value >= 2 ** 20 ? `${value} (${(value / 2 ** 20).toFixed(0)} MiB)` : String(value);
}
