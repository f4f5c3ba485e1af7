// What a user reads before running anything: `webfer --help`, each command's --help, the
// README's command list, and the one-line errors of mistyped command lines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorLines, removeDir, repoRoot, runCli, tempDir } from './run-cli.js';

const STACK_LINE = /^\s+at .+[:(]/m;

/** `webfer NAME` of each command line, from a help text or the README block. */
function commandNames(text: string): string[] {
  return [...text.matchAll(/^\s*webfer ([a-z][a-z-]*)/gm)].map((match) => match[1]!);
}

/** The README's "## Command line" code block: command name → the flags its usage lines name. */
function readmeCommands(): Map<string, string[]> {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Command line\s*\n+```[^\n]*\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(block, 'README.md has a "## Command line" section starting with a code block');
  const commands = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of block![1]!.split('\n')) {
    const command = /^webfer ([a-z][a-z-]*)/.exec(line);
    if (command) commands.set((current = command[1]!), []);
    // Usage lines: the `webfer NAME ...` line and its `[--flag ...]` continuations; descriptions carry no flags.
    if (current && (command || /^\s+\[/.test(line))) commands.get(current)!.push(...(line.match(/--[a-z][a-z0-9-]*/g) ?? []));
  }
  return commands;
}

const mainHelp = await runCli(['--help']);
const helpCommands = commandNames(mainHelp.stdout.split(/\nOptions:/)[0]!);
// Started together: each is a node start-up, most of the file's time.
const commandHelp = new Map(await Promise.all(helpCommands.map(async (name) => [name, await runCli([name, '--help'])] as const)));

test('webfer --help exits 0 and lists the commands', () => {
  assert.is(mainHelp.code, 0, mainHelp.stderr);
  assert.ok(helpCommands.length >= 11, `commands in --help: ${helpCommands}`);
  for (const name of ['info', 'selfcheck', 'demo', 'synth', 'split', 'inspect', 'train', 'eval', 'gan-train', 'augment', 'bench']) {
    assert.ok(helpCommands.includes(name), `webfer --help lacks ${name}`);
  }
});

test('the README lists exactly the commands of webfer --help', () => {
  const readme = [...readmeCommands().keys()].sort();
  const help = [...new Set(helpCommands)].sort();
  const missing = help.filter((name) => !readme.includes(name));
  const extra = readme.filter((name) => !help.includes(name));
  assert.ok(missing.length === 0 && extra.length === 0,
    `README "## Command line" and \`webfer --help\` differ: not in the README: ${missing.join(', ') || '-'}; not a command: ${extra.join(', ') || '-'}`);
});

for (const name of helpCommands) {
  test(`webfer ${name} --help exits 0 and shows the flags the README names`, () => {
    const result = commandHelp.get(name)!;
    assert.is(result.code, 0, `${result.command}: ${result.stderr}`);
    assert.ok(result.stdout.startsWith(`webfer ${name}`), `${result.command} starts with its usage line:\n${result.stdout.slice(0, 200)}`);
    assert.match(result.stdout, '--help');
    for (const flag of readmeCommands().get(name) ?? []) {
      assert.ok(new RegExp(`^\\s+${flag}\\b`, 'm').test(result.stdout), `README names ${flag} for webfer ${name}; its --help does not`);
    }
  });
}

test('an unknown command exits non-zero with one webfer: line', async () => {
  const result = await runCli(['frobnicate']);
  assert.is.not(result.code, 0);
  assert.equal(errorLines(result), ['webfer: Unknown argument: frobnicate']);
  assert.not.match(result.stderr, STACK_LINE);
});

test('no command at all asks for one', async () => {
  const result = await runCli([]);
  assert.is.not(result.code, 0);
  assert.equal(errorLines(result), ['webfer: Name a command (see --help).']);
});

test('an unknown flag exits non-zero with one webfer: line naming it', async () => {
  const result = await runCli(['split', '--index', 'x.csv', '--task', 'er-up', '--out', 'x', '--sede', '3']);
  assert.is.not(result.code, 0);
  const lines = errorLines(result);
  assert.is(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /Unknown argument.*sede/);
  assert.not.match(result.stderr, STACK_LINE);
});

test('a missing required flag exits non-zero with one webfer: line naming it', async () => {
  const result = await runCli(['split', '--task', 'er-up', '--out', 'x']);
  assert.is.not(result.code, 0);
  assert.equal(errorLines(result), ['webfer: Missing required argument: index']);
  assert.not.match(result.stderr, STACK_LINE);
});

test('a bad value of a choice flag exits non-zero with one webfer: line', async () => {
  const result = await runCli(['split', '--index', 'x.csv', '--task', 'er-xx', '--out', 'x']);
  assert.is.not(result.code, 0);
  const lines = errorLines(result);
  assert.is(lines.length, 1, result.stderr);
  assert.match(lines[0]!, /er-xx/);
});

test('a failing command prints one line without a stack; --verbose and WEBFER_DEBUG=1 add the stack', async () => {
  const dir = tempDir();
  try {
    const missing = `missing-${Math.random().toString(36).slice(2, 8)}.csv`;
    const plain = await runCli(['inspect', missing], { cwd: dir });
    assert.is(plain.code, 1);
    const lines = errorLines(plain);
    assert.is(lines.length, 1, plain.stderr);
    assert.match(lines[0]!, missing);
    assert.equal(plain.stderr.trim().split('\n').filter((line) => !line.startsWith('Warning:')), lines, 'nothing but the error line');
    assert.not.match(plain.stderr, STACK_LINE);

    for (const [how, args, env] of [['--verbose', ['inspect', missing, '--verbose'], {}], ['WEBFER_DEBUG=1', ['inspect', missing], { WEBFER_DEBUG: '1' }]] as const) {
      const debug = await runCli([...args], { cwd: dir, env });
      assert.is(debug.code, 1, how);
      assert.equal(errorLines(debug), lines, `${how}: the same error line`);
      assert.match(debug.stderr, STACK_LINE, `${how} prints the stack`);
    }
  } finally {
    removeDir(dir);
  }
});

test.run();
