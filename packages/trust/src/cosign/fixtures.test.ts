import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeDigest } from '@concil/oci-spec';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSignature, type TrustedKey } from './check-signature.js';
import { readPublicKey } from './keys.js';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from './payload.js';

// Signatures made by the real cosign (containers/image's fixtures): see shared/fixtures/README.md.
const FIXTURES = join(import.meta.dirname, '..', '..', 'test-fixtures', 'cosign');
const IDENTITY = '192.168.64.2:5000/cosign-signed-single-sample';
const SIGNED_DIGEST = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';

interface StoredSignature {
  mimeType: string;
  payload: Buffer;
  signature: string | undefined;
}

/** One signature as containers/image stores it: `\0sigstore-json\n` then JSON. */
async function readSignature(path: string): Promise<StoredSignature> {
  const bytes = await readFile(join(FIXTURES, path));
  const prefix = Buffer.from('\0sigstore-json\n');
  expect(bytes.subarray(0, prefix.length).equals(prefix)).toBe(true);
  const json = JSON.parse(bytes.subarray(prefix.length).toString('utf8'));
  return {
    mimeType: json.mimeType,
    payload: Buffer.from(json.payload, 'base64'),
    signature: json.annotations?.[SIGNATURE_ANNOTATION],
  };
}

async function manifestDigest(dir: string): Promise<string> {
  return computeDigest(await readFile(join(FIXTURES, dir, 'manifest.json')));
}

let cosignKey: TrustedKey;
let cosign2Key: TrustedKey;

beforeAll(async () => {
  cosignKey = {
    name: 'cosign.pub',
    key: readPublicKey(await readFile(join(FIXTURES, 'cosign.pub'), 'utf8'), 'cosign.pub'),
  };
  cosign2Key = {
    name: 'cosign2.pub',
    key: readPublicKey(await readFile(join(FIXTURES, 'cosign2.pub'), 'utf8'), 'cosign2.pub'),
  };
});

