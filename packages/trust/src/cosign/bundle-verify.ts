import type { KeyObject } from 'node:crypto';
import {
  type Descriptor,
  type FetchOptions,
  fetchEmbeddedOrBytes,
  findReferrers,
  type ParsedManifest,
  parseManifest,
  type ReadOnlyTarget,
} from '@concil/oci-spec';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
} from './bundle-attachment.js';
import { parseSignStatement } from './bundle-statement.js';
import {
  type ExpectedClaim,
  keyUnknown,
  reject,
  type SignatureVerdict,
  type TrustedKey,
} from './check-signature.js';
import { digestMismatch, fetchAttachment } from './fetch-attachment.js';
import { keyFingerprint } from './keys.js';
import { repositoryOf } from './payload.js';

/**
 * Verifies the Sigstore bundles attached to a manifest as referrers (artifact type
 * `application/vnd.dev.sigstore.bundle.v0.3+json`): one verdict per bundle found.
 */
export async function verifyBundles(
  target: ReadOnlyTarget,
  manifest: Pick<Descriptor, 'digest'>,
  expected: ExpectedClaim,
  keys: readonly TrustedKey[],
  options: FetchOptions = {},
): Promise<SignatureVerdict[]> {
  const referrers = await findReferrers(target, manifest.digest, {
    ...options,
    artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
  });
  return Promise.all(
    referrers.map(async (referrer) => ({
      ...(await checkReferrer(target, referrer, expected, keys, options)),
      referrer: referrer.digest,
    })),
  );
}

async function checkReferrer(
  target: ReadOnlyTarget,
  referrer: Descriptor,
  expected: ExpectedClaim,
  keys: readonly TrustedKey[],
  options: FetchOptions,
): Promise<SignatureVerdict> {
  // A referrer listed in a tag schema index concil wrote carries its manifest in `data`.
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(
      await fetchEmbeddedOrBytes(target, referrer, options),
      referrer.mediaType,
      referrer.digest,
    );
  } catch (error) {
    if (!digestMismatch(error)) throw error;
    const where =
      referrer.data === undefined ? 'the registry served' : 'embedded in the referrers list (data)';
    return reject(
      'BUNDLE_INVALID',
      `the referrer manifest ${where} is not the manifest ${referrer.digest} names`,
    );
  }
  const layer =
    parsed.kind === 'manifest'
      ? parsed.manifest.layers.find((each) => each.mediaType === SIGSTORE_BUNDLE_MEDIA_TYPE)
      : undefined;
  if (!layer)
    return reject('BUNDLE_INVALID', `the referrer ${referrer.digest} holds no Sigstore bundle layer`);
  const bytes = await fetchAttachment(target, layer, 'bundle', options);
  if (!(bytes instanceof Uint8Array)) return bytes;
  return checkBundle(bytes, expected, keys);
}

/**
 * Checks one Sigstore bundle as `cosign verify --key … --new-bundle-format --insecure-ignore-tlog`
 * does: sigstore-js validates the bundle and verifies its DSSE signature with each trusted key
 * (transparency log entries and timestamps are not asked for: trust comes from the keys), then
 * the statement's claims: a cosign sign statement whose subject is this digest, and — when its
 * predicate names one, as concil's do — this repository.
 */
export async function checkBundle(
  bytes: Uint8Array,
  expected: ExpectedClaim,
  keys: readonly TrustedKey[],
): Promise<SignatureVerdict> {
  const { bundleFromJSON, isBundleWithDsseEnvelope, toSignedEntity, Verifier } = await import(
    './sigstore.js'
  );
  let bundle: ReturnType<typeof bundleFromJSON>;
  try {
    bundle = bundleFromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (error) {
    return reject('BUNDLE_INVALID', `the bundle is no valid Sigstore bundle (${(error as Error).message})`);
  }
  if (!isBundleWithDsseEnvelope(bundle)) {
    return reject(
      'BUNDLE_INVALID',
      'the bundle holds a message signature, not the DSSE envelope of an image signature',
    );
  }
  // Keys, not a log, are trusted here: the log entries and timestamps are not what is checked.
  const entity = { ...toSignedEntity(bundle), tlogEntries: [], timestamps: [] };
  const signer = keys.find(({ key }) => verifiesWith(Verifier, entity, key));
  if (!signer) return keyUnknown(keys, 'the bundle', 'the statement');
  const by = { name: signer.name, fingerprint: keyFingerprint(signer.key) };
  const envelope = bundle.content.dsseEnvelope;
  const claims =
    envelope.payloadType === IN_TOTO_PAYLOAD_TYPE ? parseSignStatement(envelope.payload) : undefined;
  if (!claims || claims.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    return {
      ...reject(
        'PAYLOAD_INVALID',
        `the bundle signed by ${by.name} holds ${claims ? `an attestation of type ${claims.predicateType}` : 'no in-toto statement'}, not a cosign image signature`,
      ),
      signer: by,
    };
  }
  const digest = claims.manifestDigest ?? claims.subjectDigests[0];
  if (
    !claims.subjectDigests.includes(expected.manifestDigest) ||
    (claims.manifestDigest ?? expected.manifestDigest) !== expected.manifestDigest
  ) {
    return {
      ...reject(
        'OTHER_DIGEST',
        `bundle signed by ${by.name} for ${digest}, not for ${expected.manifestDigest}`,
      ),
      signer: by,
    };
  }
  if (
    claims.dockerReference !== undefined &&
    repositoryOf(claims.dockerReference) !== repositoryOf(expected.identity)
  ) {
    return {
      ...reject(
        'OTHER_REPOSITORY',
        `bundle signed by ${by.name} for the repository ${claims.dockerReference}, not ${expected.identity}`,
      ),
      signer: by,
    };
  }
  return {
    valid: true,
    message: `bundle signed by ${by.name} for ${claims.dockerReference ?? expected.identity}@${expected.manifestDigest}`,
    signer: by,
  };
}

type VerifierClass = typeof import('./sigstore.js').Verifier;
type SignedEntity = import('./sigstore.js').SignedEntity;

function verifiesWith(Verifier: VerifierClass, entity: SignedEntity, key: KeyObject): boolean {
  const verifier = new Verifier(
    {
      certificateAuthorities: [],
      timestampAuthorities: [],
      tlogs: [],
      ctlogs: [],
      publicKey: () => ({ publicKey: key, validFor: () => true }),
    },
    { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 },
  );
  try {
    verifier.verify(entity);
    return true;
  } catch {
    return false; // VerificationError: this key did not make the signature
  }
}
