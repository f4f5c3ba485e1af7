// The package as npm users get it: `npm pack` the built repo, install the tarball into an empty
// project without the dev dependencies, then use the library, webfer/node and the `webfer` bin
// from there. Needs npm (skipped, saying so, where there is none: GPU servers run the tests from
// a node binary alone) and the dependencies in the npm cache that `npm ci` filled.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeDir, repoRoot, tempDir } from './run-cli.js';

interface Run { code: number; stdout: string; stderr: string; command: string }

const npmMissing = spawnSync('npm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' }).status !== 0;
const skipReason = process.env.WEBFER_SKIP_PACKAGE ? 'WEBFER_SKIP_PACKAGE is set' : npmMissing ? 'npm is not on PATH' : undefined;

// npm hands its own configuration to scripts as npm_* variables (local prefix, package, lifecycle);
// the nested npm must see the temporary project as its root, so only the cache and registry settings pass.
const childEnv: Record<string, string> = Object.fromEntries(Object.entries(process.env).filter(([name]) =>
  !name.startsWith('npm_') || ['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'].includes(name)) as [string, string][]);
childEnv.FORCE_COLOR = '0';

function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  const line = `${command} ${args.join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let stdout = '', stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 124, stdout, stderr, command: line }); });
  });
}

function assertOk(result: Run): void {
  assert.is(result.code, 0, `${result.command} (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
}

/**
 * Packages named by the import / export statements and import() calls of tsc's output under dir.
 * The browser bundles (esbuild: webfer.browser.js, web/) resolved their imports when built.
 */
function importedPackages(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const builtins = new Set(builtinModules);
  const specifiers = /^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"\n]+)['"]|^import\s*['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/gm;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.m?js$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    const path = relative(dir, file).split(sep).join('/');
    if (path === 'webfer.browser.js' || path.startsWith('web/')) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(specifiers)) {
      const specifier = (match[1] ?? match[2] ?? match[3])!;
      if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]!)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (!found.has(name)) found.set(name, relative(repoRoot, file));
    }
  }
  return found;
}

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const work = skipReason ? '' : tempDir('webfer-package-');
const project = join(work, 'project');
let tarball = '';

if (skipReason) console.error(`package.test.ts: skipped (${skipReason})`);
const check = skipReason ? test.skip : test;

test.after(() => { if (work) removeDir(work); });

test('every package dist/ imports at run time is a dependency, not a dev dependency', () => {
  const imported = importedPackages(join(repoRoot, 'dist'));
  assert.ok(imported.size > 0, 'dist/ imports some packages (is it built?)');
  const dependencies = Object.keys(manifest.dependencies ?? {});
  const undeclared = [...imported].filter(([name]) => !dependencies.includes(name));
  assert.equal(undeclared.map(([name, file]) => `${name} (imported by ${file})`), [], 'add them to "dependencies"');
});

check('npm pack holds the build, the bin with its shebang, the README and no sources or tests', async () => {
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], repoRoot);
  assertOk(packed);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  assert.ok(existsSync(tarball), `${tarball} was written`);
  const files = info!.files.map((file) => file.path);
  for (const path of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/cli.js', 'dist/webfer.browser.js']) {
    assert.ok(files.includes(path), `the tarball lacks ${path}`);
  }
  const stray = files.filter((path) => /^(src|test|scripts|node_modules)\//.test(path));
  assert.equal(stray, [], 'sources, tests and scripts stay out of the tarball');
  assert.ok(readFileSync(join(repoRoot, manifest.bin.webfer), 'utf8').startsWith('#!/usr/bin/env node\n'), 'the bin starts with a node shebang');
});

check('the tarball installs into an empty project without the dev dependencies', async () => {
  assert.ok(tarball, 'npm pack ran first');
  mkdirSync(project);
  assertOk(await run('npm', ['init', '-y'], project));
  const own = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...own, type: 'module' }, null, 2));

  const common = ['install', '--no-audit', '--no-fund', tarball];
  let installed = await run('npm', [...common, '--offline'], project, 300_000);
  if (installed.code !== 0 && /ENOTCACHED/.test(installed.stderr)) {
    // `npm ci` caches tarballs by their lockfile URLs, not the registry's package documents that a
    // tarball's version ranges need; those come once from the registry, then from the cache.
    console.error('package.test.ts: --offline lacks cached package documents; installing with --prefer-offline');
    installed = await run('npm', [...common, '--prefer-offline'], project, 300_000);
  }
  assertOk(installed);
  const modules = join(project, 'node_modules');
  assert.ok(existsSync(join(modules, 'webfer', 'dist', 'index.js')), 'webfer is installed');
  for (const name of Object.keys(manifest.dependencies)) assert.ok(existsSync(join(modules, name)), `dependency ${name} is installed`);
  // A dev dependency may still arrive as a dependency's own dependency (webgpu brings @webgpu/types).
  const requiredByInstalled = new Set<string>();
  for (const entry of readdirSync(modules, { recursive: true, withFileTypes: true })) {
    if (entry.name !== 'package.json' || relative(modules, entry.parentPath).startsWith('webfer')) continue;
    const { dependencies = {}, optionalDependencies = {} } = JSON.parse(readFileSync(join(entry.parentPath, entry.name), 'utf8'));
    for (const name of [...Object.keys(dependencies), ...Object.keys(optionalDependencies)]) requiredByInstalled.add(name);
  }
  const devOnly = Object.keys(manifest.devDependencies ?? {})
    .filter((name) => !(name in manifest.dependencies) && !requiredByInstalled.has(name) && existsSync(join(modules, name)));
  assert.equal(devOnly, [], 'dev dependencies stay out of a user install');
});

