import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openRegistryTarget } from '@concil/registry-client';
import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pushTinyImage } from './test-helpers/tiny-image.js';

const run = promisify(execFile);
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});

it('runs the README example against a real registry', async () => {
  const target = openRegistryTarget(`docker://${registry.host}/demo/signed`);
  const image = await pushTinyImage(target, 'readme', 'latest');
  const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
  const example = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  // The example imports the packages by name: a file inside the package resolves them to dist/.
  const dir = join(packageDir, '.cache');
  await mkdir(dir, { recursive: true });
  const script = join(dir, 'readme-example.mjs');
  await writeFile(script, example!.replaceAll('127.0.0.1:5000', registry.host));
  const { stdout } = await run(process.execPath, [script], {
    cwd: dir,
    env: { ...process.env, HOME: dir, CONCIL_CONFIG: join(dir, 'none.json') },
  });
  expect(stdout).toBe(`true true signed by cosign.pub for ${registry.host}/demo/signed@${image.digest}\n`);
});
