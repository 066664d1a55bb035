import { randomUUID, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { importPKCS8, SignJWT } from 'jose';
import { selfSignedCertificate } from './certificate.js';

/** A Docker token-auth issuer on loopback: checks basic credentials, signs ES256 JWTs. */
export interface TokenIssuer {
  /** The realm URL the registry sends clients to. */
  realm: string;
  service: string;
  issuer: string;
  /** The PEM bundle the registry trusts (`auth.token.rootcertbundle`). */
  certPath: string;
  /** How many token requests were answered (granted or not). */
  requestCount(): number;
  /** The scopes asked for, one entry per token request. */
  requestedScopes(): string[][];
  stop(): Promise<void>;
}

export interface TokenIssuerOptions {
  /** Where the key and certificate are written. */
  dir: string;
  users: Record<string, string>;
  service?: string;
  issuer?: string;
  /** Lifetime of a token in seconds (default 300). */
  expiresIn?: number;
  /** The actions a user is granted on a resource (default: all it asks for; anonymous: none). */
  grant?: GrantPolicy;
  /** OAuth2 refresh tokens (docker's identity tokens) and the user each stands for. */
  refreshTokens?: Record<string, string>;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** Decides which of the requested actions a user (undefined: anonymous) gets. */
export type GrantPolicy = (user: string | undefined, requested: AccessEntry) => string[];

const grantAllToUsers: GrantPolicy = (user, requested) => (user === undefined ? [] : requested.actions);

/**
 * Distribution 2.8 verifies tokens against x509 roots: the JWT header carries the signing
 * certificate in `x5c`, and the certificate itself is the only root in the bundle.
 */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const { keyPath, certPath } = await selfSignedCertificate(options.dir, 'token-issuer');
  const privateKey = await importPKCS8(await readFile(keyPath, 'utf8'), 'ES256');
  const certificate = new X509Certificate(await readFile(certPath));
  const x5c = [certificate.raw.toString('base64')];
  const service = options.service ?? 'concil-test-registry';
  const issuer = options.issuer ?? 'concil-testkit';
  const expiresIn = options.expiresIn ?? 300;
  let requests = 0;
  const scopes: string[][] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://issuer');
    if (url.pathname !== '/token') {
      response.writeHead(404).end();
      return;
    }
    requests += 1;
    let params = url.searchParams;
    let user: string | undefined | false;
    if (request.method === 'POST') {
      // OAuth2 (docker's identity tokens): a form with grant_type=refresh_token or password.
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const grant = params.get('grant_type');
      if (grant === 'refresh_token') {
        user = options.refreshTokens?.[params.get('refresh_token') ?? ''] ?? false;
      } else if (grant === 'password') {
        const name = params.get('username') ?? '';
        user =
          options.users[name] !== undefined && options.users[name] === params.get('password') ? name : false;
      } else {
        user = false;
      }
    } else {
      user = authenticate(request.headers.authorization, options.users);
    }
    const requested = params.getAll('scope').flatMap((each) => each.split(' ').filter(Boolean));
    scopes.push(requested);
    if (user === false) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const grant = options.grant ?? grantAllToUsers;
    const access = requested
      .map(parseScope)
      .filter((each) => each !== undefined)
      .map((each) => ({ ...each, actions: grant(user, each) }))
      .filter((each) => each.actions.length > 0);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', x5c })
      .setIssuer(issuer)
      .setSubject(user ?? '')
      .setAudience(service)
      .setIssuedAt(now)
      .setNotBefore(now - 10)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(privateKey);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requestCount: () => requests,
    requestedScopes: () => scopes.map((each) => [...each]),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The user name, `undefined` for anonymous, `false` for wrong credentials. */
function authenticate(header: string | undefined, users: Record<string, string>): string | undefined | false {
  if (!header) return undefined;
  const [scheme, value] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user] === decoded.slice(colon + 1) ? user : false;
}

function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}