async function verdictFor(dir: string, file: string, identity = IDENTITY, keys = [cosignKey]) {
  const signature = await readSignature(join(dir, file));
  expect(signature.mimeType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
  const expected = { manifestDigest: await manifestDigest(dir), identity };
  return checkSignature(signature.payload, signature.signature, expected, keys);
}

describe('classic signatures made by the real cosign', () => {
  it('valid: signed by cosign.pub for the repository and this manifest', async () => {
    expect(await manifestDigest('dir-img-cosign-valid')).toBe(SIGNED_DIGEST);
    const verdict = await verdictFor('dir-img-cosign-valid', 'signature-1');
    expect(verdict.valid).toBe(true);
    expect(verdict.signer?.name).toBe('cosign.pub');
    expect(verdict.message).toBe(`signed by cosign.pub for ${IDENTITY}@${SIGNED_DIGEST}`);
    expect(verdict.payload).toEqual({
      dockerReference: IDENTITY,
      manifestDigest: SIGNED_DIGEST,
      optional: null,
    });
  });

  it('valid-2: both signatures valid', async () => {
    for (const file of ['signature-1', 'signature-2']) {
      expect((await verdictFor('dir-img-cosign-valid-2', file)).valid).toBe(true);
    }
  });

  it('valid-with-tag: a payload naming repository:tag verifies for that reference', async () => {
    const verdict = await verdictFor(
      'dir-img-cosign-valid-with-tag',
      'signature-1',
      '192.168.64.2:5000/skopeo-signed:tag',
    );
    expect(verdict.valid).toBe(true);
    expect(verdict.payload?.dockerReference).toBe('192.168.64.2:5000/skopeo-signed:tag');
    expect(verdict.payload?.optional).toEqual({
      creator: 'containers/image 5.21.2-dev',
      timestamp: 1657296609,
    });
  });

  it('valid-with-tag is refused for another repository (OTHER_REPOSITORY)', async () => {
    const verdict = await verdictFor('dir-img-cosign-valid-with-tag', 'signature-1', IDENTITY);
    expect(verdict.valid).toBe(false);
    expect(verdict.rejection).toBe('OTHER_REPOSITORY');
    expect(verdict.message).toBe(
      `signed by cosign.pub for the repository 192.168.64.2:5000/skopeo-signed:tag, not ${IDENTITY}`,
    );
  });

  it('valid-with-tag verifies for its repository without the tag (verifying by digest)', async () => {
    const verdict = await verdictFor(
      'dir-img-cosign-valid-with-tag',
      'signature-1',
      '192.168.64.2:5000/skopeo-signed',
    );
    expect(verdict.valid).toBe(true);
  });

  it('modified manifest: the signature is good, but for the manifest before the change (OTHER_DIGEST)', async () => {
    const dir = 'dir-img-cosign-modified-manifest';
    const verdict = await verdictFor(dir, 'signature-1');
    expect(verdict.valid).toBe(false);
    expect(verdict.rejection).toBe('OTHER_DIGEST');
    expect(verdict.signer?.name).toBe('cosign.pub');
    expect(verdict.message).toBe(
      `signed by cosign.pub for ${SIGNED_DIGEST}, not for ${await manifestDigest(dir)}`,
    );
  });

  it('manifest digest error: the payload names another digest (OTHER_DIGEST)', async () => {
    const verdict = await verdictFor('dir-img-cosign-manifest-digest-error', 'signature-1');
    expect(verdict.valid).toBe(false);
    expect(verdict.rejection).toBe('OTHER_DIGEST');
  });

  it('mixed: signature-1 is not made by cosign.pub (KEY_UNKNOWN), signature-2 is valid', async () => {
    const first = await verdictFor('dir-img-cosign-mixed', 'signature-1');
    expect(first.valid).toBe(false);
    expect(first.rejection).toBe('KEY_UNKNOWN');
    expect(first.signer).toBeUndefined();
    expect(first.message).toBe(
      'no trusted key (cosign.pub) verifies the signature: another key made it, or the payload was altered',
    );
    expect((await verdictFor('dir-img-cosign-mixed', 'signature-2')).valid).toBe(true);
  });

  it('cosign2.pub verifies none of the signatures cosign.pub made', async () => {
    const verdict = await verdictFor('dir-img-cosign-valid', 'signature-1', IDENTITY, [cosign2Key]);
    expect(verdict.rejection).toBe('KEY_UNKNOWN');
  });

  it('with both keys trusted, the signer is named by the key that verified', async () => {
    const verdict = await verdictFor('dir-img-cosign-valid', 'signature-1', IDENTITY, [
      cosign2Key,
      cosignKey,
    ]);
    expect(verdict.signer?.name).toBe('cosign.pub');
  });

  it('unknown-cosign-key.signature: refused with cosign.pub (KEY_UNKNOWN)', async () => {
    const signature = await readSignature('unknown-cosign-key.signature');
    const verdict = checkSignature(
      signature.payload,
      signature.signature,
      { manifestDigest: SIGNED_DIGEST, identity: IDENTITY },
      [cosignKey],
    );
    expect(verdict.rejection).toBe('KEY_UNKNOWN');
  });

  it('other attachment: a text/plain layer is no simple-signing layer', async () => {
    const attachment = await readSignature('dir-img-cosign-other-attachment/signature-1');
    expect(attachment.mimeType).toBe('text/plain');
  });

  it('a payload altered by one byte no longer verifies', async () => {
    const signature = await readSignature('dir-img-cosign-valid/signature-1');
    const altered = Buffer.from(signature.payload);
    altered[altered.length - 2] = 0x20;
    const verdict = checkSignature(
      altered,
      signature.signature,
      { manifestDigest: SIGNED_DIGEST, identity: IDENTITY },
      [cosignKey],
    );
    expect(verdict.rejection).toBe('KEY_UNKNOWN');
  });

  it('a layer without signature annotation is SIGNATURE_MISSING', async () => {
    const signature = await readSignature('dir-img-cosign-valid/signature-1');
    const verdict = checkSignature(
      signature.payload,
      undefined,
      { manifestDigest: SIGNED_DIGEST, identity: IDENTITY },
      [cosignKey],
    );
    expect(verdict.rejection).toBe('SIGNATURE_MISSING');
  });
});
