import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  X509Certificate,
} from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Credentials } from '@concil/registry-client';
import writeFileAtomic from 'write-file-atomic';
import { TrustError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { NotaryHttp } from './notary-http.js';
import { NotaryRepository, type TrustedTarget } from './notary-repository.js';
import { generateRootKey } from './root-certificate.js';
import type { TrustPinning } from './root-trust.js';
import { type TufKey, tufKeyId } from './tuf-keys.js';
import type { FileMeta } from './tuf-metadata.js';

export interface PublishNotaryTargetOptions {
  /** The Notary server (`remote_servers[host].notary`). */
  serverUrl: string;
  caFile?: string;
  /** Credentials for a Notary server behind token or basic auth (the registry's; `notaryCredentials`). */
  credentials?: () => Promise<Credentials | undefined>;
  /** `notary_path`: the keys concil makes live in `private/<key id>.key`, trusted metadata under `tuf/`. */
  trustDir: string;
  /** `host/repository`, as Docker names GUNs. */
  gun: string;
  tag: string;
  /** The manifest's digest (sha256) and size, as pushed. */
  digest: string;
  size: number;
  /** Encrypts the private keys concil writes (PKCS#8, AES-256-CBC); they are written in the clear (mode 0600) without one. */
  passphrase?: string;
  /**
   * The root key to initialise a GUN with (`--root-certificate`/`--root-key`): a certificate
   * whose common name is the GUN, and its private key (PEM). Without it, concil makes one and
   * keeps it in `private/`.
   */
  rootKey?: { certificatePem: string; privateKeyPem: string; passphrase?: string };
  pinning?: TrustPinning | unknown;
  now?: () => number;
}

export interface PublishNotaryTargetResult extends TrustedTarget {
  /** Whether the GUN was initialised (root, targets and snapshot keys made) by this call. */
  initialized: boolean;
}

const YEAR = 365 * 24 * 3600 * 1000;

/**
 * Signs `tag` → (digest, size) into a GUN's Notary trust data, as `notary add` + `notary publish`
 * do: on first use it initialises the GUN (root, targets and snapshot keys; the timestamp key is
 * the server's), otherwise it verifies the current trust data and adds or updates the target
 * with the targets and snapshot keys kept under `trustDir`. The result is read back verified.
 */
export async function publishNotaryTarget(
  options: PublishNotaryTargetOptions,
): Promise<PublishNotaryTargetResult> {
  const now = options.now ?? Date.now;
  const sha256 = /^sha256:([0-9a-f]{64})$/.exec(options.digest)?.[1];
  if (!sha256) {
    throw new TrustError(
      'METADATA_INVALID',
      `${options.digest} is not a sha256 digest: Notary targets need one`,
      options.digest,
    );
  }
  const target: FileMeta = {
    hashes: { sha256: Buffer.from(sha256, 'hex').toString('base64') },
    length: options.size,
  };
  const http = new NotaryHttp(options.serverUrl, {
    ...(options.caFile && { caFile: options.caFile }),
    ...(options.credentials && { credentials: options.credentials }),
  });
  const repository = new NotaryRepository(options.gun, {
    serverUrl: options.serverUrl,
    http,
    trustDir: options.trustDir,
    pinning: options.pinning,
    now,
  });
  const keys = new KeyStore(options.trustDir, options.passphrase);
  const tufPath = (role: string) => `v2/${options.gun}/_trust/tuf/${role}`;
  try {
    const existing = await http.get(tufPath('root.json'));
    let initialized = false;
    if (!existing) {
      await initialize(options, http, keys, target, now(), tufPath);
      initialized = true;
    } else {
      const trusted = await repository.update();
      const targetsKey = await keys.signerFor(
        trusted.root.signed.roles.targets?.keyids ?? [],
        trusted.root.signed.keys,
        'targets',
        options.gun,
      );
      const snapshotRole = trusted.root.signed.roles.snapshot?.keyids ?? [];
      const snapshotKey = await keys.signerFor(
        snapshotRole,
        trusted.root.signed.keys,
        'snapshot',
        options.gun,
        true,
      );
      const expires = goTime(now() + 3 * YEAR);
      const targets = signedFile(
        {
          ...(trusted.targets.signedValue as object),
          version: trusted.targets.signed.version + 1,
          expires,
          targets: { ...trusted.targets.signed.targets, [options.tag]: target },
        },
        [targetsKey],
      );
      const files: Record<string, Uint8Array> = { targets };
      // A snapshot key the server holds (notary key rotate snapshot -r): the server re-signs it.
      if (snapshotKey) {
        files.snapshot = signedFile(
          {
            ...(trusted.snapshot.signedValue as object),
            version: trusted.snapshot.signed.version + 1,
            expires,
            meta: { ...trusted.snapshot.signed.meta, targets: fileMeta(targets) },
          },
          [snapshotKey],
        );
      }
      await http.postMetadata(tufPath(''), files);
    }
    return { ...(await repository.lookup(options.tag)), initialized };
  } finally {
    await http.close();
  }
}

async function initialize(
  options: PublishNotaryTargetOptions,
  http: NotaryHttp,
  keys: KeyStore,
  target: FileMeta,
  now: number,
  tufPath: (role: string) => string,
): Promise<void> {
  const root = options.rootKey
    ? readRootKey(options.rootKey, options.gun, now)
    : await newRootKey(options.gun, now, keys);
  const targets = newKey();
  const snapshot = newKey();
  await keys.save(targets);
  await keys.save(snapshot);
  const timestampBytes = await http.get(tufPath('timestamp.key'));
  if (!timestampBytes) {
    throw new TrustError(
      'NOTARY_UNAVAILABLE',
      `${http.url} has no timestamp key for ${options.gun}`,
      options.gun,
    );
  }
  const timestamp = JSON.parse(Buffer.from(timestampBytes).toString('utf8')) as TufKey;
  const timestampId = tufKeyId(timestamp);
  const role = (id: string) => ({ keyids: [id], threshold: 1 });
  const rootFile = signedFile(
    {
      _type: 'Root',
      consistent_snapshot: false,
      expires: goTime(now + 10 * YEAR),
      keys: {
        [root.id]: root.tufKey,
        [targets.id]: targets.tufKey,
        [snapshot.id]: snapshot.tufKey,
        [timestampId]: {
          keytype: timestamp.keytype,
          keyval: { private: null, public: timestamp.keyval.public },
        },
      },
      roles: {
        root: role(root.id),
        targets: role(targets.id),
        snapshot: role(snapshot.id),
        timestamp: role(timestampId),
      },
      version: 1,
    },
    [root],
  );
  const expires = goTime(now + 3 * YEAR);
  const targetsFile = signedFile(
    {
      _type: 'Targets',
      delegations: { keys: {}, roles: [] },
      expires,
      targets: { [options.tag]: target },
      version: 1,
    },
    [targets],
  );
  const snapshotFile = signedFile(
    {
      _type: 'Snapshot',
      expires,
      meta: { root: fileMeta(rootFile), targets: fileMeta(targetsFile) },
      version: 1,
    },
    [snapshot],
  );
  await http.postMetadata(tufPath(''), { root: rootFile, targets: targetsFile, snapshot: snapshotFile });
}

/** A private key with its TUF public key and ID. */
interface SigningKey {
  id: string;
  tufKey: TufKey;
  privateKey: KeyObject;
}

function newKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return withTufKey(
    privateKey,
    'ecdsa',
    publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  );
}

