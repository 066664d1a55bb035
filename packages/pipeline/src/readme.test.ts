import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OciLayout, readImage } from '@concil/image';
import { buildFixtureLayout } from '@concil/testkit';
import { expect, it } from 'vitest';
import { example } from './readme-sinks.example.js';
import { temporaryDirectory } from './testing/image-layout.js';

it('the README shows readme-sinks.example.ts word for word', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const text = await readFile(join(import.meta.dirname, 'readme-sinks.example.ts'), 'utf8');
  expect(readme).toContain(text.trim());
});

it('runs the README example', async () => {
  const work = await temporaryDirectory();
  try {
    const fixture = await buildFixtureLayout(join(work, 'layout'), { tag: 'v1' });
    const descriptor = await example(fixture.dir, join(work, 'bundle'), join(work, 'extracted'));
    const again = await readImage(new OciLayout(`${fixture.dir}-again`, 'v1'));
    expect(again.descriptor.digest).toBe(descriptor.digest);
    expect(again.manifest.layers.map((layer) => layer.digest)).toEqual(fixture.images[0]!.diffIds);
    expect(JSON.parse(await readFile(join(work, 'bundle', 'config.json'), 'utf8')).root.path).toBe('rootfs');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
