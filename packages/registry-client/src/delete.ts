import { repositoryScope } from './auth/challenge.js';
import { referenceText, repositoryPath } from './reference-text.js';
import type { RegistrySession } from './session.js';

/** DELETE a manifest or a blob of a repository, by digest (registries delete neither by tag). */
export async function deleteByDigest(
  session: RegistrySession,
  repository: string,
  endpoint: 'manifests' | 'blobs',
  digest: string,
): Promise<void> {
  const response = await session.send({
    method: 'DELETE',
    path: repositoryPath(repository, `${endpoint}/${digest}`),
    scopes: [repositoryScope(repository, 'delete')],
    repository,
    context: {
      reference: referenceText(session.registry, repository, digest),
      registry: session.registry,
      subject: endpoint === 'blobs' ? 'blob' : 'manifest',
    },
  });
  await response.body.dump();
}