function withTufKey(privateKey: KeyObject, keytype: string, publicBase64: string): SigningKey {
  const tufKey: TufKey = { keytype, keyval: { private: null, public: publicBase64 } };
  return { id: tufKeyId(tufKey), tufKey, privateKey };
}

async function newRootKey(gun: string, now: number, keys: KeyStore): Promise<SigningKey> {
  const { privateKey, certificatePem } = await generateRootKey(gun, now);
  const key = withTufKey(privateKey, 'ecdsa-x509', goPem(new X509Certificate(certificatePem)));
  await keys.save(key);
  return key;
}

function readRootKey(
  rootKey: NonNullable<PublishNotaryTargetOptions['rootKey']>,
  gun: string,
  now: number,
): SigningKey {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(rootKey.certificatePem);
    privateKey = createPrivateKey({
      key: rootKey.privateKeyPem,
      ...(rootKey.passphrase !== undefined && { passphrase: rootKey.passphrase }),
    });
  } catch (error) {
    throw new TrustError(
      'KEY_INVALID',
      `the root certificate or key cannot be read: ${(error as Error).message}`,
      gun,
      { cause: error },
    );
  }
  const commonName = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
  if (commonName !== gun) {
    throw new TrustError(
      'KEY_INVALID',
      `the root certificate is for "${commonName}", not the GUN "${gun}": Notary clients refuse it`,
      gun,
    );
  }
  if (Date.parse(certificate.validTo) <= now) {
    throw new TrustError(
      'KEY_INVALID',
      `the root certificate for "${gun}" expired on ${certificate.validTo}`,
      gun,
    );
  }
  if (
    !createPublicKey(privateKey)
      .export({ format: 'der', type: 'spki' })
      .equals(certificate.publicKey.export({ format: 'der', type: 'spki' }))
  ) {
    throw new TrustError(
      'KEY_INVALID',
      `the root key is not the key of the root certificate for "${gun}"`,
      gun,
    );
  }
  const keytype = privateKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : 'ecdsa-x509';
  return withTufKey(privateKey, keytype, goPem(certificate));
}