check("import('webfer') gives the library's entry points", async () => {
  const script = `
    const webfer = await import('webfer');
    const kinds = (names, of) => Object.fromEntries(names.map((name) => [name, typeof of[name]]));
    console.log(JSON.stringify({
      top: kinds(['init', 'tensor', 'randn', 'scope', 'memory', 'F', 'nn', 'optim', 'models', 'data'], webfer),
      F: kinds(['conv2d', 'crossEntropy', 'matmul'], webfer.F),
      nn: kinds(['Conv2d', 'Linear', 'Sequential'], webfer.nn),
      optim: kinds(['SGD', 'Adam'], webfer.optim),
    }));`;
  const result = await run(process.execPath, ['--input-type=module', '-e', script], project);
  assertOk(result);
  const kinds = JSON.parse(result.stdout);
  assert.equal(kinds.top, { init: 'function', tensor: 'function', randn: 'function', scope: 'function', memory: 'function', F: 'object', nn: 'object', optim: 'object', models: 'object', data: 'object' });
  assert.equal(kinds.F, { conv2d: 'function', crossEntropy: 'function', matmul: 'function' });
  assert.equal(kinds.nn, { Conv2d: 'function', Linear: 'function', Sequential: 'function' });
  assert.equal(kinds.optim, { SGD: 'function', Adam: 'function' });
});

check("import('webfer/node') saves and loads a safetensors file atomically", async () => {
  const values = Array.from({ length: 6 }, () => Math.fround(Math.random() * 2 - 1));
  const script = `
    const { saveSafetensors, loadSafetensors, writeFileAtomic } = await import('webfer/node');
    const { readFileSync } = await import('node:fs');
    writeFileAtomic('note.txt', 'written whole');
    saveSafetensors('weights.safetensors', { 'layer.weight': { shape: [2, 3], data: new Float32Array(${JSON.stringify(values)}) } }, { format: 'pt' });
    const loaded = loadSafetensors('weights.safetensors');
    const weight = loaded.tensors.get('layer.weight');
    console.log(JSON.stringify({ note: readFileSync('note.txt', 'utf8'), shape: weight.shape, data: [...weight.data], metadata: loaded.metadata }));`;
  const result = await run(process.execPath, ['--input-type=module', '-e', script], project);
  assertOk(result);
  const loaded = JSON.parse(result.stdout);
  assert.is(loaded.note, 'written whole');
  assert.equal(loaded.shape, [2, 3]);
  assert.equal(loaded.data, values);
  assert.is(loaded.metadata.format, 'pt');
});

check("a TypeScript user's tsc resolves both entries' types, WebGPU's included, without skipLibCheck, under each moduleResolution", async () => {
  // The declarations name GPUBuffer, GPUDevice, ...: they must come with the package, not from the user's own set-up.
  writeFileSync(join(project, 'use-types.ts'), `
    import { tensor, type Tensor } from 'webfer';
    import { loadSafetensors, type SafetensorsContent } from 'webfer/node';
    const t: Tensor = tensor(new Float32Array(4), [2, 2]);
    export const buffer: GPUBuffer | undefined = t.buffer;
    const content: SafetensorsContent = loadSafetensors('weights.safetensors');
    export const shapes: number[][] = [...content.tensors.values()].map((x) => [...x.shape]);
  `);
  // node10 ('node') is what `module: commonjs` implies and older tsconfigs name: it reads no
  // "exports", so 'webfer/node' resolved only once package.json's typesVersions pointed at it.
  const settings = [['nodenext', 'nodenext'], ['node16', 'node16'], ['esnext', 'bundler'], ['preserve', 'bundler'], ['commonjs', 'node10']];
  for (const [module, moduleResolution] of settings) {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module, moduleResolution, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false },
      files: ['use-types.ts'],
    }));
    const checked = await run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', project], project);
    assert.is(checked.code, 0, `tsc in a user's project, module ${module}, moduleResolution ${moduleResolution} (exit ${checked.code}):\n${checked.stdout.slice(0, 2000)}`);
  }
});

check("require('webfer') and require('webfer/node') from CommonJS, where Node can require an ES module", async () => {
  if (!(process.features as { require_module?: boolean }).require_module) {
    console.error(`package.test.ts: require() of ES modules needs Node 20.19 or 22.12; this is ${process.version} (CommonJS users: await import('webfer'))`);
    return;
  }
  writeFileSync(join(project, 'use.cjs'), `
    const webfer = require('webfer');
    const node = require('webfer/node');
    console.log(JSON.stringify([typeof webfer.init, typeof webfer.tensor, typeof node.loadSafetensors, typeof node.saveSafetensors]));`);
  const result = await run(process.execPath, ['use.cjs'], project);
  assertOk(result);
  assert.equal(JSON.parse(result.stdout), ['function', 'function', 'function', 'function']);
});

check('npx webfer --help lists the commands and npx webfer info names the adapter', async () => {
  const help = await run('npx', ['--no', '--', 'webfer', '--help'], project);
  assertOk(help);
  for (const name of ['info', 'demo', 'train', 'eval', 'gan-train']) assert.match(help.stdout, new RegExp(`^\\s+webfer ${name}\\b`, 'm'));
  const info = await run('npx', ['--no', '--', 'webfer', 'info'], project);
  assertOk(info);
  assert.match(info.stdout, /^adapter\s+\S/m);
  assert.match(info.stdout, /^kind\s+(software|hardware)/m);
});

test.run();
