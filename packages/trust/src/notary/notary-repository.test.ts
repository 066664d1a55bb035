import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateAuthority, selfSignedCertificate, startNotary, type TestNotary } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { rejection } from '../test-helpers/rejection.js';
import { publishNotaryTarget } from './notary-publish.js';
import { NotaryRepository } from './notary-repository.js';
import { tufKeyId } from './tuf-keys.js';

let notary: TestNotary;
let work: string;
const payload = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const payloadDigest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;

/** Signs `tag` for `gun` with the notary CLI (init on first use), as a publisher would. */
async function notaryPublish(gun: string, tag: string, file: string, trustDir?: string): Promise<string> {
  const dir = trustDir ?? (await notary.client(['init', gun])).trustDir;
  await notary.client(['add', gun, tag, file], { trustDir: dir });
  await notary.client(['publish', gun], { trustDir: dir });
  return dir;
}

async function freshDir(): Promise<string> {
  return await mkdtemp(join(work, 'trust-'));
}

beforeAll(async () => {
  notary = await startNotary();
  work = await mkdtemp(join(tmpdir(), 'concil-notary-test-'));
  await writeFile(join(work, 'manifest.json'), payload);
});
afterAll(async () => {
  await notary?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('NotaryRepository against notary-server', () => {
  it('answers the digest and size the notary CLI signed for a tag, and caches the verified metadata', async () => {
    const gun = '127.0.0.1:5000/app/one';
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const trustDir = await freshDir();
    const repository = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    const target = await repository.lookup('v1');
    expect(target).toEqual({
      gun,
      name: 'v1',
      digest: payloadDigest,
      size: payload.byteLength,
      role: 'targets',
    });
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      expect(
        existsSync(join(trustDir, 'tuf', '127.0.0.1:5000', 'app', 'one', 'metadata', `${role}.json`)),
      ).toBe(true);
    }
    const missing = await rejection(repository.lookup('v2'));
    expect(isTrustError(missing, 'TARGET_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toContain('"v2" is not signed');
    await repository.http.close();
  });

  it('refuses metadata whose timestamp has expired', async () => {
    const gun = '127.0.0.1:5000/app/expiring';
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const fifteenDays = 15 * 24 * 3600 * 1000; // notary-server's timestamps last 14 days
    const repository = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir: await freshDir(),
      now: () => Date.now() + fifteenDays,
    });
    const error = await rejection(repository.lookup('v1'));
    expect(isTrustError(error, 'METADATA_EXPIRED')).toBe(true);
    expect((error as Error).message).toMatch(
      /^timestamp\.json of 127\.0\.0\.1:5000\/app\/expiring .* expired at /,
    );
    await repository.http.close();
  });

  it('refuses a root signed by a key the pinning does not name, and takes it when pinned', async () => {
    const gun = '127.0.0.1:5000/app/pinned';
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const root = JSON.parse(
      await (await httpsGetBody(`${notary.url}/v2/${gun}/_trust/tuf/root.json`)).toString(),
    );
    const rootKeyId: string = root.signed.roles.root.keyids[0];
    expect(tufKeyId(root.signed.keys[rootKeyId])).toBe(rootKeyId);

    const trustDir = await freshDir();
    const otherId = 'a'.repeat(64);
    const refused = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir,
      pinning: { certs: { [gun]: [otherId] } },
    });
    const error = await rejection(refused.lookup('v1'));
    expect(isTrustError(error, 'ROOT_UNTRUSTED')).toBe(true);
    expect((error as Error).message).toContain(`signed by root key(s) ${rootKeyId}`);
    expect(existsSync(join(trustDir, 'tuf'))).toBe(false);
    await refused.http.close();

    const byCa = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir,
      pinning: { ca: { '127.0.0.1:5000/': notary.caPath } },
    });
    expect(isTrustError(await rejection(byCa.lookup('v1')), 'ROOT_UNTRUSTED')).toBe(true);
    await byCa.http.close();

    const pinned = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir,
      pinning: { certs: { [gun]: [rootKeyId] } },
    });
    expect((await pinned.lookup('v1')).digest).toBe(payloadDigest);
    await pinned.http.close();
  });

  it('takes a root whose certificate the CA pinned for the GUN prefix issued', async () => {
    const gun = '127.0.0.1:5000/app/by-ca';
    const ca = await certificateAuthority(await mkdtemp(join(work, 'root-ca-')));
    const root = await ca.issue('root', 'DNS:localhost', gun);
    const digest = `sha256:${'c'.repeat(64)}`;
    await publishNotaryTarget({
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir: await freshDir(),
      gun,
      tag: 'v1',
      digest,
      size: 42,
      rootKey: {
        certificatePem: await readFile(root.certPath, 'utf8'),
        privateKeyPem: await readFile(root.keyPath, 'utf8'),
      },
    });
    const pinned = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir: await freshDir(),
      pinning: {
        ca: { '127.0.0.1:5000/app/': ca.certPath, '127.0.0.1:5000/': notary.caPath },
        disable_tofu: true,
      },
    });
    expect(await pinned.lookup('v1')).toMatchObject({ digest, size: 42 });
    await pinned.http.close();
  });

  it('refuses a new root that the root trusted on first use did not sign', async () => {
    const gun = '127.0.0.1:5000/app/replaced';
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const trustDir = await freshDir();
    const first = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    await first.lookup('v1');
    await first.http.close();
    const cachedRoot = await readFile(
      join(trustDir, 'tuf', '127.0.0.1:5000', 'app', 'replaced', 'metadata', 'root.json'),
    );

    // Someone deletes the GUN on the server and signs it anew with other keys.
    await notary.client(['delete', gun, '--remote']);
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const again = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    const error = await rejection(again.lookup('v1'));
    expect(isTrustError(error, 'ROOT_UNTRUSTED')).toBe(true);
    expect((error as Error).message).toContain('is not signed by the root keys trusted for');
    expect(
      await readFile(join(trustDir, 'tuf', '127.0.0.1:5000', 'app', 'replaced', 'metadata', 'root.json')),
    ).toEqual(cachedRoot);
    await again.http.close();
  });
});

