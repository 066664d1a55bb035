import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TrustError } from '../errors.js';
import { requireThreshold, validSigners } from './tuf-checks.js';
import { loadTufKey, splitPem, type VerificationKey } from './tuf-keys.js';
import type { RootMetadata, SignedMetadata } from './tuf-metadata.js';

/**
 * Notary's trust pinning (`notary_trust_pinning`, notary's `trust_pinning`): `certs` pins a
 * GUN's root to certificate IDs, `ca` a GUN prefix to CA files, `disable_tofu` refuses a GUN
 * that neither names. Otherwise the first root seen is trusted (TOFU) and later ones must be
 * signed by it.
 */
export interface TrustPinning {
  certs?: Record<string, string[]>;
  ca?: Record<string, string>;
  disable_tofu?: boolean;
}

/** Reads the configuration's `notary_trust_pinning` (an unknown object) into a TrustPinning. */
export function parseTrustPinning(value: unknown): TrustPinning {
  if (value === undefined || value === null) return {};
  const bad = (why: string): never => {
    throw new TrustError('METADATA_INVALID', `notary_trust_pinning: ${why}`, 'notary_trust_pinning');
  };
  if (typeof value !== 'object' || Array.isArray(value)) return bad('expected an object');
  const { certs, ca, disable_tofu } = value as Record<string, unknown>;
  const pinning: TrustPinning = {};
  if (certs !== undefined) {
    if (typeof certs !== 'object' || certs === null) return bad('"certs" must map a GUN to certificate IDs');
    for (const [gun, ids] of Object.entries(certs)) {
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
        bad(`"certs.${gun}" must be a list of IDs`);
    }
    pinning.certs = certs as Record<string, string[]>;
  }
  if (ca !== undefined) {
    if (
      typeof ca !== 'object' ||
      ca === null ||
      !Object.values(ca).every((path) => typeof path === 'string')
    ) {
      return bad('"ca" must map a GUN prefix to a CA file');
    }
    pinning.ca = ca as Record<string, string>;
  }
  if (disable_tofu !== undefined) {
    if (typeof disable_tofu !== 'boolean') return bad('"disable_tofu" must be true or false');
    pinning.disable_tofu = disable_tofu;
  }
  return pinning;
}

/** The keys of a root, by ID (unreadable ones are skipped: they cannot sign). */
export function rootKeys(root: SignedMetadata<RootMetadata>, subject: string): Map<string, VerificationKey> {
  const keys = new Map<string, VerificationKey>();
  for (const [id, key] of Object.entries(root.signed.keys)) {
    const loaded = loadTufKey(key, subject);
    if (loaded.id === id) keys.set(id, loaded);
  }
  return keys;
}

export function roleOf(root: SignedMetadata<RootMetadata>, name: string, subject: string) {
  const role = root.signed.roles[name];
  if (!role) throw new TrustError('METADATA_INVALID', `${subject} names no ${name} role`, subject);
  return role;
}

/**
 * Decides whether a root may be trusted: signed by its own root role (threshold); its root keys
 * certificates for the GUN, valid now; and vouched for by the trusted root it replaces (its
 * root role's threshold) or, on first use, by the pinning (certificate IDs, a CA) or TOFU.
 */
export async function validateRoot(
  root: SignedMetadata<RootMetadata>,
  gun: string,
  options: { trusted?: SignedMetadata<RootMetadata>; pinning: TrustPinning; now: number; subject: string },
): Promise<void> {
  const { subject, now } = options;
  const keys = rootKeys(root, subject);
  const role = roleOf(root, 'root', subject);
  const rootCertKeys = new Map<string, VerificationKey>();
  for (const id of role.keyids) {
    const key = keys.get(id);
    const leaf = key?.certificates?.[0];
    if (!key || !leaf) continue;
    if (commonName(leaf) !== gun) continue;
    if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) <= now) continue;
    rootCertKeys.set(id, key);
  }
  if (rootCertKeys.size < role.threshold) {
    throw new TrustError(
      'ROOT_UNTRUSTED',
      `${subject}: its root role has ${rootCertKeys.size} usable certificate(s) for "${gun}" (common name the GUN, valid now), ${role.threshold} needed`,
      subject,
    );
  }
  requireThreshold(root, role, rootCertKeys, subject);

  if (options.trusted) {
    const trustedRole = roleOf(options.trusted, 'root', 'the trusted root');
    const signers = validSigners(root, trustedRole, rootKeys(options.trusted, 'the trusted root'));
    if (signers.size < trustedRole.threshold) {
      throw new TrustError(
        'ROOT_UNTRUSTED',
        `${subject} (version ${root.signed.version}) is not signed by the root keys trusted for "${gun}" (version ${options.trusted.signed.version}): a root rotation the old keys did not sign, or another server's root`,
        subject,
      );
    }
    return;
  }

  const pinnedIds = options.pinning.certs?.[gun];
  const caPath = longestPrefixMatch(options.pinning.ca ?? {}, gun);
  let vouched: Map<string, VerificationKey> | undefined;
  let how = '';
  if (pinnedIds) {
    vouched = new Map([...rootCertKeys].filter(([id]) => pinnedIds.includes(id)));
    how = `the certificate IDs pinned for it (${pinnedIds.join(', ')})`;
  } else if (caPath) {
    const cas = await readCertificates(caPath, subject);
    vouched = new Map([...rootCertKeys].filter(([, key]) => chainsTo(key.certificates ?? [], cas, now)));
    how = `the CA pinned for it (${caPath})`;
  } else if (options.pinning.disable_tofu) {
    throw new TrustError(
      'ROOT_UNTRUSTED',
      `${subject}: no certificate or CA is pinned for "${gun}" and trust on first use is disabled (notary_trust_pinning.disable_tofu)`,
      subject,
    );
  }
  if (vouched && validSigners(root, role, vouched).size < role.threshold) {
    throw new TrustError(
      'ROOT_UNTRUSTED',
      `${subject} is signed by root key(s) ${[...validSigners(root, role, rootCertKeys)].join(', ')}, which ${how} do not vouch for: refusing "${gun}"`,
      subject,
    );
  }
}

function commonName(certificate: X509Certificate): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1];
}

function longestPrefixMatch(map: Record<string, string>, gun: string): string | undefined {
  const best = Object.keys(map)
    .filter((prefix) => gun.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return best === undefined ? undefined : map[best];
}

async function readCertificates(path: string, subject: string): Promise<X509Certificate[]> {
  try {
    return splitPem(await readFile(path, 'utf8')).map((pem) => new X509Certificate(pem));
  } catch (error) {
    throw new TrustError(
      'ROOT_UNTRUSTED',
      `${subject}: the pinned CA ${path} cannot be read: ${(error as Error).message}`,
      path,
      {
        cause: error,
      },
    );
  }
}

/** Whether a leaf (with the intermediates after it) is issued, through them, by one of the CAs. */
function chainsTo(chain: X509Certificate[], cas: X509Certificate[], now: number): boolean {
  const valid = (cert: X509Certificate) =>
    Date.parse(cert.validFrom) <= now && Date.parse(cert.validTo) > now;
  const issuedBy = (cert: X509Certificate, issuer: X509Certificate) =>
    cert.checkIssued(issuer) && cert.verify(issuer.publicKey) && valid(issuer);
  let current = chain[0];
  const intermediates = chain.slice(1);
  for (let depth = 0; current && depth <= intermediates.length; depth++) {
    if (!valid(current)) return false;
    const cert = current;
    if (cas.some((ca) => issuedBy(cert, ca))) return true;
    current = intermediates.find((each) => each.ca && issuedBy(cert, each));
  }
  return false;
}
