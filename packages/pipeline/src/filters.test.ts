import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertLayers, copy, OciLayout } from '@concil/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterRun } from './filter-run.js';
import { parseFilters } from './filter-spec.js';
import type { InspectFilter } from './inspect.js';
import { readThrough } from './read-through.js';
import { SearchFilter } from './search.js';
import { blobPath, buildUmociImage, manifestOf, tarList } from './test-helpers/umoci-image.js';

let work: string;
/** Two umoci builds of the same files, at different times. */
let early: string;
let late: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-filters-'));
  early = join(work, 'early');
  late = join(work, 'late');
  await buildUmociImage(early, 1_000_000_000);
  await buildUmociImage(late, 1_700_000_000);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Copies an OCI layout's tag `t` into a new layout through the filters; returns the run. */
async function process(src: string, dst: string, filters: string[], options: { regex?: boolean } = {}) {
  const run = new FilterRun(parseFilters(filters, options));
  const result = await copy(new OciLayout(src, 't'), new OciLayout(dst, 't'), { edit: run.edit });
  return { run, result };
}

/** The paths of `tar -t` lines, without `./` and trailing slashes. */
const paths = (lines: string[]) =>
  lines.map((line) => line.replace(/^\.\//, '').replace(/\/$/, '')).filter((p) => p && p !== '.');

describe('normalize-timestamps', () => {
  it('gives two builds of the same files the same manifest digest, every mtime TS', async () => {
    const before = [(await manifestOf(early)).digest, (await manifestOf(late)).digest];
    expect(before[0]).not.toBe(before[1]);
    await process(early, join(work, 'norm-early'), ['normalize-timestamps']);
    await process(late, join(work, 'norm-late'), ['normalize-timestamps']);
    const a = await manifestOf(join(work, 'norm-early'));
    const b = await manifestOf(join(work, 'norm-late'));
    expect(a.digest).toBe(b.digest);
    for (const layer of a.manifest.layers) {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const lines = await tarList(join(work, 'norm-early'), layer, true);
      expect(lines.length).toBeGreaterThan(3);
      for (const line of lines) expect(line).toContain(' 1970-01-01 00:00 ');
    }
    const config = JSON.parse(
      await readFile(blobPath(join(work, 'norm-early'), a.manifest.config.digest), 'utf8'),
    );
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    expect(config.history.map((entry: { created: string }) => entry.created)).toEqual([
      '1970-01-01T00:00:00Z',
      '1970-01-01T00:00:00Z',
    ]);
    // The diff_ids are those of the layers written.
    const source = await manifestOf(early);
    expect(config.rootfs.diff_ids).not.toEqual(
      JSON.parse(await readFile(blobPath(early, source.manifest.config.digest), 'utf8')).rootfs.diff_ids,
    );
  });

  it('sets a given TS (seconds or ISO 8601) and keeps zstd and uncompressed layers as they are, which search reads too', async () => {
    for (const [to, mediaType] of [
      ['zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
      ['none', 'application/vnd.oci.image.layer.v1.tar'],
    ] as const) {
      const converted = join(work, `as-${to}`);
      await copy(new OciLayout(early, 't'), new OciLayout(converted, 't'), { edit: convertLayers(to) });
      const dst = join(work, `norm-${to}`);
      await process(converted, dst, [
        to === 'zstd' ? 'normalize-timestamps:1609459200' : 'normalize-timestamps:ts=2021-01-01T00:00:00Z',
      ]);
      const { manifest } = await manifestOf(dst);
      for (const layer of manifest.layers) {
        expect(layer.mediaType).toBe(mediaType);
        for (const line of await tarList(dst, layer, true)) expect(line).toContain(' 2021-01-01 00:00 ');
      }
      // A search reads these kinds too, and finds in each layer what tar -t lists.
      const search = new SearchFilter('*.log', false, 'search:*.log');
      const run = await readThrough(new OciLayout(converted, 't'), [search]);
      const layers = (await manifestOf(converted)).manifest.layers;
      const expected: { layer: string; path: string }[] = [];
      for (const layer of layers) {
        for (const path of paths(await tarList(converted, layer))) {
          if (path.endsWith('.log')) expected.push({ layer: layer.digest, path });
        }
      }
      expect(search.matches(run.images).map(({ layer, path }) => ({ layer, path }))).toEqual(expected);
      expect(expected).toHaveLength(2);
    }
  });
});

describe('exclude', () => {
  it('drops exactly the matching paths, a directory with what is below it, a comma escaped in a glob', async () => {
    const dst = join(work, 'excluded');
    await process(early, dst, [
      'exclude:*.log,app/data\\,1.txt',
      'exclude:pattern=var/cache',
      'exclude:**/__pycache__/**',
    ]);
    const source = (await manifestOf(early)).manifest;
    const { manifest } = await manifestOf(dst);
    expect(manifest.layers).toHaveLength(2);
    const dropped = (path: string) =>
      path.endsWith('.log') ||
      path === 'app/data,1.txt' ||
      path === 'var/cache' ||
      path.startsWith('var/cache/') ||
      // `a/**` matches `a` itself too (a globstar stands for zero or more directories).
      path === 'app/__pycache__' ||
      path.startsWith('app/__pycache__/');
    for (const [i, layer] of manifest.layers.entries()) {
      const before = paths(await tarList(early, source.layers[i]!));
      const after = paths(await tarList(dst, layer));
      expect(after).toEqual(before.filter((path) => !dropped(path)));
      expect(before.filter(dropped).length).toBeGreaterThan(0);
    }
  });
});

describe('search', () => {
  /** What `tar -t` lists of each layer that `keep` selects, with the layer's digest. */
  async function tarFinds(keep: (path: string) => boolean) {
    const { manifest } = await manifestOf(early);
    const found: { layer: string; path: string }[] = [];
    for (const layer of manifest.layers) {
      for (const path of paths(await tarList(early, layer)))
        if (keep(path)) found.push({ layer: layer.digest, path });
    }
    return found;
  }

  it('passing elements on: finds what tar -t finds, in the right layer, and leaves the image as it was', async () => {
    const dst = join(work, 'searched');
    const { run, result } = await process(early, dst, ['search:*.log', 'search:regex=^usr/bin/tool']);
    expect(result.descriptor.digest).toBe((await manifestOf(early)).digest);
    const [logs, tools] = run.filters as SearchFilter[];
    const found = (filter: SearchFilter) =>
      filter.matches(run.images).map(({ layer, path }) => ({ layer, path }));
    expect(found(logs!)).toEqual(await tarFinds((path) => path.endsWith('.log')));
    expect(found(tools!)).toEqual(await tarFinds((path) => path.startsWith('usr/bin/tool')));
    const link = tools!.matches(run.images).find((match) => match.path === 'usr/bin/tool-link');
    expect(link).toMatchObject({ type: 'symlink', linkname: 'tool', size: 0 });
    const tool = tools!.matches(run.images).find((match) => match.path === 'usr/bin/tool');
    expect(tool).toMatchObject({ type: 'file', size: 20, manifest: result.descriptor.digest });
  });

  it('alone: reads the layers through, writes nothing, finds the same', async () => {
    const search = new SearchFilter('app/*', false, 'search:app/*');
    const run = await readThrough(new OciLayout(early, 't'), [search]);
    expect(search.matches(run.images).map(({ layer, path }) => ({ layer, path }))).toEqual(
      await tarFinds((path) => /^app\/[^/]+$/.test(path)),
    );
  });

  it('with --regex, patterns are regular expressions; a comma is part of the pattern', async () => {
    const [search] = parseFilters(['search:data,1\\.txt$'], { regex: true }) as SearchFilter[];
    const run = await readThrough(new OciLayout(early, 't'), [search!]);
    expect(search!.matches(run.images).map(({ path }) => path)).toEqual(['app/data,1.txt']);
  });
});

describe('inspect', () => {
  it('records each layer before and after a rewriting filter', async () => {
    const dst = join(work, 'inspected');
    const { run } = await process(early, dst, ['inspect', 'exclude:*.log', 'inspect']);
    const [before, , after] = run.filters as InspectFilter[];
    const source = (await manifestOf(early)).manifest;
    const written = (await manifestOf(dst)).manifest;
    const first = before!.layers(run.images);
    expect(first.map((layer) => layer.digest)).toEqual(source.layers.map((layer) => layer.digest));
    expect(first[0]!.entries).toBe((await tarList(early, source.layers[0]!)).length);
    expect(first[1]!.largest[0]).toEqual({ path: 'app/data,1.txt', size: 18 });
    const second = after!.layers(run.images);
    expect(second.map((layer) => layer.digest)).toEqual(written.layers.map((layer) => layer.digest));
    expect(second.map((layer) => layer.sourceDigest)).toEqual(source.layers.map((layer) => layer.digest));
    expect(second[0]!.entries).toBe((await tarList(dst, written.layers[0]!)).length);
  });
});
