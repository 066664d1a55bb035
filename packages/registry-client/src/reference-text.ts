import { isDigest } from '@concil/oci-spec';

/** `docker://host/repo`, with `:tag` or `@digest` when given: how errors name what they concern. */
export function referenceText(registry: string, repository: string, reference?: string): string {
  const base = `docker://${registry}/${repository}`;
  if (!reference) return base;
  return isDigest(reference) ? `${base}@${reference}` : `${base}:${reference}`;
}

/** The path of a repository's endpoints: `/v2/<name>/<rest>`. */
export function repositoryPath(repository: string, rest: string): string {
  return `/v2/${repository}/${rest}`;
}
