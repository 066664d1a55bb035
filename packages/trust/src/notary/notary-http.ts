import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Credentials, parseChallenges, parseTokenResponse } from '@concil/registry-client';
import { TrustError } from '../errors.js';

/** The most a metadata file may weigh (notary's own limit for a download is 100 MiB; TUF files are small). */
export const MAX_METADATA_BYTES = 16 << 20;

export interface NotaryHttpOptions {
  /** A PEM file of extra CAs for the server's TLS (the configuration's `cafile`). */
  caFile?: string;
  /**
   * Credentials for a server behind token (or basic) auth, asked only when it answers 401: the
   * registry's, as Docker sends them to its Notary server. Identity tokens are not exchanged.
   */
  credentials?: () => Promise<Credentials | undefined>;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

/** A keep-alive connection to one Notary server; TLS verified against the system's CAs and `caFile`. */
export class NotaryHttp {
  readonly #base: URL;
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #caFile: string | undefined;
  /** node:https and its agent, loaded at the first https request: setting up TLS costs ~120 M instructions. */
  #https: Promise<{ agent: HttpsAgent; request: typeof httpsRequest }> | undefined;
  readonly #credentials: NotaryHttpOptions['credentials'];
  /** Authorization headers by token scope (`repository:<gun>:pull`), reused while they work. */
  readonly #authorizations = new Map<string, string>();

  constructor(serverUrl: string, options: NotaryHttpOptions = {}) {
    this.#credentials = options.credentials;
    this.#base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
    this.#caFile = options.caFile;
  }

  get url(): string {
    return this.#base.href.replace(/\/$/, '');
  }

  /** GETs a path below the server; `undefined` when it answers 404. */
  async get(path: string, maxBytes = MAX_METADATA_BYTES): Promise<Uint8Array | undefined> {
    const response = await this.#authorized('GET', path);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.#failure('GET', path, response.status, response.body);
    if (response.body.byteLength > maxBytes) {
      throw new TrustError(
        'METADATA_INVALID',
        `${this.#href(path)} is larger than ${maxBytes} bytes`,
        this.#href(path),
      );
    }
    return response.body;
  }

  /** POSTs metadata files as notary's client does: one multipart part `files` per role. */
  async postMetadata(path: string, files: Record<string, Uint8Array>): Promise<void> {
    const boundary = `concil-${crypto.randomUUID()}`;
    const parts: Buffer[] = [];
    for (const [role, bytes] of Object.entries(files)) {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${role}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        Buffer.from(bytes),
        Buffer.from('\r\n'),
      );
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const response = await this.#authorized(
      'POST',
      path,
      Buffer.concat(parts),
      `multipart/form-data; boundary=${boundary}`,
    );
    if (response.status !== 200 && response.status !== 201) {
      throw this.#failure('POST', path, response.status, response.body);
    }
  }

  async close(): Promise<void> {
    this.#httpAgent.destroy();
    (await this.#https?.catch(() => undefined))?.agent.destroy();
  }

  #href(path: string): string {
    return new URL(path, this.#base).href;
  }

  /**
   * Sends a request with the authorization its scope last got; on 401, answers the server's
   * challenge (a bearer token from its realm, or basic) with the credentials and sends it again.
   */
  async #authorized(method: string, path: string, body?: Buffer, contentType?: string): Promise<Response> {
    const gun = /^v2\/(.+)\/_trust\//.exec(path)?.[1] ?? '';
    // notary-server asks push for a GUN's timestamp key (it may make one) and for uploads.
    const actions = method === 'GET' && !path.endsWith('.key') ? 'pull' : 'push,pull';
    const scope = `repository:${gun}:${actions}`;
    const first = await this.#send(method, path, body, contentType, this.#authorizations.get(scope));
    if (first.status !== 401) return first;
    const header = first.headers['www-authenticate'];
    const challenges = parseChallenges(Array.isArray(header) ? header.join(', ') : header);
    const credentials = await this.#credentials?.();
    const authorization = await this.#answer(challenges, scope, credentials, path);
    this.#authorizations.set(scope, authorization);
    const second = await this.#send(method, path, body, contentType, authorization);
    if (second.status === 401 || second.status === 403) {
      this.#authorizations.delete(scope);
      throw new TrustError(
        'NOTARY_UNAVAILABLE',
        `${this.#href(path)} refuses ${scope} (${second.status}): ${credentials?.username !== undefined ? `the credentials of ${credentials.username} do not grant it` : 'no credentials for this registry; log in first'}`,
        this.#href(path),
      );
    }
    return second;
  }

