// Every hint in src that advises "--skip-bad" (for the run that stopped on the problem) is dropped from
// the text shown once the problem was skipped with --skip-bad on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withoutSkipAdvice } from '../../src/cli/data-report.js';

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : []);
}

test('withoutSkipAdvice removes each phrasing of the advice in src and keeps the rest of the hint', () => {
  const hints = sourceFiles('src').flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/['`]([^'`\n]*pass --skip-bad[^'`\n]*)['`]/g)].map((match) => match[1]!));
  assert.ok(hints.length >= 10, `found ${hints.length} hints`);
  for (const hint of hints) {
    const shown = withoutSkipAdvice(`file.png: not a PNG. ${hint}`);
    assert.not.match(shown, /--skip-bad/, hint);
    // Only the advice at the end goes.
    assert.ok(shown.startsWith('file.png: not a PNG. ') && hint.startsWith(shown.slice('file.png: not a PNG. '.length)), `${hint} → ${shown}`);
  }
  assert.is(withoutSkipAdvice('x.png: damaged. re-export it, or remove it (or pass --skip-bad)'), 'x.png: damaged. re-export it, or remove it');
  assert.is(withoutSkipAdvice('a.csv:3: short. re-download fer2013.csv or pass --skip-bad'), 'a.csv:3: short. re-download fer2013.csv');
  assert.is(withoutSkipAdvice('d: empty. delete it, or pass --skip-bad to leave it out'), 'd: empty. delete it');
  assert.is(withoutSkipAdvice('a.csv:4: repeated. delete line 4 or line 2 (--skip-bad keeps the first)'), 'a.csv:4: repeated. delete line 4 or line 2 (--skip-bad keeps the first)');
});

test.run();
