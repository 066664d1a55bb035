import { type Descriptor, formatReference, parseReference, type ReadOnlyTarget } from '@concil/oci-spec';
import type { Credentials } from '@concil/registry-client';
import { TrustError } from '../errors.js';
import { type NotaryConfig, notaryCredentials, notaryServerFor, notaryTrustDir } from './notary-config.js';
import { NotaryHttp } from './notary-http.js';
import { NotaryRepository, type TrustedTarget } from './notary-repository.js';
import { parseTrustPinning, type TrustPinning } from './root-trust.js';

export interface NotaryVerifierOptions {
  /** The Notary server of a registry host (`host:port`), or undefined when it has none. */
  serverFor: (registry: string) => string | undefined;
  /** Extra CAs (PEM file) for the Notary server's TLS. */
  caFile?: string;
  /** The credentials a registry's Notary server gets when it asks for authentication. */
  credentials?: (registry: string) => Promise<Credentials | undefined>;
  /** The local trust cache (`notary_path`). */
  trustDir: string;
  pinning?: TrustPinning | unknown;
  now?: () => number;
}

/**
 * Notary v1 as the store's trust verifier (`TrustVerifier` of `@concil/store`): `resolveTag`
 * answers the digest a tag is signed for, so the registry is asked by that digest and never by
 * the tag; `verify` checks that the manifest pulled is exactly a signed target.
 */
export class NotaryVerifier {
  readonly #options: NotaryVerifierOptions;
  readonly #pinning: TrustPinning;
  readonly #servers = new Map<string, NotaryHttp>();
  /** What `resolveTag` answered, by reference: `verify` right after it needs no second update. */
  readonly #resolved = new Map<string, TrustedTarget>();

  constructor(options: NotaryVerifierOptions) {
    this.#options = options;
    this.#pinning = parseTrustPinning(options.pinning);
  }

  /** From the configuration: `remote_servers[host].notary` (by `host:port`, else host), `cafile`, `notary_path` (else `<cache_dir>/notary`), `notary_trust_pinning`. */
  static fromConfig(config: NotaryConfig, options: { now?: () => number } = {}): NotaryVerifier {
    return new NotaryVerifier({
      serverFor: (registry) => notaryServerFor(config, registry),
      credentials: (registry) => notaryCredentials(config, registry)(),
      ...(config.cafile && { caFile: config.cafile }),
      trustDir: notaryTrustDir(config),
      pinning: config.notary_trust_pinning,
      ...(options.now && { now: options.now }),
    });
  }

  /** The GUN's TUF client for a reference (`host/repository`, as Docker names GUNs). */
  repository(reference: string): NotaryRepository {
    const ref = parseReference(reference);
    const gun = `${ref.registry}/${ref.repository}`;
    const serverUrl = this.#options.serverFor(ref.registry);
    if (!serverUrl) {
      throw new TrustError(
        'NOTARY_NOT_CONFIGURED',
        `content_trust is "notary" but no Notary server is configured for ${ref.registry}: set remote_servers["${ref.registry}"].notary in the configuration`,
        ref.registry,
      );
    }
    const credentials = this.#options.credentials;
    const connection = `${serverUrl} ${ref.registry}`;
    let http = this.#servers.get(connection);
    if (!http) {
      http = new NotaryHttp(serverUrl, {
        ...(this.#options.caFile && { caFile: this.#options.caFile }),
        ...(credentials && { credentials: () => credentials(ref.registry) }),
      });
      this.#servers.set(connection, http);
    }
    return new NotaryRepository(gun, {
      serverUrl,
      http,
      trustDir: this.#options.trustDir,
      pinning: this.#pinning,
      ...(this.#options.now && { now: this.#options.now }),
    });
  }

  /** The signed target of a tag reference (`latest` when it names none). */
  async resolveTag(reference: string): Promise<TrustedTarget> {
    const ref = parseReference(reference);
    const target = await this.repository(reference).lookup(ref.tag ?? 'latest');
    this.#resolved.set(formatReference(ref), target);
    return target;
  }

  /**
   * The manifest a tag reference is signed for, as `source` describes it when asked by the signed
   * digest (never by the tag); TARGET_MISMATCH when its size is not the signed one. The shape of
   * a store verifier's `resolve(reference, source)`.
   */
  async resolve(reference: string, source: Pick<ReadOnlyTarget, 'resolve'>): Promise<Descriptor> {
    const signed = await this.resolveTag(reference);
    const descriptor = await source.resolve(signed.digest);
    if (descriptor.digest !== signed.digest || descriptor.size !== signed.size) {
      throw new TrustError(
        'TARGET_MISMATCH',
        `the registry's ${descriptor.digest} (${descriptor.size} bytes) is not the signed ${signed.digest} (${signed.size} bytes)`,
        signed.digest,
      );
    }
    return descriptor;
  }

  /**
   * Throws TARGET_MISMATCH unless the manifest is a signed target: the tag's, or, for a
   * reference by digest, any target of the GUN with that digest.
   */
  async verify(reference: string, manifestDescriptor: Descriptor, manifestBytes: Uint8Array): Promise<void> {
    await this.signedTarget(reference, manifestDescriptor.digest, manifestBytes.byteLength);
  }

  /** The signed target a manifest (digest, size) is for the reference, or TARGET_MISMATCH. */
  async signedTarget(reference: string, digest: string, size: number): Promise<TrustedTarget> {
    const ref = parseReference(reference);
    const repository = this.repository(reference);
    if (ref.digest) {
      const targets = await repository.listTargets();
      const signed = targets.find((each) => each.digest === digest && each.size === size);
      if (signed) return signed;
      throw new TrustError(
        'TARGET_MISMATCH',
        `${formatReference(ref)}: ${digest} is not among the targets signed for ${repository.gun} (${targets.map((each) => `${each.name} → ${each.digest}`).join(', ') || 'none'})`,
        digest,
      );
    }
    const key = formatReference(ref);
    const target = this.#resolved.get(key) ?? (await repository.lookup(ref.tag ?? 'latest'));
    this.#resolved.delete(key);
    if (target.digest !== digest || target.size !== size) {
      throw new TrustError(
        'TARGET_MISMATCH',
        `${formatReference(ref)}: the manifest is ${digest} (${size} bytes) but ${target.role} signs ${target.digest} (${target.size} bytes) for "${target.name}"`,
        digest,
      );
    }
    return target;
  }

  /** Closes the kept-alive connections to the Notary servers. */
  async close(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((http) => http.close()));
    this.#servers.clear();
  }
}
