import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTrustError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { loadTufKey, tufKeyId, verifyTufSignature } from './tuf-keys.js';

function spkiBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}

describe('canonicalJson', () => {
  it('sorts keys, drops whitespace and escapes strings as Go does', () => {
    const value = { b: 1, a: '<&>\u2028\n\t\u0001"\\é', c: [true, null, { z: 0, y: 'x' }] };
    expect(canonicalJson(value)).toBe(
      '{"a":"\\u003c\\u0026\\u003e\\u2028\\n\\t\\u0001\\"\\\\é","b":1,"c":[true,null,{"y":"x","z":0}]}',
    );
  });

  it('refuses numbers TUF metadata never holds', () => {
    expect(() => canonicalJson({ length: 1.5 })).toThrow(/integers only/);
  });
});

describe('TUF keys and signatures', () => {
  const data = Buffer.from(canonicalJson({ _type: 'Targets', version: 3 }));

  it('checks ecdsa (r‖s), rsapss, rsa (PKCS#1 v1.5) and ed25519 signatures, each only with its own kind of key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    const ecKey = loadTufKey({ keytype: 'ecdsa', keyval: { public: spkiBase64(ec.publicKey) } }, 'test');
    const rsaKey = loadTufKey({ keytype: 'rsa', keyval: { public: spkiBase64(rsa.publicKey) } }, 'test');
    const rawEd = ed.publicKey.export({ format: 'jwk' }).x as string;
    const edKey = loadTufKey(
      { keytype: 'ed25519', keyval: { public: Buffer.from(rawEd, 'base64url').toString('base64') } },
      'test',
    );

    const ecSignature = sign('sha256', data, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(ecSignature.byteLength).toBe(64);
    expect(verifyTufSignature(ecKey, 'ecdsa', data, ecSignature)).toBe(true);
    expect(verifyTufSignature(ecKey, 'ecdsa', Buffer.from(`${data} `), ecSignature)).toBe(false);
    expect(verifyTufSignature(rsaKey, 'ecdsa', data, ecSignature)).toBe(false);

    const pss = sign('sha256', data, {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
    expect(verifyTufSignature(rsaKey, 'rsapss', data, pss)).toBe(true);
    expect(verifyTufSignature(rsaKey, 'rsa', data, pss)).toBe(false);
    const pkcs1 = sign('sha256', data, rsa.privateKey);
    expect(verifyTufSignature(rsaKey, 'rsa', data, pkcs1)).toBe(true);

    expect(verifyTufSignature(edKey, 'ed25519', data, sign(null, data, ed.privateKey))).toBe(true);
    expect(verifyTufSignature(edKey, 'unknown-method', data, sign(null, data, ed.privateKey))).toBe(false);
  });

  it('names a key by the sha256 of its canonical JSON with private null, as notary does', () => {
    // A key of a root.json that notary-server and the notary CLI wrote, and the ID they gave it.
    const key = {
      keytype: 'ecdsa',
      keyval: {
        private: null,
        public:
          'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEs3EkT2bcNwOSolhH3FHxtU7VyB2PL54zHCtiHUW9ZkZA+cCKQMSs2PxKQ2FI/kosyC1NUdGZubUerEGgPfg6iw==',
      },
    };
    expect(tufKeyId(key)).toBe('368f1c861c24a5b83fc245c9bee50d89664d3d4b10269b92b52f6879437f1154');
  });

  it('refuses a key type Notary does not write, naming the file', () => {
    let error: unknown;
    try {
      loadTufKey({ keytype: 'dsa', keyval: { public: 'AAAA' } }, 'root.json of a/b');
    } catch (caught) {
      error = caught;
    }
    expect(isTrustError(error, 'METADATA_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(
      /^root\.json of a\/b: key [0-9a-f]{64} cannot be read: key type "dsa"/,
    );
  });
});
