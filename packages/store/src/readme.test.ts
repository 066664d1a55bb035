import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { example } from './readme.example.js';
import { buildImage, pushImage, randomFile } from './testing/fixtures.js';
import { useHarness } from './testing/harness.js';

const h = useHarness();
const savedConfig = process.env.CONCIL_CONFIG;

beforeAll(async () => {
  process.env.CONCIL_CONFIG = join(h.dir, 'no-config.json'); // defaults, whatever the machine has
}, 60_000);

afterAll(async () => {
  if (savedConfig === undefined) delete process.env.CONCIL_CONFIG;
  else process.env.CONCIL_CONFIG = savedConfig;
});

it('the README shows the example file word for word', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const source = await readFile(join(import.meta.dirname, 'readme.example.ts'), 'utf8');
  expect(readme).toContain(source.trim());
});

it('the README example runs: pulls with squashfs, then from the cache', async () => {
  const built = buildImage([
    { files: [randomFile('bin/tool', 5000)] },
    { files: [randomFile('etc/conf', 10)] },
  ]);
  await pushImage(h.registry.url, 'readme/demo', 'v1', built);
  const { image, again, verified } = await example(
    join(h.dir, 'readme-cache'),
    `docker://${h.registry.host}/readme/demo:v1`,
  );
  expect(image.manifestDescriptor.digest).toBe(built.manifestDescriptor.digest);
  expect(again.fromCache).toBe(true);
  expect(verified.problems).toEqual([]);
  const { stdout } = await promisify(execFile)('unsquashfs', ['-lln', image.layers[0]!.squashfsPath!]);
  expect(stdout).toContain('squashfs-root/bin/tool');
});
