import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mountReadOnly } from '@concil/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, type ProxiedImage, startProxiedImage, USER } from './test/proxied-image.js';
import { runCli } from './test/run-cli.js';

let setup: ProxiedImage;
let registry: ProxiedImage['registry'];
let proxy: ProxiedImage['proxy'];
let work: string;
const blobGet = { method: 'GET', path: /\/blobs\/sha256:/ };

beforeAll(async () => {
  setup = await startProxiedImage('oci');
  ({ registry, proxy, work } = setup);
}, 120_000);

afterAll(() => setup?.stop());

beforeEach(() => proxy.clear());

const source = () => `docker://${USER}:${PASSWORD}@${proxy.host}/app:1`;

async function expectNoDestination(dir: string): Promise<void> {
  await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  expect((await readdir(work)).filter((name) => name.includes('.concil-'))).toEqual([]);
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

describe('bad input ends with a clear error or a correct result, never a partial destination', () => {
  it('refuses a wrong password in one line, without printing it', async () => {
    const dir = join(work, 'wrong-password');
    const result = await runCli(['copy', `docker://${USER}:hunter2@${registry.host}/app:1`, dir]);
    expect(result.code).toBe(1);
    const line = oneLine(result.stderr);
    expect(line).toContain(`wrong username or password for ${registry.host}`);
    expect(line).toMatch(/ \[UNAUTHORIZED\]$/);
    expect(result.stderr).not.toContain('hunter2');
    await expectNoDestination(dir);
  });

  it('refuses a blob whose bytes do not match its digest', async () => {
    proxy.inject({ kind: 'corrupt', match: blobGet, times: 100 });
    const dir = join(work, 'corrupt');
    const result = await runCli(['copy', source(), dir]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(
      /: content of sha256:[0-9a-f]{64} hashes to sha256:[0-9a-f]{64}: .* \[DIGEST_INVALID\]$/,
    );
    await expectNoDestination(dir);
  });

  it('refuses a truncated blob', async () => {
    proxy.inject({ kind: 'truncate', afterBytes: 100, match: blobGet, times: 100 });
    const dir = join(work, 'truncated');
    const result = await runCli(['copy', source(), dir]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(
      /: content of sha256:[0-9a-f]{64}: got 100 of \d+ bytes \(truncated\); .* \[SIZE_INVALID\]$/,
    );
    await expectNoDestination(dir);
  });

  it('resumes a blob after the connection drops mid-way', async () => {
    proxy.inject({ kind: 'drop', afterBytes: 200, match: blobGet });
    const before = proxy.requests.length;
    const result = await runCli(['copy', '--json', source(), join(work, 'resumed')]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).blobsCopied).toBe(3);
    const ranged = proxy.requests.slice(before).filter((request) => request.range);
    expect(ranged.map((request) => request.range)).toEqual(['bytes=200-']);
  });

  it('retries after 500 twice, and after 429 with Retry-After and a plain-text body', async () => {
    proxy.inject(
      { kind: 'status', status: 500, times: 2, match: blobGet },
      { kind: 'status', status: 429, headers: { 'Retry-After': '1' }, body: 'slow down', match: blobGet },
    );
    const before = proxy.requests.length;
    const result = await runCli(['copy', '--json', source(), join(work, 'retried')]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).blobsCopied).toBe(3);
    expect(proxy.pending()).toBe(0);
    // The blob answered 429 was asked for again a second later at the soonest, as Retry-After said.
    const since = proxy.requests.slice(before);
    const limited = since.find((request) => request.status === 429)!;
    const retried = since.find(
      (request) => request.url === limited.url && request.receivedAt > limited.receivedAt,
    );
    expect(retried?.fault).toBeUndefined();
    expect(retried!.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(1000);
  });

  it('follows a redirect to another host without sending the credentials there', async () => {
    proxy.inject({ kind: 'redirect', match: blobGet, times: 100 });
    const before = proxy.redirectTarget.requests.length;
    const result = await runCli(['copy', '--json', source(), join(work, 'redirected')]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).blobsCopied).toBe(3);
    expect(proxy.redirectTarget.requests.length - before).toBe(3); // every blob came from there
    expect(proxy.redirectTarget.sawAuthorization()).toBe(false);
  });

  it('refuses a malformed manifest with a message naming it', async () => {
    proxy.inject({
      kind: 'body',
      body: '{"schemaVersion":2,"config":{}}',
      contentType: 'application/vnd.oci.image.manifest.v1+json',
      match: { path: /\/manifests\// },
      times: 100,
    });
    const dir = join(work, 'malformed');
    const result = await runCli(['copy', source(), dir]);
    expect(result.code).toBe(1);
    const line = oneLine(result.stderr);
    expect(line).toContain(`docker://${proxy.host}/app:1 is malformed: config.mediaType`);
    expect(line).toMatch(/ \[MANIFEST_INVALID\]$/);
    await expectNoDestination(dir);
  });

  it('refuses a mistyped transport in one line, naming the transports, and creates nothing', async () => {
    const before = await readdir(work);
    const result = await runCli(
      ['copy', `oci:${join(work, 'layout')}:latest`, 'oic:x:v1'],
      {},
      { cwd: work },
    );
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      'concil: "oic:x:v1": unknown transport "oic:"; use docker://HOST/REPO[:TAG], dir:PATH, oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or a path (./oic:x:v1 for a directory of that name) [TARGET_INVALID]',
    );
    expect(await readdir(work)).toEqual(before);
  });

  it('names a read-only destination READ_ONLY and a file as destination NOT_A_DIRECTORY, in one line', async () => {
    const readOnly = await mountReadOnly();
    try {
      const image = join(readOnly.path, 'image');
      const result = await runCli(['copy', `oci:${join(work, 'layout')}:latest`, image]);
      expect(result.code).toBe(1);
      expect(oneLine(result.stderr)).toMatch(
        new RegExp(
          `^concil: cannot write dir:${image}: the file system is read-only \\(.*\\); choose a place on a writable file system \\[READ_ONLY\\]$`,
        ),
      );
      expect(await readdir(readOnly.path)).toEqual([]);
    } finally {
      await readOnly.unmount();
    }
    const file = join(work, 'a-file');
    await writeFile(file, 'not a directory');
    const result = await runCli(['copy', `oci:${join(work, 'layout')}:latest`, file]);
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      `concil: cannot write dir:${file}: a file stands where a directory must be (${file}); name a directory or a new path [NOT_A_DIRECTORY]`,
    );
  });
});
