import { catalogScope, repositoryScope } from './auth/challenge.js';
import { paginate } from './pagination.js';
import { referenceText, repositoryPath } from './reference-text.js';
import type { RegistrySession } from './session.js';

export interface ListOptions {
  /** Entries per page (`n`); the registry decides when absent. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** The tags of a repository, page by page. */
export function tagPages(
  session: RegistrySession,
  repository: string,
  options: ListOptions = {},
): AsyncGenerator<string[]> {
  return paginate(session, {
    path: repositoryPath(repository, 'tags/list'),
    field: 'tags',
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    reference: referenceText(session.registry, repository),
    ...options,
  });
}

/** All tags of a repository, following pagination. */
export async function listTags(
  session: RegistrySession,
  repository: string,
  options: ListOptions = {},
): Promise<string[]> {
  const tags: string[] = [];
  for await (const page of tagPages(session, repository, options)) tags.push(...page);
  return tags;
}

/** All repositories of the registry (`/v2/_catalog`), following pagination. */
export async function listRepositories(
  session: RegistrySession,
  options: ListOptions = {},
): Promise<string[]> {
  const repositories: string[] = [];
  for await (const page of paginate(session, {
    path: '/v2/_catalog',
    field: 'repositories',
    scopes: [catalogScope],
    reference: `docker://${session.registry}`,
    ...options,
  })) {
    repositories.push(...page);
  }
  return repositories;
}
