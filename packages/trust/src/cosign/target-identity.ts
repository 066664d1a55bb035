import type { ReadOnlyTarget } from '@concil/oci-spec';
import { TrustError } from '../errors.js';
import { repositoryOf } from './payload.js';

const TRANSPORT = 'docker://';

/**
 * The repository a target holds, as a docker reference (`host/repo`, without the tag or digest
 * its name may carry): what cosign writes into the payload's `docker-reference`. Targets that
 * are no registry repository (an image directory) have none: the caller names the identity.
 */
export function identityOf(target: ReadOnlyTarget): string {
  const repository = target.name.startsWith(TRANSPORT) ? repositoryOf(target.name) : undefined;
  if (repository !== undefined) return repository;
  throw new TrustError(
    'IDENTITY_MISSING',
    `${target.name} is no registry repository: name the repository the signature is for (identity)`,
    target.name,
  );
}
