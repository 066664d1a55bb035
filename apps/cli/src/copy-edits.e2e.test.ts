import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-copy-edits-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const inspect = async (...args: string[]) => JSON.parse((await run('skopeo', ['inspect', ...args])).stdout);

describe('concil copy [edits…] SRC DST', () => {
  it('adds a directory as a layer, sets the entrypoint, env, user and an annotation, as skopeo and umoci read them', async () => {
    const app = join(work, 'app');
    await mkdir(join(app, 'srv'), { recursive: true });
    await writeFile(join(app, 'srv', 'run.sh'), 'echo edited\n');
    const dst = join(work, 'edited');
    const result = await runCli([
      'copy',
      '--add-layer',
      `app=${app}`,
      '--entrypoint',
      '["/srv/run.sh"]',
      '--cmd',
      'echo hi',
      '--env',
      'EDITED=1',
      '--env',
      'GREETING',
      '--user',
      '0:0',
      '--annotation',
      'org.example.note=edited',
      '-q',
      `oci:${fixture.dir}:latest`,
      `oci:${dst}:1`,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const config = await inspect('--config', `oci:${dst}:1`);
    expect(config.config.Entrypoint).toEqual(['/srv/run.sh']);
    expect(config.config.Cmd).toEqual(['/bin/sh', '-c', 'echo hi']);
    expect(config.config.Env).toEqual(['PATH=/usr/local/bin:/usr/bin:/bin', 'FIXTURE=concil', 'EDITED=1']);
    expect(config.config.User).toBe('0:0');
    const raw = await inspect('--raw', `oci:${dst}:1`);
    expect(raw.layers).toHaveLength(3);
    expect(raw.layers[2].annotations).toEqual({ 'org.opencontainers.image.title': 'app' });
    expect(raw.annotations['org.example.note']).toBe('edited');
    const bundle = join(work, 'bundle');
    await run('umoci', [
      'unpack',
      ...(process.getuid?.() === 0 ? [] : ['--rootless']),
      '--image',
      `${dst}:1`,
      bundle,
    ]);
    expect(await readFile(join(bundle, 'rootfs', 'srv', 'run.sh'), 'utf8')).toBe('echo edited\n');
  });

  it('merges and removes layers by name, writing v2s2 when asked', async () => {
    const merged = join(work, 'merged');
    const result = await runCli([
      'copy',
      '--merge-layers',
      '..',
      '--format',
      'v2s2',
      `oci:${fixture.dir}:latest`,
      `dir:${merged}`,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/, 1 layers transformed\n$/);
    const manifest = JSON.parse(await readFile(join(merged, 'manifest.json'), 'utf8'));
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(manifest.layers).toHaveLength(1);

    const removed = join(work, 'removed');
    expect(
      (await runCli(['copy', '-q', '--remove-layer', '%2', `oci:${fixture.dir}:latest`, `dir:${removed}`]))
        .code,
    ).toBe(0);
    const config = await inspect('--config', `dir:${removed}`);
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });

  it('refuses an ambiguous or unknown layer name and a missing --add-layer path in one line, leaving no destination', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--remove-layer', 'sha256:'],
        /"sha256:" names 2 layers; use a longer digest prefix or %N for one of: %1 sha256:[0-9a-f]{64}, %2 sha256:[0-9a-f]{64} \[LAYER_AMBIGUOUS\]$/,
      ],
      [['--merge-layers', '%1..%7'], /no layer %7: the image has 2 layers .* \[LAYER_UNKNOWN\]$/],
      [
        ['--add-layer', `x=${join(work, 'missing')}`],
        new RegExp(`${join(work, 'missing')} cannot be read as a new layer \\(ENOENT\\).* \\[NOT_FOUND\\]$`),
      ],
    ];
    for (const [flags, message] of cases) {
      const dst = join(work, 'refused');
      const result = await runCli(['copy', '-q', ...flags, `oci:${fixture.dir}:latest`, `dir:${dst}`]);
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      await expect(stat(dst)).rejects.toThrow(/ENOENT/);
    }
  });
});
