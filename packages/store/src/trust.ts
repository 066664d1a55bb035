import type { Descriptor, ReadOnlyTarget } from '@concil/oci-spec';

/**
 * Decides whether a manifest may be trusted before the store keeps anything it references.
 * Throws (with the reason) when it may not. `TrustPolicy` of `@concil/trust` gives one
 * (`policy.storeVerifier()`): it decides per image whether trust applies, so the store asks it
 * on every pull that reaches the registry.
 */
export interface TrustVerifier {
  /**
   * For trust systems that sign tags (Notary): the digest and size a tag reference is signed
   * for. When present (and it names one), `pull` asks the registry for that digest, never for the
   * tag; undefined: the image is not one whose tags are signed, the registry resolves it.
   */
  resolveTag?(reference: string): Promise<Pick<Descriptor, 'digest' | 'size'> | undefined>;
  /** `source` is the registry repository the manifest comes from: signatures are read there. */
  verify(
    reference: string,
    manifestDescriptor: Descriptor,
    manifestBytes: Uint8Array,
    source: ReadOnlyTarget,
  ): Promise<void>;
}
