import { isLoopbackHost } from '@concil/oci-spec';
import type { Dispatcher } from 'undici';
import { RegistryError } from '../errors.js';
import { loadUndici } from '../undici.js';
import { type Challenge, mergeScopes, parseChallenges } from './challenge.js';
import { type CredentialProvider, type Credentials, hasCredentials } from './credentials.js';
import { TokenCache } from './token-cache.js';

type HostChallenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/** What the authorizer concluded from a 401. */
export type ChallengeOutcome =
  /** Try the request again: new credentials or a new token are ready. */
  | 'retry'
  /** The credentials were rejected (or there were none). */
  | 'unauthorized'
  /** The account is known but lacks access to the scope. */
  | 'denied';

export interface AuthorizerOptions {
  registry: string;
  credentials: CredentialProvider;
  dispatcher: () => Promise<Dispatcher>;
  userAgent: string;
}

/**
 * Answers a registry's challenges for one host: basic credentials, or bearer tokens from the
 * realm per scope set, cached until they expire. Credentials are looked up lazily, only when the
 * registry asks, and per repository (config keys may be `host/prefix`).
 */
export class Authorizer {
  readonly #options: AuthorizerOptions;
  readonly #tokens = new TokenCache();
  readonly #pendingTokens = new Map<string, Promise<string>>();
  readonly #credentials = new Map<string, Promise<Credentials | undefined>>();
  #challenge: HostChallenge | undefined;

  constructor(options: AuthorizerOptions) {
    this.#options = options;
  }

  /** How the registry asked to be authenticated, once it has (undefined: it has not asked). */
  get scheme(): 'basic' | 'bearer' | undefined {
    return this.#challenge?.scheme;
  }

  /** The Authorization header for a request to the registry host, if the host wants one. */
  async authorization(scopes: readonly string[], repository?: string): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    const credentials = await this.credentials(repository);
    if (challenge.scheme === 'basic') {
      if (!credentials?.username) return undefined;
      const pair = `${credentials.username}:${credentials.password ?? ''}`;
      return `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    return `Bearer ${await this.#token(challenge, mergeScopes(scopes), credentials)}`;
  }

  /** Whether credentials are known for the repository (to word errors). */
  async hasCredentials(repository?: string): Promise<boolean> {
    return hasCredentials(await this.credentials(repository));
  }

  credentials(repository?: string): Promise<Credentials | undefined> {
    const key = repository ?? '';
    let found = this.#credentials.get(key);
    if (!found) {
      found = this.#options.credentials({
        registry: this.#options.registry,
        ...(repository !== undefined && { repository }),
      });
      this.#credentials.set(key, found);
      found.catch(() => this.#credentials.delete(key));
    }
    return found;
  }

  /**
   * Learns from a 401's `WWW-Authenticate`. `scopes` are extended with the scopes the challenge
   * names. `sentAuthorization` says whether the refused request carried an Authorization header.
   */
  async onChallenge(
    header: string | undefined,
    scopes: string[],
    repository: string | undefined,
    sentAuthorization: boolean,
  ): Promise<ChallengeOutcome> {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((each) => each.scheme === 'bearer' && each.params.realm);
    const basic = challenges.find((each) => each.scheme === 'basic');
    const credentials = await this.credentials(repository);
    if (bearer) {
      const next = toBearer(bearer);
      const asked = bearer.params.scope ? bearer.params.scope.split(' ') : [];
      const merged = mergeScopes([...scopes, ...asked]);
      const grew = merged.join(' ') !== mergeScopes(scopes).join(' ');
      scopes.splice(0, scopes.length, ...merged);
      this.#challenge = next;
      if (!sentAuthorization || grew) return 'retry';
      // A token for these very scopes was refused: the account lacks access, or the token went
      // stale before its time (e.g. the registry restarted); a fresh one is worth one more try.
      this.#tokens.delete(TokenCache.key(next.realm, next.service, merged, accountOf(credentials)));
      if (bearer.params.error === 'insufficient_scope' && hasCredentials(credentials)) return 'denied';
      return 'retry';
    }
    if (basic) {
      this.#challenge = { scheme: 'basic' };
      if (!sentAuthorization && hasCredentials(credentials)) return 'retry';
      return 'unauthorized';
    }
    return 'unauthorized';
  }

