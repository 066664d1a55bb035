const dockerHubAliases = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** A config key as `host[/path]`: without scheme, trailing slash, or Docker Hub's `/v1` API path. */
export function normalizeAuthKey(key: string): string {
  let value = key
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  value = value.replace(/\/v[12]$/, '');
  const slash = value.indexOf('/');
  const host = (slash < 0 ? value : value.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : value.slice(slash);
  return (dockerHubAliases.includes(host) ? 'docker.io' : host) + path;
}

/**
 * The key of `keys` that applies to a repository: the host itself or a `host/prefix` of the
 * repository on a path boundary; the longest wins. Keys are matched after normalisation.
 */
export function matchAuthKey(
  keys: readonly string[],
  registry: string,
  repository?: string,
): string | undefined {
  const host = normalizeAuthKey(registry);
  const full = repository ? `${host}/${repository}` : host;
  let best: string | undefined;
  let bestLength = -1;
  for (const key of keys) {
    const normalized = normalizeAuthKey(key);
    const applies = full === normalized || full.startsWith(`${normalized}/`);
    if (applies && normalized.length > bestLength) {
      best = key;
      bestLength = normalized.length;
    }
  }
  return best;
}
