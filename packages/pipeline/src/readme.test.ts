import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OciLayout, readImage } from '@concil/image';
import { buildFixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { example } from './readme.example.js';
import { example as sinksExample } from './readme-sinks.example.js';
import { buildUmociImage, manifestOf, tarList } from './test-helpers/umoci-image.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-pipeline-readme-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('the README shows its examples word for word', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  // readme-daemon.example.ts runs in docker-daemon.test.ts, against the podman service started there.
  for (const file of ['readme.example.ts', 'readme-daemon.example.ts', 'readme-sinks.example.ts']) {
    const example = await readFile(join(import.meta.dirname, file), 'utf8');
    expect(readme).toContain(example.trim());
  }
});

it("the README's example normalizes, excludes and searches", async () => {
  const src = join(work, 'src');
  await buildUmociImage(src, 1_234_567_890);
  const { digest, found } = await example(`oci:${src}:t`, `oci:${join(work, 'dst')}:t`);
  const { manifest } = await manifestOf(src);
  expect(found).toEqual([
    `${manifest.layers[0]!.digest} etc/app.conf`,
    `${manifest.layers[0]!.digest} etc/other.conf`,
  ]);
  const written = await manifestOf(join(work, 'dst'));
  expect(written.digest).toBe(digest);
  const listed = await tarList(join(work, 'dst'), written.manifest.layers[1]!, true);
  expect(listed.some((line) => line.includes('pyc') || line.includes('__pycache__'))).toBe(false);
  expect(listed.every((line) => line.includes(' 1970-01-01 00:00 '))).toBe(true);
});

it("runs the README's sinks example", async () => {
  const fixture = await buildFixtureLayout(join(work, 'layout'), { tag: 'v1' });
  const descriptor = await sinksExample(fixture.dir, join(work, 'bundle'), join(work, 'extracted'));
  const again = await readImage(new OciLayout(`${fixture.dir}-again`, 'v1'));
  expect(again.descriptor.digest).toBe(descriptor.digest);
  expect(again.manifest.layers.map((layer) => layer.digest)).toEqual(fixture.images[0]!.diffIds);
  expect(JSON.parse(await readFile(join(work, 'bundle', 'config.json'), 'utf8')).root.path).toBe('rootfs');
});
