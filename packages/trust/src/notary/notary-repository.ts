import { isTrustError, TrustError } from '../errors.js';
import { NotaryHttp, type NotaryHttpOptions } from './notary-http.js';
import { parseTrustPinning, roleOf, rootKeys, type TrustPinning, validateRoot } from './root-trust.js';
import { TrustCache } from './trust-cache.js';
import {
  matchesFileMeta,
  requireFileMeta,
  requireNoRollback,
  requireThreshold,
  requireUnexpired,
} from './tuf-checks.js';
import { loadTufKey, type VerificationKey } from './tuf-keys.js';
import {
  type FileMeta,
  parseMetadata,
  type RootMetadata,
  type SignedMetadata,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
} from './tuf-metadata.js';

export interface NotaryRepositoryOptions {
  /** The Notary server, e.g. `https://notary.example.com:4443`. */
  serverUrl: string;
  /** Extra CAs (PEM file) for the server's TLS. */
  caFile?: string;
  /** The local trust cache (`notary_path`): trusted metadata is kept under `tuf/<gun>/metadata/`. */
  trustDir: string;
  /** `notary_trust_pinning`, as the configuration holds it or parsed. */
  pinning?: TrustPinning | unknown;
  /** The clock metadata expiry is checked against (ms since the epoch). */
  now?: () => number;
  /** Credentials for a server behind token or basic auth (see `notaryCredentials`). */
  credentials?: NotaryHttpOptions['credentials'];
  /** A connection to share between repositories of one server. */
  http?: NotaryHttp;
}

/** A signed target: what a tag stands for, as the GUN's targets (or `targets/releases`) sign it. */
export interface TrustedTarget {
  gun: string;
  name: string;
  digest: `sha256:${string}`;
  size: number;
  /** The role that signed it: `targets/releases` or `targets`. */
  role: string;
}

/** The verified metadata of a GUN after an update. */
export interface TrustedMetadata {
  root: SignedMetadata<RootMetadata>;
  timestamp: SignedMetadata<TimestampMetadata>;
  snapshot: SignedMetadata<SnapshotMetadata>;
  targets: SignedMetadata<TargetsMetadata>;
}

/** Roles searched for a tag, in Docker's order: the releases delegation first, then targets. */
export const TARGET_ROLES = ['targets/releases', 'targets'] as const;

/**
 * A TUF client for one GUN of a Notary server: fetches and verifies root (pinning, TOFU,
 * rotation), timestamp, snapshot, targets and delegations, keeps what verified in the trust
 * cache, and answers which digest a tag is signed for.
 */
export class NotaryRepository {
  readonly http: NotaryHttp;
  readonly #cache: TrustCache;
  readonly #pinning: TrustPinning;
  readonly #now: () => number;

  constructor(
    readonly gun: string,
    options: NotaryRepositoryOptions,
  ) {
    this.http =
      options.http ??
      new NotaryHttp(options.serverUrl, {
        ...(options.caFile && { caFile: options.caFile }),
        ...(options.credentials && { credentials: options.credentials }),
      });
    this.#cache = new TrustCache(options.trustDir, gun);
    this.#pinning = parseTrustPinning(options.pinning);
    this.#now = options.now ?? Date.now;
  }