  async #token(
    challenge: { realm: string; service?: string },
    scopes: string[],
    credentials: Credentials | undefined,
  ): Promise<string> {
    const key = TokenCache.key(challenge.realm, challenge.service, scopes, accountOf(credentials));
    const cached = this.#tokens.get(key);
    if (cached) return cached;
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = this.#fetchToken(challenge, scopes, credentials, key).finally(() =>
        this.#pendingTokens.delete(key),
      );
      this.#pendingTokens.set(key, pending);
    }
    return pending;
  }

  async #fetchToken(
    challenge: { realm: string; service?: string },
    scopes: string[],
    credentials: Credentials | undefined,
    key: string,
  ): Promise<string> {
    const { registry } = this.#options;
    const url = new URL(challenge.realm);
    if (hasCredentials(credentials) && url.protocol === 'http:' && !isLoopbackHost(url.host)) {
      throw new RegistryError(
        'PROTOCOL',
        `${registry} sends clients to a token service over plain HTTP (${url.origin}); refusing to send credentials there`,
        { reference: registry },
      );
    }
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (credentials?.identityToken) {
      method = 'POST';
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'concil',
      });
      if (challenge.service) form.set('service', challenge.service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (challenge.service) url.searchParams.set('service', challenge.service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (credentials?.username) {
        url.searchParams.set('account', credentials.username);
        const pair = `${credentials.username}:${credentials.password ?? ''}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      }
    }
    const issuedAt = Date.now();
    const { request } = await loadUndici();
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        headers,
        ...(body !== undefined && { body }),
        dispatcher: await this.#options.dispatcher(),
      });
    } catch (error) {
      throw new RegistryError('NETWORK', `cannot reach the token service of ${registry} at ${url.origin}`, {
        reference: registry,
        cause: error,
      });
    }
    const text = await response.body.text();
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new RegistryError(
        'UNAUTHORIZED',
        hasCredentials(credentials)
          ? `wrong username or password for ${registry}; log in or check ~/.concil/config.json auths`
          : `${registry} requires authentication; log in or add credentials to ~/.concil/config.json auths`,
        { reference: registry, status: response.statusCode },
      );
    }
    if (response.statusCode !== 200) {
      throw new RegistryError(
        response.statusCode >= 500 ? 'SERVER_ERROR' : 'PROTOCOL',
        `the token service of ${registry} answered HTTP ${response.statusCode}; try again later`,
        { reference: registry, status: response.statusCode },
      );
    }
    const parsed = parseTokenResponse(text);
    if (!parsed) {
      throw new RegistryError('PROTOCOL', `the token service of ${registry} answered without a token`, {
        reference: registry,
      });
    }
    const issued = parsed.issuedAt ?? issuedAt;
    this.#tokens.set(key, parsed.token, parsed.expiresIn, Number.isNaN(issued) ? issuedAt : issued);
    return parsed.token;
  }
}

function toBearer(challenge: Challenge): { scheme: 'bearer'; realm: string; service?: string } {
  return {
    scheme: 'bearer',
    realm: challenge.params.realm!,
    ...(challenge.params.service !== undefined && { service: challenge.params.service }),
  };
}

function accountOf(credentials: Credentials | undefined): string {
  return credentials?.username ?? (credentials?.identityToken ? '<token>' : '');
}

/** `token` or `access_token`, `expires_in` (default 60 s as the spec says), `issued_at`. */
export function parseTokenResponse(
  text: string,
): { token: string; expiresIn: number; issuedAt?: number } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  const record = json as Record<string, unknown>;
  const token =
    typeof record.token === 'string' && record.token
      ? record.token
      : typeof record.access_token === 'string' && record.access_token
        ? record.access_token
        : undefined;
  if (!token) return undefined;
  const expiresIn =
    typeof record.expires_in === 'number' && record.expires_in > 0 ? Math.max(record.expires_in, 60) : 60;
  const issuedAt = typeof record.issued_at === 'string' ? Date.parse(record.issued_at) : undefined;
  return { token, expiresIn, ...(issuedAt !== undefined && { issuedAt }) };
}