/**
 * A certificate as Go's pem.Encode writes it, base64: notary-server derives the root key's ID
 * from exactly these bytes, so other line lengths or endings would not match the ID.
 */
function goPem(certificate: X509Certificate): string {
  const lines = certificate.raw.toString('base64').match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
  return Buffer.from(pem).toString('base64');
}

/**
 * The metadata file, each key's signature over the canonical `signed`, laid out byte for byte as
 * notary's Go code writes it (`signed` first, then `signatures` with keyid, method, sig): the
 * server hashes its own serialisation when it makes the timestamp, so ours must be the same.
 */
function signedFile(signed: object, signers: SigningKey[]): Uint8Array {
  const data = Buffer.from(canonicalJson(signed));
  const signatures = signers.map((key) => {
    const rsa = key.privateKey.asymmetricKeyType === 'rsa';
    const signature = rsa
      ? sign('sha256', data, {
          key: key.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        })
      : sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return { keyid: key.id, method: rsa ? 'rsapss' : 'ecdsa', sig: signature.toString('base64') };
  });
  const signatureList = signatures.map(
    ({ keyid, method, sig }) => `{"keyid":${JSON.stringify(keyid)},"method":"${method}","sig":"${sig}"}`,
  );
  return Buffer.from(`{"signed":${canonicalJson(signed)},"signatures":[${signatureList.join(',')}]}`);
}

/**
 * A time as Go's RFC 3339 (nano) writes it, trailing zeros of the fraction dropped: notary-server
 * re-serialises what it parsed when it hashes a role, so the text must round-trip.
 */
function goTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

function fileMeta(bytes: Uint8Array): FileMeta {
  return {
    hashes: {
      sha256: createHash('sha256').update(bytes).digest('base64'),
      sha512: createHash('sha512').update(bytes).digest('base64'),
    },
    length: bytes.byteLength,
  };
}

/** The private keys concil keeps under `<notary_path>/private/<key id>.key` (PKCS#8 PEM). */
class KeyStore {
  constructor(
    readonly trustDir: string,
    readonly passphrase: string | undefined,
  ) {}

  async save(key: SigningKey): Promise<void> {
    const dir = join(this.trustDir, 'private');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pem = key.privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      ...(this.passphrase !== undefined && { cipher: 'aes-256-cbc', passphrase: this.passphrase }),
    });
    await writeFileAtomic(join(dir, `${key.id}.key`), pem, { mode: 0o600 });
  }

  /** The first of a role's keys held here, as a signing key; undefined (when `optional`) or KEY_NOT_FOUND. */
  async signerFor(
    ids: string[],
    keys: Record<string, TufKey>,
    role: string,
    gun: string,
    optional?: false,
  ): Promise<SigningKey>;
  async signerFor(
    ids: string[],
    keys: Record<string, TufKey>,
    role: string,
    gun: string,
    optional: true,
  ): Promise<SigningKey | undefined>;
  async signerFor(
    ids: string[],
    keys: Record<string, TufKey>,
    role: string,
    gun: string,
    optional = false,
  ): Promise<SigningKey | undefined> {
    for (const id of ids) {
      const tufKey = keys[id];
      let pem: string;
      try {
        pem = await readFile(join(this.trustDir, 'private', `${id}.key`), 'utf8');
      } catch {
        continue;
      }
      if (!tufKey) continue;
      try {
        const privateKey = createPrivateKey({
          key: pem,
          ...(this.passphrase !== undefined && { passphrase: this.passphrase }),
        });
        return { id, tufKey, privateKey };
      } catch (error) {
        const [code, why] =
          this.passphrase === undefined
            ? (['KEY_PASSWORD_MISSING', 'is encrypted: give the passphrase it was written with'] as const)
            : (['KEY_PASSWORD_WRONG', 'does not open with the passphrase given'] as const);
        throw new TrustError(code, `the ${role} key ${id} of ${gun} ${why}`, id, { cause: error });
      }
    }
    if (optional) return undefined;
    throw new TrustError(
      'KEY_NOT_FOUND',
      `none of the ${role} keys of ${gun} (${ids.join(', ')}) is in ${join(this.trustDir, 'private')}: publish from where the GUN was initialised, or import its ${role} key there`,
      gun,
    );
  }
}
