import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeDigest, type Descriptor, MediaType } from '@concil/oci-spec';
import { openRegistryTarget } from '@concil/registry-client';
import {
  buildFixtureLayout,
  type FaultProxy,
  type FixtureLayout,
  startFaultProxy,
  startRegistry,
  type TestRegistry,
} from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from './copy.js';
import { copyReferrers } from './copy-referrers.js';
import { OciLayout } from './oci-layout.js';

let source: TestRegistry;
let destination: TestRegistry;
let work: string;
let fixture: FixtureLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-copy-referrers-'));
  [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  fixture = await buildFixtureLayout(join(work, 'fixture'));
}, 60_000);

afterAll(async () => {
  await Promise.all([source?.stop(), destination?.stop()]);
  await rm(work, { recursive: true, force: true });
});

/** Raw HTTP against a registry: our client plays no part. */
async function raw(url: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/v2/${path}`, init);
}

async function putBlob(url: string, repository: string, bytes: Buffer): Promise<Descriptor> {
  const digest = computeDigest(bytes);
  const start = await raw(url, `${repository}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location')!, url);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, { method: 'PUT', body: bytes });
  expect(done.status).toBe(201);
  return { mediaType: MediaType.ociEmpty, digest, size: bytes.length };
}

/** A referrer of `subject` put by digest only: the source's tag schema does not list it. */
async function putReferrerOnly(url: string, repository: string, subject: Descriptor): Promise<Descriptor> {
  const empty = await putBlob(url, repository, Buffer.from('{}'));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: 'application/vnd.example.sbom',
      config: empty,
      layers: [empty],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const digest = computeDigest(bytes);
  const put = await raw(url, `${repository}/manifests/${digest}`, {
    method: 'PUT',
    headers: { 'content-type': MediaType.ociManifest },
    body: bytes,
  });
  expect(put.status).toBe(201);
  return {
    mediaType: MediaType.ociManifest,
    digest,
    size: bytes.length,
    artifactType: 'application/vnd.example.sbom',
  };
}

/** The source registry behind a loopback server that answers its referrers API (2.8 has none). */
async function withReferrersApi(referrers: Descriptor[]): Promise<FaultProxy> {
  const proxy = await startFaultProxy(source.url);
  proxy.inject({
    kind: 'respond',
    times: 100,
    match: { method: 'GET', path: /\/referrers\// },
    respond: (_request, response) => {
      response.writeHead(200, { 'content-type': MediaType.ociIndex });
      response.end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: referrers }));
    },
  });
  return proxy;
}

const accept = { accept: `${MediaType.ociIndex}, ${MediaType.ociManifest}` };
let image: Descriptor;
let referrer: Descriptor;

describe('copyReferrers', () => {
  beforeAll(async () => {
    const pushed = await copy(
      new OciLayout(fixture.dir),
      openRegistryTarget(`docker://${source.host}/api/app:1`),
      {
        reference: fixture.tag,
      },
    );
    image = pushed.descriptor;
    referrer = await putReferrerOnly(source.url, 'api/app', image);
    expect((await raw(source.url, `api/app/manifests/sha256-${image.digest.slice(7)}`)).status).toBe(404);
  });

  it('a referrer the source lists through the referrers API lands in the tag schema of a registry without it', async () => {
    const proxy = await withReferrersApi([referrer]);
    try {
      const src = openRegistryTarget(`docker://${proxy.host}/api/app:1`);
      const dst = openRegistryTarget(`docker://${destination.host}/copied/app:1`);
      await copy(src, dst);
      const copied = await copyReferrers(src, dst, [image.digest]);
      expect(copied).toEqual([
        { subject: image.digest, digest: referrer.digest, artifactType: 'application/vnd.example.sbom' },
      ]);
      const listed = await raw(destination.url, `copied/app/manifests/sha256-${image.digest.slice(7)}`, {
        headers: accept,
      });
      expect(((await listed.json()) as { manifests: Descriptor[] }).manifests).toEqual([
        expect.objectContaining({ digest: referrer.digest, artifactType: 'application/vnd.example.sbom' }),
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('a destination that has the referrers API (OCI-Subject on the PUT) gets no tag schema index', async () => {
    const api = await withReferrersApi([referrer]);
    const proxy = await startFaultProxy(destination.url);
    try {
      proxy.inject({
        kind: 'rewrite',
        times: 100,
        match: { method: 'PUT', path: /\/manifests\/sha256:/ },
        rewrite: (response) => ({
          ...response,
          headers: { ...response.headers, 'oci-subject': image.digest },
        }),
      });
      const src = openRegistryTarget(`docker://${api.host}/api/app:1`);
      const dst = openRegistryTarget(`docker://${proxy.host}/api-dst/app:1`);
      await copy(src, dst);
      const copied = await copyReferrers(src, dst, [image.digest]);
      expect(copied.map((each) => each.digest)).toEqual([referrer.digest]);
      const put = await raw(destination.url, `api-dst/app/manifests/${referrer.digest}`, { headers: accept });
      expect(put.status).toBe(200);
      const tag = await raw(destination.url, `api-dst/app/manifests/sha256-${image.digest.slice(7)}`, {
        headers: accept,
      });
      expect(tag.status).toBe(404);
    } finally {
      await Promise.all([api.stop(), proxy.stop()]);
    }
  });
});
