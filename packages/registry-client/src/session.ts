import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { Authorizer } from './auth/authorizer.js';
import { afterRetries, type ErrorContext, errorFromResponse } from './error-response.js';
import { RegistryError } from './errors.js';
import { RequestLimiter } from './request-limiter.js';
import {
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  retryDelay,
  sleep,
} from './retry.js';
import { isTlsError } from './transport.js';
import { loadUndici } from './undici.js';

export type ResponseBody = Dispatcher.ResponseData['body'];

export interface RegistryRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** `/v2/…` on the registry (under the base URL's path), or an absolute URL (an upload location). */
  path: string;
  headers?: Record<string, string>;
  /** Byte bodies are sent again on retries; a stream is sent once. */
  body?: Uint8Array | string | Readable;
  /** Token scopes the request needs, e.g. `repository:app:pull`. */
  scopes: string[];
  /** The repository, to look up credentials keyed by repository prefix. */
  repository?: string;
  context: ErrorContext;
  /** Statuses that count as an answer (default: 2xx). Others become a RegistryError. */
  expect?: number[];
  signal?: AbortSignal;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  /** The URL that answered (after redirects). */
  url: URL;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 5;
const maxErrorBody = 64 * 1024;

/** One header value as a string. */
export function header(response: { headers: RegistryResponse['headers'] }, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Sends requests to one registry: authorization on demand, retries with backoff on 5xx, 429
 * and broken connections, and redirects followed by hand — to another origin without the
 * Authorization header, so credentials only ever go to the registry they belong to.
 */
export class RegistrySession {
  readonly registry: string;
  /** Where the API is: `/v2/…` goes under its path. */
  readonly baseUrl: URL;
  readonly authorizer: Authorizer;
  readonly #dispatcher: () => Promise<Dispatcher>;
  readonly #retry: Required<RetryOptions>;
  readonly #userAgent: string;
  readonly #limiter: RequestLimiter;

  constructor(options: {
    registry: string;
    baseUrl: URL;
    authorizer: Authorizer;
    dispatcher: () => Promise<Dispatcher>;
    retry: Required<RetryOptions>;
    userAgent: string;
    maxConcurrency: number;
  }) {
    this.registry = options.registry;
    this.baseUrl = new URL(options.baseUrl);
    this.authorizer = options.authorizer;
    this.#dispatcher = options.dispatcher;
    this.#retry = options.retry;
    this.#userAgent = options.userAgent;
    this.#limiter = new RequestLimiter(options.maxConcurrency);
  }

  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const replayable = !isStream(req.body);
    const scopes = [...req.scopes];
    let method = req.method;
    let body = req.body;
    let url = req.path.startsWith('/')
      ? new URL(`${this.baseUrl.pathname.replace(/\/$/, '')}${req.path}`, this.baseUrl)
      : new URL(req.path);
    let attempt = 0;
    let authRetried = false;
    let redirects = 0;
    const dispatcher = await this.#dispatcher();
    const { request } = await loadUndici();
    for (;;) {
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
      const toRegistry = url.origin === this.baseUrl.origin;
      let authorization: string | undefined;
      if (toRegistry) {
        authorization = await this.authorizer.authorization(scopes, req.repository);
        if (authorization) headers.authorization = authorization;
      }
      let response: Dispatcher.ResponseData;
      try {
        // undici frees a keep-alive connection one event-loop turn after its response ended (it
        // waits that turn to see whether the server closes it); a request sent before that turn
        // opens a second connection. Waiting a turn (microseconds) lets it reuse the first.
        await nextTurn();
        const send = () =>
          request(url, {
            method,
            headers,
            ...(body !== undefined && { body }),
            dispatcher,
            ...(req.signal && { signal: req.signal }),
          });
        // Uploads stream for as long as they take: bounded by the caller, not by a slot here.
        response = replayable ? await this.#limiter.run(send) : await send();
      } catch (error) {
        if (req.signal?.aborted) throw error;
        if (replayable && isRetryableNetworkError(error) && attempt < this.#retry.maxRetries) {
          await sleep(retryDelay(attempt++, this.#retry), req.signal);
          continue;
        }
        throw networkError(error, url, { ...req.context, retries: attempt });
      }
      const status = response.statusCode;

      if (status === 401 && toRegistry && !authRetried) {
        await response.body.dump();
        const outcome = await this.authorizer.onChallenge(
          header(response, 'www-authenticate'),
          scopes,
          req.repository,
          authorization !== undefined,
        );
        if (outcome === 'retry' && replayable) {
          authRetried = true;
          continue;
        }
        throw await this.#authError(outcome === 'denied' ? 403 : 401, req);
      }

      if (redirectStatuses.has(status) && (method === 'GET' || method === 'HEAD' || status === 303)) {
        await response.body.dump();
        const location = header(response, 'location');
        // Only the host is named: a redirect's query may carry a signature (a presigned storage URL).
        const problem = !location
          ? `${url.host} answered HTTP ${status} without a Location`
          : redirects++ >= maxRedirects
            ? `more than ${maxRedirects} redirects, the last to ${new URL(location, url).host}: the redirects go round in a loop`
            : undefined;
        if (problem || !location) {
          throw new RegistryError('PROTOCOL', `${req.context.reference}: ${problem}`, {
            reference: req.context.reference,
            status,
          });
        }
        url = new URL(location, url);
        if (status === 303 && method !== 'HEAD') {
          method = 'GET';
          body = undefined;
        }
        continue;
      }

      if (isRetryableStatus(status) && replayable && attempt < this.#retry.maxRetries) {
        await response.body.dump();
        const wait = retryDelay(attempt++, this.#retry, parseRetryAfter(header(response, 'retry-after')));
        await sleep(wait, req.signal);
        continue;
      }

      const expected = req.expect ? req.expect.includes(status) : status >= 200 && status < 300;
      if (expected) return { status, headers: response.headers, body: response.body, url };

      if (status === 401 && toRegistry) throw await this.#authError(401, req);
      const text = method === 'HEAD' ? '' : await readLimited(response.body, maxErrorBody);
      if (method === 'HEAD') await response.body.dump();
      throw errorFromResponse(status, text, {
        ...req.context,
        authenticated: authorization !== undefined,
        ...(isRetryableStatus(status) && { retries: attempt }),
      });
    }
  }

  /** After a 401 the credentials were already looked up, so asking again costs nothing (no prompt). */
  async #authError(status: 401 | 403, req: RegistryRequest): Promise<RegistryError> {
    return errorFromResponse(status, '', {
      ...req.context,
      authenticated: await this.authorizer.hasCredentials(req.repository),
    });
  }
}

function isStream(body: RegistryRequest['body']): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}

async function readLimited(body: ResponseBody, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    if (size < limit) chunks.push(buffer.subarray(0, limit - size));
    size += buffer.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a small response body (`what`: "the manifest") in full, refusing more than `limit` bytes:
 * by its Content-Length before a byte is read, else as soon as more has come.
 */
export async function readBodyBytes(
  response: Pick<RegistryResponse, 'headers' | 'body'>,
  limit: number,
  reference: string,
  what: string,
): Promise<Buffer> {
  const { body } = response;
  const tooLarge = (size: string): RegistryError => {
    body.destroy();
    return new RegistryError(
      'SIZE_INVALID',
      `${reference}: ${what} is ${size} than the ${limit} bytes this client reads; refusing it, as no registry serves one so large`,
      { reference },
    );
  };
  const announced = Number(header(response, 'content-length'));
  if (announced > limit) throw tooLarge(`${announced} bytes, more`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw tooLarge('larger');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function networkError(error: unknown, url: URL, context: ErrorContext): RegistryError {
  if (error instanceof RegistryError) return error;
  if (isTlsError(error)) {
    return new RegistryError(
      'TLS',
      `TLS verification failed for ${url.host} (${(error as Error).message}); add its CA with --ca-file or /etc/containers/certs.d/${url.host}/, or use --insecure for a registry you control`,
      { reference: context.reference, cause: error },
    );
  }
  const code = (error as { code?: string }).code;
  return new RegistryError(
    'NETWORK',
    `cannot reach ${url.host} for ${context.reference}${code ? ` (${code})` : ''}${context.retries ? `, still ${afterRetries(context.retries)}` : ''}; check the address, the network and proxy settings`,
    { reference: context.reference, cause: error },
  );
}