  async #answer(
    challenges: ReturnType<typeof parseChallenges>,
    scope: string,
    credentials: Credentials | undefined,
    path: string,
  ): Promise<string> {
    const basic =
      credentials?.username !== undefined
        ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password ?? ''}`).toString('base64')}`
        : undefined;
    const bearer = challenges.find((each) => each.scheme === 'bearer' && each.params.realm);
    if (bearer) {
      const realm = new URL(bearer.params.realm as string);
      if (bearer.params.service) realm.searchParams.set('service', bearer.params.service);
      realm.searchParams.set('scope', scope);
      const answer = await this.#send('GET', realm.href, undefined, undefined, basic);
      const token =
        answer.status === 200 ? parseTokenResponse(Buffer.from(answer.body).toString('utf8')) : undefined;
      if (token) return `Bearer ${token.token}`;
      throw new TrustError(
        'NOTARY_UNAVAILABLE',
        `the token service ${realm.origin} gave no token for ${scope} (${answer.status})${basic ? '' : ': no credentials for this registry; log in first'}`,
        this.#href(path),
      );
    }
    if (challenges.some((each) => each.scheme === 'basic') && basic) return basic;
    throw new TrustError(
      'NOTARY_UNAVAILABLE',
      `${this.#href(path)} asks for authentication${basic ? ' that concil cannot answer' : ': no credentials for this registry; log in first'}`,
      this.#href(path),
    );
  }

  #failure(method: string, path: string, status: number, body: Uint8Array): TrustError {
    const detail = Buffer.from(body).toString('utf8').slice(0, 300).trim();
    return new TrustError(
      'NOTARY_UNAVAILABLE',
      `${method} ${this.#href(path)} answered ${status}${detail ? `: ${detail}` : ''}`,
      this.#href(path),
    );
  }

  #httpsClient(): Promise<{ agent: HttpsAgent; request: typeof httpsRequest }> {
    this.#https ??= (async () => {
      const [{ Agent, request }, { rootCertificates }] = await Promise.all([
        import('node:https'),
        import('node:tls'),
      ]);
      const extra = this.#caFile ? [await readFile(this.#caFile, 'utf8')] : [];
      return { agent: new Agent({ keepAlive: true, ca: [...rootCertificates, ...extra] }), request };
    })();
    return this.#https;
  }

  async #send(
    method: string,
    path: string,
    body?: Buffer,
    contentType?: string,
    authorization?: string,
  ): Promise<Response> {
    const url = new URL(path, this.#base);
    const https = url.protocol === 'https:';
    const { agent, request: send } = https
      ? await this.#httpsClient()
      : { agent: this.#httpAgent, request: httpRequest };
    try {
      return await new Promise((resolve, reject) => {
        const request = send(
          url,
          {
            method,
            agent,
            headers: {
              ...(authorization && { authorization }),
              ...(body && { 'content-type': contentType, 'content-length': body.byteLength }),
            },
          },
          (response: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let size = 0;
            response.on('data', (chunk: Buffer) => {
              size += chunk.byteLength;
              if (size > MAX_METADATA_BYTES) {
                response.destroy(new Error(`the answer is larger than ${MAX_METADATA_BYTES} bytes`));
                return;
              }
              chunks.push(chunk);
            });
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(chunks),
              }),
            );
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    } catch (error) {
      throw new TrustError(
        'NOTARY_UNAVAILABLE',
        `cannot reach ${url.origin}${url.origin === this.#base.origin ? ' (the Notary server)' : ''}: ${(error as Error).message}; check remote_servers.<host>.notary and cafile`,
        url.origin,
        { cause: error },
      );
    }
  }
}
