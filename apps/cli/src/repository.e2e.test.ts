import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixtureLayout,
  pushFixture,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
  tagListPagination,
} from '@concil/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oneLine } from './test/one-line.js';
import { runCli } from './test/run-cli.js';

const run = promisify(execFile);
let registry: TestRegistry;
let noDelete: TestRegistry;
let proxy: FaultProxy;
let work: string;
let layout: FixtureLayout;
const manyTags = Array.from({ length: 7 }, (_, i) => `t${i}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-e2e-repository-'));
  [registry, noDelete] = await Promise.all([startRegistry(), startRegistry({ deleteEnabled: false })]);
  layout = await buildFixtureLayout(join(work, 'layout'));
  await pushFixture(layout.dir, `${registry.host}/team/app:1`, { format: 'oci' });
  await pushFixture(layout.dir, `${registry.host}/team/base:1`, { format: 'v2s2' });
  await pushFixture(layout.dir, `${registry.host}/other:1`, { format: 'oci' });
  await pushFixture(layout.dir, `${noDelete.host}/kept:1`, { format: 'oci' });
  // Tags made by concil itself: the same manifest under seven more tags.
  const tagged = await runCli(['tag', `docker://${registry.host}/team/app:1`, ...manyTags]);
  expect(tagged.stderr).toBe('');
  proxy = await startFaultProxy(registry.url);
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([registry?.stop(), noDelete?.stop()]);
  await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.clear();
  proxy.requests.length = 0;
});

async function rawManifest(location: string): Promise<string> {
  return (await run('skopeo', ['inspect', '--raw', '--tls-verify=false', location])).stdout;
}

const requestsTo = (path: RegExp) => proxy.requests.filter((request) => path.test(request.url));

