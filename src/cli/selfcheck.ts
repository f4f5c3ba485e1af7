// `webfer selfcheck`: runs the kernel self-check and exits non-zero if any check fails.
import type { CommandModule } from 'yargs';
import { gpu, init } from '../gpu/index.js';
import { selfCheck } from '../selfcheck.js';

export async function runSelfCheck(): Promise<boolean> {
  await init();
  const results = await selfCheck();
  for (const r of results) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name.padEnd(32)} max error ${r.maxError.toExponential(2)}${r.detail ? `  (${r.detail})` : ''}`);
  }
  const c = gpu().counters;
  console.log(`${results.filter((r) => r.ok).length}/${results.length} checks passed on ${gpu().info.description} (${c.dispatches} dispatches, ${c.submits} submits, ${c.pipelinesCompiled} pipelines)`);
  return results.every((r) => r.ok);
}

export const selfcheckCommand: CommandModule = {
  command: 'selfcheck',
  describe: 'Check a few kernels and gradients against host arithmetic',
  handler: async () => {
    if (!(await runSelfCheck())) process.exitCode = 1;
  },
};
