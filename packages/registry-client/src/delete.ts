import { repositoryScope } from './auth/challenge.js';
import { isRegistryError, RegistryError } from './errors.js';
import { referenceText, repositoryPath } from './reference-text.js';
import type { RegistrySession } from './session.js';

/** DELETE a manifest or a blob of a repository, by digest (registries delete neither by tag). */
export async function deleteByDigest(
  session: RegistrySession,
  repository: string,
  endpoint: 'manifests' | 'blobs',
  digest: string,
): Promise<void> {
  const reference = referenceText(session.registry, repository, digest);
  const subject = endpoint === 'blobs' ? 'blob' : 'manifest';
  try {
    const response = await session.send({
      method: 'DELETE',
      path: repositoryPath(repository, `${endpoint}/${digest}`),
      scopes: [repositoryScope(repository, 'delete')],
      repository,
      context: { reference, registry: session.registry, subject },
    });
    await response.body.dump();
  } catch (error) {
    // 405 UNSUPPORTED: deletion is switched off, the usual default of a registry.
    if (!isRegistryError(error, 'UNSUPPORTED')) throw error;
    throw new RegistryError(
      'UNSUPPORTED',
      `${reference}: ${session.registry} does not allow deleting ${subject}s (UNSUPPORTED); its operator must enable deletion (docker-registry: storage.delete.enabled)`,
      { reference, ...(error.status !== undefined && { status: error.status }), cause: error },
    );
  }
}
