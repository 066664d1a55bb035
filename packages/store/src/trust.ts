import type { Descriptor, ReadOnlyTarget } from '@concil/oci-spec';

/**
 * Decides whether a manifest may be trusted before the store keeps anything it references.
 * Throws (with the reason) when it may not. `TrustPolicy` of `@concil/trust` gives one
 * (`trustVerifierOf`); it decides per image whether trust applies, so the store asks it always.
 */
export interface TrustVerifier {
  /** `source` is the registry repository the manifest comes from: signatures are read there. */
  verify(
    reference: string,
    manifestDescriptor: Descriptor,
    manifestBytes: Uint8Array,
    source: ReadOnlyTarget,
  ): Promise<void>;
  /**
   * Resolves a reference to the manifest the trust system vouches for (Notary: the trusted digest
   * of a tag, so the registry is never asked by the tag); the source resolves it when absent.
   */
  resolve?(reference: string, source: ReadOnlyTarget): Promise<Descriptor>;
}
