// Runs the built `webfer` binary (dist/cli.js) as a user types it, never importing the command
// modules: what these tests see is what a user sees.
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The command line, for assertion messages. */
  command: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Milliseconds before the process is killed (the result then has code 124). */
  timeoutMs?: number;
  /** A signal to send once stderr contains this text (e.g. Ctrl-C mid-epoch). */
  signalWhen?: { text: string; signal: NodeJS.Signals };
}

if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` before the CLI tests`);

/** Spawns `node dist/cli.js ...args` and collects its output and exit code. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const command = `webfer ${args.join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, FORCE_COLOR: '0', WEBFER_DEBUG: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', signalled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (options.signalWhen && !signalled && stderr.includes(options.signalWhen.text)) {
        signalled = true;
        child.kill(options.signalWhen.signal);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 124 : 1), stdout, stderr, command });
    });
  });
}

/** The lines a command printed as errors (`webfer: ...`), without Dawn's driver warnings. */
export function errorLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line.startsWith('webfer:'));
}

/** A fresh temporary folder; remove it with `rmSync(dir, { recursive: true, force: true })`. */
export function tempDir(prefix = 'webfer-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Exit 0, or fails the test with the command and the end of its stderr. */
export function expectOk(result: CliResult): CliResult {
  assert.is(result.code, 0, `${result.command} failed:\n${result.stderr.slice(-2000)}`);
  return result;
}

/** Non-zero exit, exactly one `webfer: ...` line matching `pattern`, no stack trace; returns the line. */
export function expectRefused(result: CliResult, pattern: RegExp): string {
  assert.is.not(result.code, 0, `${result.command} should fail; it printed:\n${result.stdout}${result.stderr}`);
  const lines = errorLines(result);
  assert.is(lines.length, 1, `${result.command}: expected one error line, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern, result.command);
  assert.not.match(result.stderr, /^\s+at /m, `${result.command} printed a stack trace`);
  return lines[0]!;
}