describe('concil tags', () => {
  it('lists every tag, following the pages of a registry that pages them', async () => {
    proxy.inject(tagListPagination(3));
    const result = await runCli(['tags', `docker://${proxy.host}/team/app`]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${['1', ...manyTags].join('\n')}\n`);
    expect(requestsTo(/\/tags\/list/)).toHaveLength(3);
  });

  it('asks for --page-size tags a page, and prints { registry, repository, tags } with --json', async () => {
    proxy.inject(tagListPagination(100));
    const result = await runCli(['tags', '--json', '--page-size', '2', `docker://${proxy.host}/team/app`]);
    expect(JSON.parse(result.stdout)).toEqual({
      registry: proxy.host,
      repository: 'team/app',
      tags: ['1', ...manyTags],
    });
    const pages = requestsTo(/\/tags\/list/);
    expect(pages).toHaveLength(4);
    expect(pages.every((request) => request.url.includes('n=2'))).toBe(true);
  });

  it('says in one line that the repository does not exist, or that the location is no registry', async () => {
    const missing = await runCli(['tags', `docker://${registry.host}/nothing/here`]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(oneLine(missing.stderr)).toBe(
      `concil: docker://${registry.host}/nothing/here: repository not found (NAME_UNKNOWN); check the name with \`concil catalog\``,
    );
    const local = await runCli(['tags', `oci:${layout.dir}`]);
    expect(local.code).toBe(1);
    expect(oneLine(local.stderr)).toMatch(
      /is not a registry repository.*docker:\/\/HOST\/REPOSITORY.*REFERENCE_INVALID/,
    );
  });
});

describe('concil catalog', () => {
  it('lists every repository, page after page', async () => {
    const result = await runCli(['catalog', '--page-size', '1', `docker://${proxy.host}`]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('other\nteam/app\nteam/base\n');
    expect(requestsTo(/\/_catalog/)).toHaveLength(3);
    const json = await runCli(['catalog', '--json', registry.host]);
    expect(JSON.parse(json.stdout)).toEqual({
      registry: registry.host,
      repositories: ['other', 'team/app', 'team/base'],
    });
  });

  it('refuses a location that names a repository', async () => {
    const result = await runCli(['catalog', `docker://${registry.host}/team`]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/is not a registry host; write docker:\/\/HOST\[:PORT\]/);
  });
});

describe('concil tag', () => {
  it('puts the same manifest bytes under new tags, moving no blob', async () => {
    const source = `docker://${proxy.host}/team/base:1`;
    const result = await runCli(['tag', '--json', source, 'a', 'b']);
    expect(result.stderr).toBe('');
    const original = await rawManifest(`docker://${registry.host}/team/base:1`);
    const printed = JSON.parse(result.stdout);
    expect(printed).toEqual({
      source: `docker://${proxy.host}/team/base@${printed.descriptor.digest}`,
      descriptor: {
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        digest: printed.descriptor.digest,
        size: Buffer.byteLength(original),
      },
      tagged: [`docker://${proxy.host}/team/base:a`, `docker://${proxy.host}/team/base:b`],
    });
    for (const tag of ['a', 'b']) {
      expect(await rawManifest(`docker://${registry.host}/team/base:${tag}`)).toBe(original);
    }
    expect(requestsTo(/\/blobs\//)).toEqual([]);
    // one GET of the manifest serves both tags
    expect(requestsTo(/\/manifests\//).filter((request) => request.method === 'GET')).toHaveLength(1);
  });

  it('refuses an invalid new tag before any request, and an unknown source tag', async () => {
    const invalid = await runCli(['tag', `docker://${proxy.host}/team/base:1`, 'ok', 'not/ok']);
    expect(invalid.code).toBe(1);
    expect(oneLine(invalid.stderr)).toMatch(/"not\/ok" is not a valid tag.*REFERENCE_INVALID/);
    expect(proxy.requests).toEqual([]);

    const unknown = await runCli(['tag', `docker://${registry.host}/team/base:nope`, 'c']);
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown.stderr)).toMatch(/team\/base:nope: tag not found \(MANIFEST_UNKNOWN\)/);
    const tags = await runCli(['tags', `docker://${registry.host}/team/base`]);
    expect(tags.stdout.split('\n')).not.toContain('c');
  });
});

describe('concil delete', () => {
  it('deletes a manifest named by tag (resolved to its digest first) or by digest', async () => {
    await pushFixture(layout.dir, `${registry.host}/trash:1`, { format: 'oci' });
    await pushFixture(layout.dir, `${registry.host}/trash2:1`, { format: 'v2s2' });
    const digest = layout.root.digest;
    const byTag = await runCli(['delete', '--json', `docker://${registry.host}/trash:1`]);
    expect(byTag.stderr).toBe('');
    expect(JSON.parse(byTag.stdout)).toEqual({
      deleted: `docker://${registry.host}/trash@${digest}`,
      descriptor: layout.root,
    });
    const gone = await runCli(['digest', `docker://${registry.host}/trash@${digest}`]);
    expect(gone.code).toBe(1);
    expect(oneLine(gone.stderr)).toMatch(/manifest not found \(MANIFEST_UNKNOWN\)/);
    await expect(rawManifest(`docker://${registry.host}/trash:1`)).rejects.toThrow(/manifest unknown/);

    const v2s2 = (await runCli(['digest', `docker://${registry.host}/trash2:1`])).stdout.trim();
    const byDigest = await runCli(['delete', `docker://${registry.host}/trash2@${v2s2}`]);
    expect(byDigest.stdout).toBe(`deleted docker://${registry.host}/trash2@${v2s2}\n`);
    await expect(rawManifest(`docker://${registry.host}/trash2:1`)).rejects.toThrow(/manifest unknown/);
  });

  it('says in one line that the tag does not exist', async () => {
    const result = await runCli(['delete', `docker://${registry.host}/team/app:nope`]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(/team\/app:nope: tag not found \(MANIFEST_UNKNOWN\)/);
  });

  it('says so when the registry does not allow deletion (UNSUPPORTED), and the manifest stays', async () => {
    const location = `docker://${noDelete.host}/kept:1`;
    const result = await runCli(['delete', location]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      `concil: docker://${noDelete.host}/kept@${layout.root.digest}: ${noDelete.host} does not allow deleting manifests (UNSUPPORTED); its operator must enable deletion (docker-registry: storage.delete.enabled)`,
    );
    expect(await rawManifest(location)).toBeTruthy();
  });
});
