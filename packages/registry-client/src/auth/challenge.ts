/** One authentication challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lower case: `basic` or `bearer`. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a scheme and
 * comma-separated `key=value` or `key="quoted value"` parameters.
 */
export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const challenges: Challenge[] = [];
  let rest = header.trim();
  let current: Challenge | undefined;
  while (rest.length > 0) {
    const param = /^([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/.exec(rest);
    if (param && current) {
      current.params[param[1]!.toLowerCase()] =
        param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3]!;
      rest = rest.slice(param[0].length);
      continue;
    }
    const scheme = /^([A-Za-z0-9_.-]+)\s*,?\s*/.exec(rest);
    if (!scheme) break;
    current = { scheme: scheme[1]!.toLowerCase(), params: {} };
    challenges.push(current);
    rest = rest.slice(scheme[0].length);
  }
  return challenges;
}

/** `repository:<name>:<actions>` as the token spec writes scopes. */
export function repositoryScope(repository: string, actions: 'pull' | 'push,pull' | 'delete' | '*'): string {
  return `repository:${repository}:${actions}`;
}

export const catalogScope = 'registry:catalog:*';

/** Merges scopes so that each resource appears once with the union of its actions. */
export function mergeScopes(scopes: readonly string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes.flatMap((each) => each.split(' ')).filter(Boolean)) {
    const last = scope.lastIndexOf(':');
    if (last < 0) continue;
    const resource = scope.slice(0, last);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const action of scope.slice(last + 1).split(',')) if (action) actions.add(action);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()]
    .map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`)
    .sort();
}
