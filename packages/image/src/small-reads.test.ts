import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestHex } from '@concil/oci-spec';
import { buildFixtureLayout, type FixtureLayout } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { openImage } from './open-image.js';
import { openTarget } from './open-target.js';
import { blobPath, imageIn } from './testing/fixture-image.js';

// Manifests and configs of local targets are read whole (readSmall), not streamed: the same
// checks must hold as on the streamed path. Each case damages the config of a fresh copy.
let work: string;
let fixture: FixtureLayout;
let configDigest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-small-reads-'));
  fixture = await buildFixtureLayout(join(work, 'fixture'));
  await copy(openTarget(`oci:${fixture.dir}:latest`), openTarget(`dir:${join(work, 'dir')}`));
  configDigest = (await imageIn(fixture.dir, fixture.images[0]!.manifest.digest)).manifest.config.digest;
}, 120_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh copy of the image as `form`, and where its config blob lies. */
async function freshCopy(form: 'dir' | 'oci', name: string): Promise<{ spec: string; config: string }> {
  const path = join(work, name);
  if (form === 'oci') {
    await cp(fixture.dir, path, { recursive: true });
    return { spec: `oci:${path}:latest`, config: blobPath(path, configDigest) };
  }
  await cp(join(work, 'dir'), path, { recursive: true });
  return { spec: `dir:${path}`, config: join(path, digestHex(configDigest)) };
}

describe.each(['dir', 'oci'] as const)('the small content of an %s: target', (form) => {
  it('is read and checked: the image opens with its config', async () => {
    const { spec } = await freshCopy(form, `${form}-intact`);
    const image = await openImage(spec);
    expect(image.manifest.config.digest).toBe(configDigest);
    expect(image.config.rootfs.diff_ids).toHaveLength(image.layers.length);
  });

  it('with a byte changed is refused as DIGEST_INVALID', async () => {
    const { spec, config } = await freshCopy(form, `${form}-flipped`);
    const bytes = await readFile(config);
    bytes[0] = bytes[0] === 0x20 ? 0x21 : 0x20;
    await writeFile(config, bytes);
    await expect(openImage(spec)).rejects.toMatchObject({ code: 'DIGEST_INVALID', subject: configDigest });
  });

  it('cut short is refused as SIZE_INVALID, naming the file', async () => {
    const { spec, config } = await freshCopy(form, `${form}-truncated`);
    await truncate(config, 10);
    const error = await openImage(spec).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SIZE_INVALID', subject: configDigest });
    expect((error as Error).message).toContain(`${config} has 10 bytes`);
  });

  it('missing is refused as NOT_FOUND, naming the file', async () => {
    const { spec, config } = await freshCopy(form, `${form}-missing`);
    await rm(config);
    const error = await openImage(spec).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND', subject: configDigest });
    expect((error as Error).message).toContain(config);
  });
});