describe('NotaryRepository: delegations and root rotation made by the notary CLI', () => {
  it('takes a tag from the targets/releases delegation before targets, as Docker does', async () => {
    const gun = '127.0.0.1:5000/app/released';
    const { trustDir } = await notary.client(['init', gun]);
    const releaser = await selfSignedCertificate(
      await mkdtemp(join(work, 'releaser-')),
      'releaser',
      [],
      'releaser',
    );
    await notary.client(['delegation', 'add', gun, 'targets/releases', releaser.certPath, '--all-paths'], {
      trustDir,
    });
    await notary.client(['key', 'import', releaser.keyPath, '--role', 'targets/releases'], { trustDir });
    await notary.client(['publish', gun], { trustDir });
    const other = join(work, 'other.json');
    await writeFile(other, 'another manifest');
    await notaryPublish(gun, 'v1', other, trustDir);
    await notary.client(['add', gun, 'v1', join(work, 'manifest.json'), '--roles', 'targets/releases'], {
      trustDir,
    });
    await notary.client(['publish', gun], { trustDir });

    const repository = new NotaryRepository(gun, {
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir: await freshDir(),
    });
    expect(await repository.lookup('v1')).toEqual({
      gun,
      name: 'v1',
      digest: payloadDigest,
      size: payload.byteLength,
      role: 'targets/releases',
    });
    await repository.http.close();
  });

  it('follows root rotations from the cached root, each new root signed by the one before', async () => {
    const gun = '127.0.0.1:5000/app/rotated';
    const publisher = await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const trustDir = await freshDir();
    const rootPath = join(trustDir, 'tuf', '127.0.0.1:5000', 'app', 'rotated', 'metadata', 'root.json');
    const first = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    await first.lookup('v1');
    await first.http.close();
    expect(JSON.parse(await readFile(rootPath, 'utf8')).signed.version).toBe(1);

    await notary.client(['key', 'rotate', gun, 'root'], { trustDir: publisher, input: 'yes\n' });
    await notary.client(['key', 'rotate', gun, 'root'], { trustDir: publisher, input: 'yes\n' });
    const later = new NotaryRepository(gun, { serverUrl: notary.url, caFile: notary.caPath, trustDir });
    expect((await later.lookup('v1')).digest).toBe(payloadDigest);
    expect(JSON.parse(await readFile(rootPath, 'utf8')).signed.version).toBe(3);
    await later.http.close();
  });
});

describe('NotaryRepository against a server that alters metadata', () => {
  it('refuses targets whose bytes do not match the hash the snapshot names, and caches nothing', async () => {
    const gun = '127.0.0.1:5000/app/altered';
    await notaryPublish(gun, 'v1', join(work, 'manifest.json'));
    const files = new Map<string, Buffer>();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
      files.set(
        `/v2/${gun}/_trust/tuf/${role}.json`,
        await httpsGetBody(`${notary.url}/v2/${gun}/_trust/tuf/${role}.json`),
      );
    }
    // The target now claims another digest; signatures and snapshot are the real ones.
    const targetsPath = `/v2/${gun}/_trust/tuf/targets.json`;
    const altered = JSON.parse((files.get(targetsPath) as Buffer).toString());
    altered.signed.targets.v1.hashes.sha256 = Buffer.alloc(32, 7).toString('base64');
    files.set(targetsPath, Buffer.from(JSON.stringify(altered)));

    const ca = await certificateAuthority(await mkdtemp(join(work, 'ca-')));
    const certificate = await ca.issue('altering-notary');
    const server = createServer(
      { cert: await readFile(certificate.certPath), key: await readFile(certificate.keyPath) },
      (request, response) => {
        const body = files.get(request.url ?? '');
        response.writeHead(body ? 200 : 404).end(body);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const trustDir = await freshDir();
    const repository = new NotaryRepository(gun, {
      serverUrl: `https://127.0.0.1:${port}`,
      caFile: ca.certPath,
      trustDir,
    });
    const error = await rejection(repository.lookup('v1'));
    expect(isTrustError(error, 'METADATA_HASH_MISMATCH')).toBe(true);
    expect((error as Error).message).toMatch(
      /^targets\.json of 127\.0\.0\.1:5000\/app\/altered \(https:\/\/127\.0\.0\.1:\d+\) \(\d+ bytes\) does not match the length and hashes snapshot\.json names for it/,
    );
    for (const role of ['timestamp', 'snapshot', 'targets']) {
      expect(
        existsSync(join(trustDir, 'tuf', '127.0.0.1:5000', 'app', 'altered', 'metadata', `${role}.json`)),
      ).toBe(false);
    }
    await repository.http.close();
    await new Promise((resolve) => server.close(resolve));
  });
});

async function httpsGetBody(url: string): Promise<Buffer> {
  const { get } = await import('node:https');
  const ca = await readFile(notary.caPath);
  return await new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject);
  });
}
