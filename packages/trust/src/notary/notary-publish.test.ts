import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate, startNotary, type TestNotary } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { rejection } from '../test-helpers/rejection.js';
import { publishNotaryTarget } from './notary-publish.js';

let notary: TestNotary;
let work: string;

function manifest(text: string) {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, annotations: { text } }));
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.byteLength };
}

/** `notary list GUN` of a fresh client: tag → [hex digest, size, role]. */
async function notaryList(gun: string): Promise<Record<string, [string, number, string]>> {
  const { stdout } = await notary.client(['list', gun]);
  const rows: Record<string, [string, number, string]> = {};
  for (const line of stdout.trim().split('\n').slice(2)) {
    const [name, digest, size, role] = line.trim().split(/\s+/);
    rows[name as string] = [digest as string, Number(size), role as string];
  }
  return rows;
}

beforeAll(async () => {
  notary = await startNotary();
  work = await mkdtemp(join(tmpdir(), 'concil-notary-publish-'));
});
afterAll(async () => {
  await notary?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('publishNotaryTarget against notary-server', () => {
  it('initialises a GUN and adds and updates targets that the notary CLI lists and looks up', async () => {
    const gun = '127.0.0.1:5000/pub/app';
    const trustDir = join(work, 'concil-trust');
    const one = manifest('one');
    const common = { serverUrl: notary.url, caFile: notary.caPath, trustDir, gun, passphrase: 'pw' };
    const first = await publishNotaryTarget({ ...common, tag: 'v1', ...one });
    expect(first).toEqual({ gun, name: 'v1', ...one, role: 'targets', initialized: true });
    // The root, targets and snapshot keys are kept encrypted; the timestamp key is the server's.
    const keyFiles = await readdir(join(trustDir, 'private'));
    expect(keyFiles).toHaveLength(3);
    for (const file of keyFiles) {
      expect(await readFile(join(trustDir, 'private', file), 'utf8')).toMatch(
        /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
      );
    }
    expect(await notaryList(gun)).toEqual({ v1: [one.digest.slice(7), one.size, 'targets'] });

    const two = manifest('two');
    const moved = manifest('one, rebuilt');
    expect((await publishNotaryTarget({ ...common, tag: 'v2', ...two })).initialized).toBe(false);
    await publishNotaryTarget({ ...common, tag: 'v1', ...moved });
    expect(await notaryList(gun)).toEqual({
      v1: [moved.digest.slice(7), moved.size, 'targets'],
      v2: [two.digest.slice(7), two.size, 'targets'],
    });
    const { stdout } = await notary.client(['lookup', gun, 'v2']);
    expect(stdout.trim()).toBe(`v2 ${two.digest} ${two.size}`);

    const wrong = await rejection(
      publishNotaryTarget({ ...common, passphrase: 'not-it', tag: 'v3', ...two }),
    );
    expect(isTrustError(wrong, 'KEY_PASSWORD_WRONG')).toBe(true);
    expect((wrong as Error).message).toMatch(
      /^the targets key [0-9a-f]{64} of 127\.0\.0\.1:5000\/pub\/app does not open with the passphrase given$/,
    );
    const { passphrase: _, ...withoutPassphrase } = common;
    const missing = await rejection(publishNotaryTarget({ ...withoutPassphrase, tag: 'v3', ...two }));
    expect(isTrustError(missing, 'KEY_PASSWORD_MISSING')).toBe(true);
    expect(Object.keys(await notaryList(gun))).toEqual(['v1', 'v2']);
  });

  it('initialises a GUN with a root certificate and key given, as concil publish --root-certificate', async () => {
    const gun = '127.0.0.1:5000/pub/rooted';
    const { certPath, keyPath } = await selfSignedCertificate(
      work,
      'root',
      ['extendedKeyUsage=codeSigning', 'basicConstraints=critical,CA:FALSE'],
      gun,
    );
    const rootKey = {
      certificatePem: await readFile(certPath, 'utf8'),
      privateKeyPem: await readFile(keyPath, 'utf8'),
    };
    const one = manifest('rooted');
    const trustDir = join(work, 'rooted-trust');
    await publishNotaryTarget({
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir,
      gun,
      tag: 'latest',
      ...one,
      rootKey,
    });
    // Only the targets and snapshot keys are kept: the root key stays with its owner.
    expect(await readdir(join(trustDir, 'private'))).toHaveLength(2);
    expect(await notaryList(gun)).toEqual({ latest: [one.digest.slice(7), one.size, 'targets'] });

    const other = join(work, 'other-trust');
    const refused = await rejection(
      publishNotaryTarget({
        serverUrl: notary.url,
        caFile: notary.caPath,
        trustDir: other,
        gun: '127.0.0.1:5000/pub/elsewhere',
        tag: 'latest',
        ...one,
        rootKey,
      }),
    );
    expect(isTrustError(refused, 'KEY_INVALID')).toBe(true);
    expect((refused as Error).message).toBe(
      `the root certificate is for "${gun}", not the GUN "127.0.0.1:5000/pub/elsewhere": Notary clients refuse it`,
    );
  });

  it("refuses to add a target without the GUN's targets key, naming where it looked", async () => {
    const gun = '127.0.0.1:5000/pub/foreign';
    await publishNotaryTarget({
      serverUrl: notary.url,
      caFile: notary.caPath,
      trustDir: join(work, 'owner'),
      gun,
      tag: 'v1',
      ...manifest('x'),
    });
    const stranger = join(work, 'stranger');
    const error = await rejection(
      publishNotaryTarget({
        serverUrl: notary.url,
        caFile: notary.caPath,
        trustDir: stranger,
        gun,
        tag: 'v1',
        ...manifest('y'),
      }),
    );
    expect(isTrustError(error, 'KEY_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain(`is in ${join(stranger, 'private')}`);
  });
});
