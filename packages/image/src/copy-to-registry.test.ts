import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadOnlyTarget } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import { buildFixtureLayout, type FixtureLayout, startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';

let registry: TestRegistry;
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-copy-registry-'));
  registry = await startRegistry();
  fixture = await buildFixtureLayout(join(work, 'fixture'));
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** Flips the last byte of a file: same size, another digest. */
async function flipLastByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  await writeFile(path, bytes);
}

const topLayer = () => fixture.images[0]!.layers[1]!.digest.slice('sha256:'.length);

/** Sources holding the fixture image with its top layer damaged, as `dir:` and as `oci:`. */
const corruptSources: Record<string, () => Promise<ReadOnlyTarget>> = {
  oci: async () => {
    const path = join(work, 'corrupt-oci');
    await cp(fixture.dir, path, { recursive: true });
    await flipLastByte(join(path, 'blobs', 'sha256', topLayer()));
    return new OciLayout(path, fixture.tag);
  },
  dir: async () => {
    const path = join(work, 'corrupt-dir');
    await copy(new OciLayout(fixture.dir, fixture.tag), new ImageDirectory(path));
    await flipLastByte(join(path, topLayer()));
    return new ImageDirectory(path);
  },
};

describe('copy into a registry', () => {
  for (const [kind, corruptSource] of Object.entries(corruptSources)) {
    it(`ends with DIGEST_INVALID when a blob of a ${kind}: source is corrupt, and tags nothing`, {
      timeout: 20_000,
    }, async () => {
      const src = await corruptSource();
      const dst = openRegistryTarget(`${registry.host}/corrupt/${kind}:1`);
      const error = await copy(src, dst).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DIGEST_INVALID', subject: `sha256:${topLayer()}` });
      expect(await dst.client.headManifest(dst.repository, '1')).toBeUndefined();
      expect(await dst.client.headBlob(dst.repository, `sha256:${topLayer()}`)).toBeUndefined();
      await dst.client.close();
    });
  }
});
