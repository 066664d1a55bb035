import type { Descriptor } from '@concil/oci-spec';

/**
 * Decides whether a manifest may be trusted before the store keeps anything it references.
 * Throws (with the reason) when it may not. Verifiers (cosign, notary) come from `@concil/trust`.
 */
export interface TrustVerifier {
  verify(reference: string, manifestDescriptor: Descriptor, manifestBytes: Uint8Array): Promise<void>;
}