  /** Brings the trusted metadata up to date with the server; throws when anything fails to verify. */
  async update(): Promise<TrustedMetadata> {
    const cachedBytes = await this.#cache.read('root');
    let root = cachedBytes && parseMetadata(cachedBytes, 'Root', this.#subject('root', 'cached'));
    const fromCache =
      Boolean(root) && Date.parse((root as SignedMetadata<RootMetadata>).signed.expires) > this.#now();
    if (!root || !fromCache) root = await this.#fetchRoot(root || undefined);
    try {
      return await this.#updateFrom(root);
    } catch (error) {
      // The cached root may be outdated (rotated keys): fetch the server's and try once more.
      const retry =
        isTrustError(error, 'METADATA_SIGNATURE_INVALID') || isTrustError(error, 'METADATA_HASH_MISMATCH');
      if (!fromCache || !retry) throw error;
      return await this.#updateFrom(await this.#fetchRoot(root));
    }
  }

  /** The target a tag is signed for, after an update. */
  async lookup(tag: string): Promise<TrustedTarget> {
    const trusted = await this.update();
    for (const role of TARGET_ROLES) {
      const metadata = await this.#roleTargets(trusted, role);
      const target = metadata?.signed.targets[tag];
      if (target && pathAllowed(trusted.targets, role, tag)) return this.#trustedTarget(tag, target, role);
    }
    throw new TrustError(
      'TARGET_NOT_FOUND',
      `"${tag}" is not signed in the trust data of ${this.gun} on ${this.http.url} (neither targets/releases nor targets name it)`,
      `${this.gun}:${tag}`,
    );
  }

  /** Every signed target of the GUN (releases first), after an update. */
  async listTargets(): Promise<TrustedTarget[]> {
    const trusted = await this.update();
    const found = new Map<string, TrustedTarget>();
    for (const role of TARGET_ROLES) {
      const metadata = await this.#roleTargets(trusted, role);
      for (const [name, target] of Object.entries(metadata?.signed.targets ?? {})) {
        if (!found.has(name) && pathAllowed(trusted.targets, role, name)) {
          found.set(name, this.#trustedTarget(name, target, role));
        }
      }
    }
    return [...found.values()];
  }

  #subject(role: string, where = this.http.url): string {
    return `${role}.json of ${this.gun} (${where})`;
  }

  #metadataPath(role: string): string {
    return `v2/${this.gun}/_trust/tuf/${role}.json`;
  }

  async #download(role: string, maxBytes?: number): Promise<Uint8Array> {
    const bytes = await this.http.get(this.#metadataPath(role), maxBytes);
    if (!bytes) {
      throw new TrustError(
        'TARGET_NOT_FOUND',
        `${this.http.url} has no ${role} metadata for ${this.gun}: the repository is not signed with Notary (or not published yet)`,
        this.gun,
      );
    }
    return bytes;
  }

