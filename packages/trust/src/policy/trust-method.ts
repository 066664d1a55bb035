import type { Descriptor, ReadOnlyTarget } from '@concil/oci-spec';

/** What a trust method is asked about: one manifest of one repository. */
export interface TrustRequest {
  /** The image as a person named it (`host/repo:tag`), for messages. */
  reference: string;
  /** The repository the signatures must name (`host/repo`; remapped by `signed_identity`). */
  identity: string;
  /** Where the image is read from (a registry repository): signatures are looked up there. */
  target: ReadOnlyTarget;
  manifest: Pick<Descriptor, 'digest' | 'mediaType' | 'size'>;
  signal?: AbortSignal;
}

/** What a trust method answers when the manifest is trusted. */
export interface TrustDecision {
  /** `cosign`, `notary`, … */
  method: string;
  /** One line: who signed what. */
  message: string;
}

/** What a trust method that signs tags is asked: the digest a tag is signed for. */
export interface TagRequest {
  /** `host/repo:tag`. */
  reference: string;
  identity: string;
  tag: string;
  signal?: AbortSignal;
}

/**
 * One trust system (cosign, Notary v1) as the policy uses it. `verify` throws a `TrustError`
 * (`VERIFICATION_FAILED`, naming the reference, the digest and why) unless the manifest is trusted.
 * A method that knows the trusted digest of a tag itself (Notary: from signed metadata) also
 * implements `resolveTag`, and the registry is then asked by that digest, never by the tag.
 */
export interface TrustMethod {
  readonly name: string;
  resolveTag?(request: TagRequest): Promise<Pick<Descriptor, 'digest' | 'size'>>;
  verify(request: TrustRequest): Promise<TrustDecision>;
}
