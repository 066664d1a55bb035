import {
  type Descriptor,
  formatReference,
  isDigest,
  parseReference,
  type ReadOnlyTarget,
} from '@concil/oci-spec';
import { TrustError } from '../errors.js';
import { guardTarget } from './guarded-target.js';
import { settingsFor, type TrustPolicyConfig, type TrustSettings } from './policy-settings.js';
import type { TrustDecision, TrustMethod } from './trust-method.js';

/** Makes the trust method for one scope's settings (its keys, its server). */
export type TrustMethodFactory = (settings: TrustSettings) => TrustMethod | Promise<TrustMethod>;

/**
 * Which trust system applies to which image, and the one place that asks it: the configuration's
 * `disable_content_trust`/`content_trust`, refined per registry or repository by `remote_servers`,
 * and the trust methods available (`cosign` here; `notary` plugs in the same way).
 */
export class TrustPolicy {
  readonly #methods = new Map<string, Promise<TrustMethod>>();

  constructor(
    readonly config: TrustPolicyConfig,
    readonly factories: Readonly<Record<string, TrustMethodFactory | undefined>>,
  ) {}

  /** The settings for an image (`[docker://]host/repo[:tag][@digest]`). */
  settingsFor(reference: string): TrustSettings {
    return settingsFor(this.config, reference);
  }

  /** Whether any image at all must be verified (the top level or a `remote_servers` scope asks it). */
  get enforcesAnything(): boolean {
    if (!this.config.disable_content_trust) return true;
    return Object.values(this.config.remote_servers ?? {}).some(
      (entry) =>
        entry.disable_content_trust === false ||
        (entry.content_trust !== undefined && entry.disable_content_trust !== true),
    );
  }

  /** The method that must vouch for this image, or undefined when trust is off for it. */
  async methodFor(reference: string): Promise<{ method: TrustMethod; settings: TrustSettings } | undefined> {
    const settings = this.settingsFor(reference);
    if (!settings.required) return undefined;
    const factory = this.factories[settings.method];
    if (!factory) {
      throw new TrustError(
        'METHOD_UNAVAILABLE',
        `content trust "${settings.method}" is asked for ${shown(reference)} but concil has no ${settings.method} verifier; set "content_trust" to one of ${Object.keys(this.factories).join(', ')} or "disable_content_trust": true for this registry in remote_servers`,
        shown(reference),
      );
    }
    const key = JSON.stringify([settings.method, settings.cosignKeys ?? null, settings.scopes]);
    let method = this.#methods.get(key);
    if (!method) {
      method = Promise.resolve(factory(settings));
      this.#methods.set(key, method);
    }
    return { method: await method, settings };
  }

  /**
   * Verifies a manifest read from `target` for `reference`; throws `VERIFICATION_FAILED` (or
   * `METHOD_UNAVAILABLE`) unless it is trusted. Undefined when trust is off for the image.
   */
  async verify(
    reference: string,
    target: ReadOnlyTarget,
    manifest: Pick<Descriptor, 'digest' | 'mediaType' | 'size'>,
    signal?: AbortSignal,
  ): Promise<TrustDecision | undefined> {
    const chosen = await this.methodFor(reference);
    if (!chosen) return undefined;
    return chosen.method.verify({
      reference: shown(reference),
      identity: chosen.settings.identity,
      target,
      manifest,
      ...(signal && { signal }),
    });
  }

  /**
   * Resolves a reference of `target` the way the policy allows, and verifies the result: by the
   * method's own resolution where it has one (Notary: the trusted digest of a tag), else by the
   * target. Nothing is fetched beyond the manifest's descriptor and the signatures.
   */
  async resolveTrusted(target: ReadOnlyTarget, reference?: string): Promise<Descriptor> {
    const descriptor = await this.resolve(target, reference);
    await this.verify(referenceOf(target, reference), target, descriptor);
    return descriptor;
  }

  /**
   * Resolves a reference of `target` (its own by default) without verifying: by the trust
   * method's resolution where it has one for a tag (Notary), else by the target.
   */
  async resolve(target: ReadOnlyTarget, reference?: string): Promise<Descriptor> {
    const signed = await this.resolveTag(referenceOf(target, reference));
    return target.resolve(signed?.digest ?? reference);
  }

  /**
   * The digest a tag reference (`host/repo:tag`) is signed for, when its trust method signs tags
   * (Notary); undefined otherwise (a digest reference, trust off, cosign).
   */
  async resolveTag(reference: string): Promise<Pick<Descriptor, 'digest' | 'size'> | undefined> {
    const ref = parseReference(reference);
    if (ref.digest || !ref.tag) return undefined;
    const chosen = await this.methodFor(reference);
    if (!chosen?.method.resolveTag) return undefined;
    return chosen.method.resolveTag({
      reference: shown(reference),
      identity: chosen.settings.identity,
      tag: ref.tag,
    });
  }

  /** `target` as a source that resolves only what this policy trusts (see `guardTarget`). */
  guard<T extends ReadOnlyTarget>(target: T): T {
    return guardTarget(target, this);
  }

  /**
   * The store's `trustVerifier`: asks this policy about every pull (it decides per image whether
   * trust applies), reading signatures from the pull's source.
   */
  storeVerifier(): StoreTrustVerifier {
    return {
      verify: async (reference, manifest, _bytes, source) => {
        await this.verify(reference, source, manifest);
      },
      resolveTag: (reference) => this.resolveTag(reference),
    };
  }
}

/** The shape of `TrustVerifier` of `@concil/store` (which imports this package, not the reverse). */
export interface StoreTrustVerifier {
  verify(
    reference: string,
    manifest: Descriptor,
    manifestBytes: Uint8Array,
    source: ReadOnlyTarget,
  ): Promise<void>;
  resolveTag(reference: string): Promise<Pick<Descriptor, 'digest' | 'size'> | undefined>;
}

/** `host/repo:tag` for messages and settings (the `docker://` of a target's name dropped). */
function shown(reference: string): string {
  return reference.startsWith('docker://') ? reference.slice('docker://'.length) : reference;
}

/** The image a target's `resolve(reference)` reads: the target's repository with that tag or digest. */
function referenceOf(target: ReadOnlyTarget, reference: string | undefined): string {
  if (reference === undefined) return shown(target.name);
  const ref = parseReference(target.name);
  return formatReference({
    registry: ref.registry,
    repository: ref.repository,
    ...(isDigest(reference) ? { digest: reference } : { tag: reference }),
  });
}
