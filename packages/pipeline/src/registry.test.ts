import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copy } from '@concil/image';
import { startRegistry, type TestRegistry } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterRun } from './filter-run.js';
import { parseFilters } from './filter-spec.js';
import { openLocation } from './open-location.js';
import type { SearchFilter } from './search.js';
import { buildUmociImage, manifestOf, run } from './test-helpers/umoci-image.js';

let work: string;
let registry: TestRegistry;
let layout: string;
let digest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-filters-registry-'));
  registry = await startRegistry();
  layout = join(work, 'image');
  await buildUmociImage(layout, 1_500_000_000);
  digest = (await manifestOf(layout)).digest;
  await run('skopeo', [
    '--insecure-policy',
    'copy',
    '-q',
    '--dest-tls-verify=false',
    `oci:${layout}:t`,
    `docker://${registry.host}/app:built`,
  ]);
});
afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

const rawDigest = async (reference: string) => {
  const { stdout } = await run('skopeo', [
    'inspect',
    '--tls-verify=false',
    '--format',
    '{{.Digest}}',
    reference,
  ]);
  return stdout.trim();
};

async function process(src: string, dst: string, filters: string[]) {
  const filterRun = new FilterRun(parseFilters(filters));
  const result = await copy(openLocation(src), openLocation(dst), { edit: filterRun.edit });
  return { run: filterRun, result };
}

describe('filters between registries', () => {
  it('normalizes an image named by digest (registry://…@sha256:) into a registry as into a layout', async () => {
    const { result } = await process(
      `registry://${registry.host}/app@${digest}`,
      `registry://${registry.host}/app:normalized`,
      ['normalize-timestamps'],
    );
    await process(`oci:${layout}:t`, `oci:${join(work, 'normalized')}:t`, ['normalize-timestamps']);
    const expected = (await manifestOf(join(work, 'normalized'))).digest;
    expect(result.descriptor.digest).toBe(expected);
    expect(await rawDigest(`docker://${registry.host}/app:normalized`)).toBe(expected);
  });

  it('searches an image named by tag and digest (docker://…:tag@sha256:), passing it on unchanged', async () => {
    const { run: filterRun, result } = await process(
      `docker://${registry.host}/app:built@${digest}`,
      `docker://${registry.host}/app:searched`,
      ['search:*.conf'],
    );
    expect(result.descriptor.digest).toBe(digest);
    expect(await rawDigest(`docker://${registry.host}/app:searched`)).toBe(digest);
    const [search] = filterRun.filters as SearchFilter[];
    expect(search!.matches(filterRun.images).map(({ path }) => path)).toEqual([
      'etc/app.conf',
      'etc/other.conf',
    ]);
  });
});
