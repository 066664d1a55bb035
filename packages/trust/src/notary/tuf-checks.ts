import { createHash } from 'node:crypto';
import { TrustError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { type VerificationKey, verifyTufSignature } from './tuf-keys.js';
import type { FileMeta, RoleKeys, SignedMetadata } from './tuf-metadata.js';

/**
 * The key IDs of `role` whose signatures over the canonical `signed` verify; each key counts
 * once, and only the role's keys count.
 */
export function validSigners(
  metadata: SignedMetadata<unknown>,
  role: RoleKeys,
  keys: ReadonlyMap<string, VerificationKey>,
): Set<string> {
  const data = Buffer.from(canonicalJson(metadata.signedValue));
  const signers = new Set<string>();
  for (const signature of metadata.signatures) {
    const key = keys.get(signature.keyid);
    if (!key || !role.keyids.includes(signature.keyid) || signers.has(signature.keyid)) continue;
    if (verifyTufSignature(key, signature.method, data, Buffer.from(signature.sig, 'base64'))) {
      signers.add(signature.keyid);
    }
  }
  return signers;
}

/** Throws METADATA_SIGNATURE_INVALID unless the role's threshold of its keys signed. */
export function requireThreshold(
  metadata: SignedMetadata<unknown>,
  role: RoleKeys,
  keys: ReadonlyMap<string, VerificationKey>,
  subject: string,
): void {
  const signers = validSigners(metadata, role, keys);
  if (signers.size < role.threshold) {
    throw new TrustError(
      'METADATA_SIGNATURE_INVALID',
      `${subject} has ${signers.size} valid signature(s) of its role's keys, ${role.threshold} needed: it was altered or signed by a key the role does not name`,
      subject,
    );
  }
}

/** Throws METADATA_EXPIRED when `expires` is past. */
export function requireUnexpired(
  metadata: SignedMetadata<{ expires: string }>,
  now: number,
  subject: string,
): void {
  if (Date.parse(metadata.signed.expires) <= now) {
    throw new TrustError(
      'METADATA_EXPIRED',
      `${subject} expired at ${metadata.signed.expires}: the publisher must re-sign it (or the server refresh its timestamp)`,
      subject,
    );
  }
}

/** Throws METADATA_ROLLBACK when a version is older than the trusted one. */
export function requireNoRollback(version: number, trusted: number | undefined, subject: string): void {
  if (trusted !== undefined && version < trusted) {
    throw new TrustError(
      'METADATA_ROLLBACK',
      `${subject} is version ${version}, older than the trusted version ${trusted}: the server serves stale metadata`,
      subject,
    );
  }
}

const knownHashes = ['sha256', 'sha512'] as const;

/** Whether bytes have the length and every known hash a parent role names (at least one). */
export function matchesFileMeta(bytes: Uint8Array, meta: FileMeta): boolean {
  if (bytes.byteLength !== meta.length) return false;
  const present = knownHashes.filter((name) => meta.hashes[name] !== undefined);
  return (
    present.length > 0 &&
    present.every((name) => createHash(name).update(bytes).digest('base64') === meta.hashes[name])
  );
}

/** Throws METADATA_HASH_MISMATCH unless bytes match what the parent role names. */
export function requireFileMeta(bytes: Uint8Array, meta: FileMeta, subject: string, parent: string): void {
  if (!matchesFileMeta(bytes, meta)) {
    throw new TrustError(
      'METADATA_HASH_MISMATCH',
      `${subject} (${bytes.byteLength} bytes) does not match the length and hashes ${parent} names for it (${meta.length} bytes): it was altered or replaced`,
      subject,
    );
  }
}
