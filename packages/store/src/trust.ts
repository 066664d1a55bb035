import type { Descriptor } from '@concil/oci-spec';

/**
 * Decides whether a manifest may be trusted before the store keeps anything it references.
 * Throws (with the reason) when it may not. Verifiers (cosign, notary) come from `@concil/trust`.
 */
export interface TrustVerifier {
  /**
   * For trust systems that sign tags (Notary): the digest and size a tag reference is signed
   * for. When present, `pull` asks the registry for that digest, never for the tag.
   */
  resolveTag?(reference: string): Promise<Pick<Descriptor, 'digest' | 'size'>>;
  verify(reference: string, manifestDescriptor: Descriptor, manifestBytes: Uint8Array): Promise<void>;
}
