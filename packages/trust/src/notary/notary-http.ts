import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { TrustError } from '../errors.js';

/** The most a metadata file may weigh (notary's own limit for a download is 100 MiB; TUF files are small). */
export const MAX_METADATA_BYTES = 16 << 20;

export interface NotaryHttpOptions {
  /** A PEM file of extra CAs for the server's TLS (the configuration's `cafile`). */
  caFile?: string;
}

/** A keep-alive connection to one Notary server; TLS verified against the system's CAs and `caFile`. */
export class NotaryHttp {
  readonly #base: URL;
  readonly #agent: Promise<HttpAgent>;

  constructor(serverUrl: string, options: NotaryHttpOptions = {}) {
    this.#base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
    const https = this.#base.protocol === 'https:';
    this.#agent = (async () => {
      if (!https) return new HttpAgent({ keepAlive: true });
      const extra = options.caFile ? [await readFile(options.caFile, 'utf8')] : [];
      return new HttpsAgent({ keepAlive: true, ca: [...rootCertificates, ...extra] });
    })();
  }

  get url(): string {
    return this.#base.href.replace(/\/$/, '');
  }

  /** GETs a path below the server; `undefined` when it answers 404. */
  async get(path: string, maxBytes = MAX_METADATA_BYTES): Promise<Uint8Array | undefined> {
    const response = await this.#send('GET', path);
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
    const response = await this.#send(
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
    (await this.#agent).destroy();
  }

  #href(path: string): string {
    return new URL(path, this.#base).href;
  }

  #failure(method: string, path: string, status: number, body: Uint8Array): TrustError {
    const detail = Buffer.from(body).toString('utf8').slice(0, 300).trim();
    return new TrustError(
      'NOTARY_UNAVAILABLE',
      `${method} ${this.#href(path)} answered ${status}${detail ? `: ${detail}` : ''}`,
      this.#href(path),
    );
  }

  async #send(
    method: string,
    path: string,
    body?: Buffer,
    contentType?: string,
  ): Promise<{ status: number; body: Uint8Array }> {
    const url = new URL(path, this.#base);
    const agent = await this.#agent;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      return await new Promise((resolve, reject) => {
        const request = send(
          url,
          {
            method,
            agent,
            headers: {
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
              resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
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
        `cannot reach the Notary server at ${url.origin}: ${(error as Error).message}; check remote_servers.<host>.notary and cafile`,
        url.origin,
        { cause: error },
      );
    }
  }
}
