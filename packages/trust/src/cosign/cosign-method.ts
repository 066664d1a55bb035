import { TrustError } from '../errors.js';
import type { TrustSettings } from '../policy/policy-settings.js';
import type { TrustMethod, TrustRequest } from '../policy/trust-method.js';
import type { TrustMethodFactory } from '../policy/trust-policy.js';
import type { TrustedKey } from './check-signature.js';
import type { CosignKeyDirectory } from './key-directory.js';
import { loadTrustedKeys } from './key-spec.js';
import { requireVerified, verifyImage } from './verify-image.js';

/**
 * The cosign trust method: an image is trusted when one of its classic signatures or Sigstore
 * bundles verifies with one of the keys (and names this digest and the expected repository).
 */
export function cosignTrustMethod(keys: readonly TrustedKey[], source = 'the given keys'): TrustMethod {
  return {
    name: 'cosign',
    async verify(request: TrustRequest) {
      // `requireVerified` appends the digest to the image's name (its tag kept, a digest dropped).
      const named = request.reference.replace(/@[a-z0-9]+:[0-9a-f]+$/, '');
      const subject = `${named}@${request.manifest.digest}`;
      if (keys.length === 0) {
        throw new TrustError(
          'VERIFICATION_FAILED',
          `${subject} does not verify: no trusted cosign public keys (${source}); import one (concil config cosign-import-key ID FILE)`,
          subject,
        );
      }
      const result = await verifyImage(request.target, request.manifest, {
        keys,
        identity: request.identity,
        ...(request.signal && { signal: request.signal }),
      });
      requireVerified(result, named);
      const valid = result.signatures.find((s) => s.valid);
      return { method: 'cosign', message: valid?.message ?? 'signed' };
    },
  };
}

/**
 * The policy's cosign factory over a key directory: a scope's `cosign_keys` (IDs or files) when it
 * names some, else every public key of the directory.
 */
export function cosignMethodFactory(directory: CosignKeyDirectory): TrustMethodFactory {
  return async (settings: TrustSettings) => {
    const keys = settings.cosignKeys
      ? (await Promise.all(settings.cosignKeys.map((spec) => loadTrustedKeys(spec, directory)))).flat()
      : await directory.trustedKeys();
    const source = settings.cosignKeys
      ? `cosign_keys ${settings.cosignKeys.join(', ')}`
      : `the public keys of ${directory.path}`;
    return cosignTrustMethod(keys, source);
  };
}
