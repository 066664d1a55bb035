const dockerHubAliases = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/**
 * A config key as `host[/path]`: without scheme (`https://`, `docker://`), trailing slash, the
 * API path of a URL (`/v1/`, `/v2/`) or a trailing `*`; Docker Hub's aliases as `docker.io`.
 */
export function normalizeAuthKey(key: string): string {
  let value = key.trim().replace(/\*$/, '');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
  if (scheme) value = value.slice(scheme[0].length);
  value = value.replace(/\/+$/, '');
  if (scheme) value = value.replace(/\/v[12]$/, '');
  const slash = value.indexOf('/');
  const host = (slash < 0 ? value : value.slice(0, slash)).toLowerCase();
  const path = slash < 0 ? '' : value.slice(slash);
  return (dockerHubAliases.includes(host) ? 'docker.io' : host) + path;
}

export interface MatchAuthKeyOptions {
  /**
   * A key whose host has no port also applies to that host on any port, after every key that
   * names the port: the Python concil matched `auths` by host name alone.
   */
  anyPort?: boolean;
}

/**
 * The key of `keys` that applies to a repository: the host itself, a `host/prefix` of the
 * repository on a path boundary, or a prefix ending in `*` (the Python concil's form, matched as
 * plain text: `host/te*` covers `host/team`). The longest wins; keys are matched normalised.
 */
export function matchAuthKey(
  keys: readonly string[],
  registry: string,
  repository?: string,
  options: MatchAuthKeyOptions = {},
): string | undefined {
  const host = normalizeAuthKey(registry);
  const withPort = repository ? `${host}/${repository}` : host;
  const portless = host.replace(portPattern, '');
  const withoutPort =
    options.anyPort && portless !== host ? (repository ? `${portless}/${repository}` : portless) : undefined;
  let best: { key: string; rank: number[] } | undefined;
  for (const key of keys) {
    const normalized = normalizeAuthKey(key);
    // `host/te*` is a plain-text prefix; `host/team/*` is the path prefix `host/team`.
    const wildcard = /[^/]\*$/.test(key.trim());
    const keyHasPort = portPattern.test(normalized.split('/')[0] ?? '');
    const portExact = covers(normalized, wildcard, withPort);
    const anyPort =
      !portExact && withoutPort !== undefined && !keyHasPort && covers(normalized, wildcard, withoutPort);
    if (!portExact && !anyPort) continue;
    // Port-exact before any-port, then the longest, then an exact key before a wildcard.
    const rank = [portExact ? 1 : 0, normalized.length, wildcard ? 0 : 1];
    if (!best || isGreater(rank, best.rank)) best = { key, rank };
  }
  return best?.key;
}

/** `:PORT` at the end of a host (never the inside of an IPv6 literal, which ends in `]`). */
const portPattern = /:\d+$/;

function covers(normalized: string, wildcard: boolean, full: string): boolean {
  if (full === normalized || full.startsWith(`${normalized}/`)) return true;
  return wildcard && full.startsWith(normalized);
}

function isGreater(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) > (b[i] ?? 0);
  return false;
}
