import { type Descriptor, parseReference, type ReadOnlyTarget } from '@concil/oci-spec';
import { isTrustError, TrustError } from '../errors.js';
import type { NotaryVerifier } from './notary-verifier.js';

/** What a trust policy asks a method about: one manifest of one repository (see `notaryTrustMethod`). */
export interface NotaryTrustRequest {
  /** The image as a person named it (`host/repo:tag`), for messages. */
  reference: string;
  /** The repository whose trust data vouches for it (`host/repo`: the GUN). */
  identity: string;
  /** Where the image is read from. */
  target: ReadOnlyTarget;
  manifest: Pick<Descriptor, 'digest' | 'mediaType' | 'size'>;
  signal?: AbortSignal;
}

/** Notary as one trust method of a policy: `resolve` a tag to its signed digest, `verify` a manifest. */
export interface NotaryTrustMethod {
  readonly name: 'notary';
  resolve(request: Omit<NotaryTrustRequest, 'manifest'> & { tag: string }): Promise<Descriptor>;
  /** The digest and size a tag is signed for (what a `TrustPolicy` asks before the registry). */
  resolveTag(request: {
    reference: string;
    identity: string;
    tag: string;
  }): Promise<Pick<Descriptor, 'digest' | 'size'>>;
  verify(request: NotaryTrustRequest): Promise<{ method: string; message: string }>;
}

/**
 * A `NotaryVerifier` in the shape of a policy's trust method: the GUN is the request's
 * `identity`; `resolve` asks the target for the signed digest only (never the tag) and checks
 * its size; failures keep their code and name the reference and why.
 */
export function notaryTrustMethod(verifier: NotaryVerifier): NotaryTrustMethod {
  return {
    name: 'notary',
    async resolve({ reference, identity, target, tag }) {
      return await named(reference, undefined, () => verifier.resolve(`${identity}:${tag}`, target));
    },
    async resolveTag({ reference, identity, tag }) {
      const { digest, size } = await named(reference, undefined, () =>
        verifier.resolveTag(`${identity}:${tag}`),
      );
      return { digest, size };
    },
    async verify({ reference, identity, manifest }) {
      return await named(reference, manifest.digest, async () => {
        const { tag, digest } = parseReference(reference);
        const signedAs = digest || !tag ? `${identity}@${manifest.digest}` : `${identity}:${tag}`;
        const target = await verifier.signedTarget(signedAs, manifest.digest, manifest.size);
        return {
          method: 'notary',
          message: `signed in ${target.role} of ${target.gun} as "${target.name}" (${target.digest}, ${target.size} bytes)`,
        };
      });
    },
  };
}

/** Runs a Notary step; a TrustError keeps its code and gains the reference (and digest) it concerns. */
async function named<T>(reference: string, digest: string | undefined, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!isTrustError(error)) throw error;
    const what = digest ? `${reference} (${digest})` : reference;
    throw new TrustError(error.code, `${what} is not trusted by Notary: ${error.message}`, reference, {
      cause: error,
    });
  }
}
