/** What a registry account is: a user name and password, or an identity (refresh) token. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm. */
  identityToken?: string;
}

export interface CredentialRequest {
  /** host[:port] as in image references (`docker.io` for Docker Hub). */
  registry: string;
  /** The repository the credentials are for, when known (config keys may be `host/prefix`). */
  repository?: string;
}

/** Finds credentials for a registry; undefined means "none here", and the next source is asked. */
export type CredentialProvider = (request: CredentialRequest) => Promise<Credentials | undefined>;

/** Asks a person, e.g. on a TTY; supplied by the CLI, used only when nothing else has credentials. */
export type CredentialPrompt = (request: CredentialRequest) => Promise<Credentials | undefined>;

export function hasCredentials(credentials: Credentials | undefined): credentials is Credentials {
  return Boolean(credentials && (credentials.identityToken || credentials.username));
}

/** The same credentials for every request (e.g. from `docker://user:pass@host/...`). */
export function staticCredentials(credentials: Credentials): CredentialProvider {
  return async () => credentials;
}

/** Asks each provider in turn and returns the first credentials found. */
export function chainCredentialProviders(
  ...providers: Array<CredentialProvider | undefined>
): CredentialProvider {
  return async (request) => {
    for (const provider of providers) {
      if (!provider) continue;
      const found = await provider(request);
      if (hasCredentials(found)) return found;
    }
    return undefined;
  };
}

/** Decodes a config file's base64 `user:pass`. */
export function decodeAuth(auth: string): Credentials | undefined {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
