import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNotary, type TestNotary } from '@concil/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { rejection } from '../test-helpers/rejection.js';
import { notaryCredentials } from './notary-config.js';
import { publishNotaryTarget } from './notary-publish.js';
import { NotaryVerifier } from './notary-verifier.js';

let notary: TestNotary;
let work: string;
const registry = '127.0.0.1:5000';
const gun = `${registry}/private/app`;
const digest = `sha256:${createHash('sha256').update('manifest').digest('hex')}`;

beforeAll(async () => {
  notary = await startNotary({ auth: 'token', users: { alice: 'wonderland' } });
  work = await mkdtemp(join(tmpdir(), 'concil-notary-auth-'));
});
afterAll(async () => {
  await notary?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function config(auths: Record<string, unknown>) {
  return {
    cache_dir: join(work, 'cache'),
    notary_path: join(work, `trust-${Math.random().toString(36).slice(2)}`),
    cafile: notary.caPath,
    remote_servers: { [registry]: { notary: notary.url } },
    auths,
  };
}

describe('a Notary server behind token auth', () => {
  it("publishes and verifies with the registry's credentials, each scope's token asked once", async () => {
    const withCredentials = config({ [registry]: { username: 'alice', password: 'wonderland' } });
    await publishNotaryTarget({
      serverUrl: notary.url,
      caFile: notary.caPath,
      credentials: notaryCredentials(withCredentials, registry),
      trustDir: join(work, 'publisher'),
      gun,
      tag: 'v1',
      digest,
      size: 8,
    });
    const verifier = NotaryVerifier.fromConfig(withCredentials);
    expect(await verifier.resolveTag(`${gun}:v1`)).toMatchObject({ digest, size: 8 });
    const scopes = notary.tokenIssuer?.requestedScopes().map((each) => each.join(' '));
    expect(scopes?.filter((scope) => scope === `repository:${gun}:pull`)).toHaveLength(2); // publisher, verifier
    expect(scopes?.filter((scope) => scope === `repository:${gun}:push,pull`)).toHaveLength(1);
    await verifier.close();
  });

  it('says to log in when the registry has no credentials, and whose credentials fall short', async () => {
    const verifier = NotaryVerifier.fromConfig(config({}));
    const error = await rejection(verifier.resolveTag(`${gun}:v1`));
    expect(isTrustError(error, 'NOTARY_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^https://127\\.0\\.0\\.1:\\d+/v2/${gun}/_trust/tuf/root\\.json refuses repository:${gun}:pull \\(401\\): no credentials for this registry; log in first$`,
      ),
    );
    await verifier.close();

    const wrong = NotaryVerifier.fromConfig(
      config({ [registry]: { username: 'alice', password: 'looking-glass' } }),
    );
    const refused = await rejection(wrong.resolveTag(`${gun}:v1`));
    expect(isTrustError(refused, 'NOTARY_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).toMatch(
      /^the token service http:\/\/127\.0\.0\.1:\d+ gave no token for repository:.*:pull \(401\)$/,
    );
    await wrong.close();
  });
});