  async #fetchRoot(trusted: SignedMetadata<RootMetadata> | undefined): Promise<SignedMetadata<RootMetadata>> {
    const subject = this.#subject('root');
    const bytes = await this.#download('root');
    const root = parseMetadata(bytes, 'Root', subject);
    const now = this.#now();
    if (trusted && Buffer.from(bytes).equals(Buffer.from(trusted.bytes))) {
      requireUnexpired(root, now, subject);
      return trusted;
    }
    if (trusted) {
      requireNoRollback(root.signed.version, trusted.signed.version, subject);
      // Each root between the trusted one and the newest must be signed by the one before it.
      let previous = trusted;
      for (let version = trusted.signed.version + 1; version < root.signed.version; version++) {
        const between = await this.http.get(this.#metadataPath(`${version}.root`));
        if (!between) break;
        const parsed = parseMetadata(between, 'Root', this.#subject(`${version}.root`));
        if (parsed.signed.version !== version) {
          throw new TrustError(
            'METADATA_INVALID',
            `${this.#subject(`${version}.root`)} is version ${parsed.signed.version}, not ${version}`,
            this.gun,
          );
        }
        await validateRoot(parsed, this.gun, {
          trusted: previous,
          pinning: this.#pinning,
          now,
          subject: this.#subject(`${version}.root`),
        });
        previous = parsed;
      }
      await validateRoot(root, this.gun, { trusted: previous, pinning: this.#pinning, now, subject });
    } else {
      await validateRoot(root, this.gun, { pinning: this.#pinning, now, subject });
    }
    requireUnexpired(root, now, subject);
    await this.#cache.write('root', bytes);
    return root;
  }

  async #updateFrom(root: SignedMetadata<RootMetadata>): Promise<TrustedMetadata> {
    const keys = rootKeys(root, this.#subject('root'));
    const timestamp = await this.#verified('timestamp', 'Timestamp', roleOf(root, 'timestamp', 'root'), keys);
    const snapshot = await this.#verified(
      'snapshot',
      'Snapshot',
      roleOf(root, 'snapshot', 'root'),
      keys,
      this.#named(timestamp, 'snapshot', 'timestamp'),
    );
    const rootMeta = snapshot.signed.meta.root;
    if (rootMeta && !matchesFileMeta(root.bytes, rootMeta)) {
      throw new TrustError(
        'METADATA_HASH_MISMATCH',
        `${this.#subject('root')} is not the root the snapshot names: it changed on the server`,
        this.gun,
      );
    }
    const targets = await this.#verified(
      'targets',
      'Targets',
      roleOf(root, 'targets', 'root'),
      keys,
      this.#named(snapshot, 'targets', 'snapshot'),
    );
    await this.#cache.write('timestamp', timestamp.bytes);
    await this.#cache.write('snapshot', snapshot.bytes);
    await this.#cache.write('targets', targets.bytes);
    return { root, timestamp, snapshot, targets };
  }

  #named(
    parent: SignedMetadata<{ meta: Record<string, FileMeta> }>,
    role: string,
    parentRole: string,
  ): FileMeta {
    const meta = parent.signed.meta[role];
    if (!meta) {
      throw new TrustError('METADATA_INVALID', `${this.#subject(parentRole)} names no ${role}`, this.gun);
    }
    return meta;
  }

  /**
   * Downloads (or takes from the cache when it matches `meta`) and verifies one role's metadata:
   * hash and length as the parent names them, the role's threshold of signatures, expiry, and no
   * version older than the cached one.
   */
  async #verified<N extends 'Timestamp' | 'Snapshot' | 'Targets'>(
    role: string,
    type: N,
    roleKeys: { keyids: string[]; threshold: number },
    keys: ReadonlyMap<string, VerificationKey>,
    meta?: FileMeta,
    parentRole = role === 'snapshot' ? 'timestamp' : 'snapshot',
  ) {
    const subject = this.#subject(role);
    const cached = await this.#cache.read(role);
    const bytes =
      meta && cached && matchesFileMeta(cached, meta) ? cached : await this.#download(role, meta?.length);
    if (meta) requireFileMeta(bytes, meta, subject, `${parentRole}.json`);
    const metadata = parseMetadata(bytes, type, subject);
    requireThreshold(metadata, roleKeys, keys, subject);
    requireUnexpired(metadata, this.#now(), subject);
    if (cached && cached !== bytes) {
      const old = (() => {
        try {
          return parseMetadata(cached, type, subject).signed.version;
        } catch {
          return undefined;
        }
      })();
      requireNoRollback(metadata.signed.version, old, subject);
    }
    return metadata;
  }

  async #roleTargets(
    trusted: TrustedMetadata,
    role: string,
  ): Promise<SignedMetadata<TargetsMetadata> | undefined> {
    if (role === 'targets') return trusted.targets;
    const delegations = trusted.targets.signed.delegations;
    const definition = delegations?.roles.find((each) => each.name === role);
    if (!delegations || !definition) return undefined;
    const keys = new Map<string, VerificationKey>();
    for (const [id, key] of Object.entries(delegations.keys)) {
      const loaded = loadTufKey(key, this.#subject('targets'));
      if (loaded.id === id) keys.set(id, loaded);
    }
    const metadata = await this.#verified(
      role,
      'Targets',
      definition,
      keys,
      this.#named(trusted.snapshot, role, 'snapshot'),
    );
    await this.#cache.write(role, metadata.bytes);
    return metadata;
  }

  #trustedTarget(name: string, target: FileMeta, role: string): TrustedTarget {
    const sha256 = target.hashes.sha256;
    if (!sha256 || Buffer.from(sha256, 'base64').byteLength !== 32) {
      throw new TrustError(
        'METADATA_INVALID',
        `the target "${name}" of ${this.gun} (${role}) has no sha256 hash`,
        this.gun,
      );
    }
    return {
      gun: this.gun,
      name,
      digest: `sha256:${Buffer.from(sha256, 'base64').toString('hex')}`,
      size: target.length,
      role,
    };
  }
}

/** Whether a delegated role may sign a target of this name (its `paths` prefixes; `""` is all). */
function pathAllowed(targets: SignedMetadata<TargetsMetadata>, role: string, name: string): boolean {
  if (role === 'targets') return true;
  const definition = targets.signed.delegations?.roles.find((each) => each.name === role);
  return Boolean(definition?.paths?.some((prefix) => name.startsWith(prefix)));
}
