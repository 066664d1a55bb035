import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PipelineError } from './errors.js';

/** Where Docker listens by default; Podman's root service listens on `/run/podman/podman.sock`. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** An error answer is read for its message, up to this many bytes. */
const MAX_ERROR_BYTES = 64 << 10;

/** What `GET /images/{name}/json` tells of an image (the fields used here). */
export interface EngineImage {
  Id: string;
  RootFS?: { Layers?: string[] };
}

/**
 * The few calls of the Docker Engine API (which Podman's service speaks too) that move images,
 * over the daemon's Unix socket with node:http: save (`GET /images/{name}/get`), load
 * (`POST /images/load`) and inspect (`GET /images/{name}/json`). Unversioned paths: every daemon
 * serves them at its own API version.
 */
export class DockerEngine {
  constructor(readonly socketPath: string = DEFAULT_DOCKER_SOCKET) {}

  /** The image as a `docker save` tar stream, straight from the daemon. */
  async saveImage(name: string): Promise<Readable> {
    return this.#send('GET', `/images/${imagePath(name)}/get`, name);
  }

  /** Loads a `docker save` tar stream; resolves once the daemon says it has loaded it. */
  async loadImage(tar: Readable): Promise<void> {
    const answer = await this.#send('POST', '/images/load?quiet=1', 'the image being loaded', tar);
    // Docker answers 200 and a JSON stream whose last message may be an error; Podman a status.
    const text = await readText(answer, MAX_ERROR_BYTES);
    for (const line of text.split('\n')) {
      const message = parseMessage(line, 'error');
      if (message) {
        throw new PipelineError(
          'DAEMON_FAILED',
          `the daemon on ${this.socketPath} did not load the image: ${message}`,
          this.socketPath,
        );
      }
    }
  }

  /** The image `name` as the daemon describes it, or undefined when it has none of that name. */
  async inspectImage(name: string): Promise<EngineImage | undefined> {
    try {
      const answer = await this.#send('GET', `/images/${imagePath(name)}/json`, name);
      const text = await readText(answer, MAX_ERROR_BYTES * 16);
      try {
        return JSON.parse(text) as EngineImage;
      } catch (cause) {
        throw new PipelineError(
          'DAEMON_FAILED',
          `the daemon on ${this.socketPath} described ${name} in something that is not JSON`,
          name,
          { cause },
        );
      }
    } catch (error) {
      if ((error as PipelineError).code === 'NOT_FOUND') return undefined;
      throw error;
    }
  }

  /**
   * Sends a request; a refused connection or an error status is a PipelineError naming `subject`.
   * node:http is loaded only here: a command that opens no daemon location does not pay for it.
   */
  async #send(method: string, path: string, subject: string, body?: Readable): Promise<IncomingMessage> {
    const { request } = await import('node:http');
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path }, (answer) => {
        const status = answer.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(answer);
          return;
        }
        readText(answer, MAX_ERROR_BYTES).then(
          (text) => reject(this.#statusError(status, text, subject)),
          (error: Error) => reject(this.#statusError(status, error.message, subject)),
        );
      });
      req.on('error', (error) => reject(this.#connectionError(error as NodeJS.ErrnoException)));
      if (!body) {
        req.end();
        return;
      }
      req.setHeader('Content-Type', 'application/x-tar');
      // A body that fails (the copy stopped) breaks the request off: the daemon loads nothing.
      pipeline(body, req).catch((error: Error) => req.destroy(error));
    });
  }

  #statusError(status: number, text: string, subject: string): PipelineError {
    const said = parseMessage(text, 'message') ?? text.trim().slice(0, 500);
    if (status === 404) {
      return new PipelineError(
        'NOT_FOUND',
        `the daemon on ${this.socketPath} has no image ${subject} (404: ${said}); list its images with docker images or podman images`,
        subject,
      );
    }
    return new PipelineError(
      'DAEMON_FAILED',
      `the daemon on ${this.socketPath} refused the request for ${subject} (${status}: ${said})`,
      subject,
    );
  }

  #connectionError(error: NodeJS.ErrnoException): PipelineError {
    if (error instanceof PipelineError) return error;
    const why =
      error.code === 'ENOENT'
        ? 'there is no socket there'
        : error.code === 'ECONNREFUSED'
          ? 'nothing listens on it'
          : error.code === 'EACCES'
            ? 'this user may not open it'
            : error.message;
    return new PipelineError(
      'DAEMON_UNREACHABLE',
      `cannot reach a Docker or Podman daemon on ${this.socketPath}: ${why}; start the daemon (podman system service) or give its socket with --socket PATH`,
      this.socketPath,
      { cause: error },
    );
  }
}

/** An image name or ID in a URL path: its `/` and `:` kept, as the Engine API routes them. */
function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/').replaceAll('%3A', ':').replaceAll('%40', '@');
}

async function readText(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      stream.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON message's `key` (Docker's `error`, Podman's and Docker's `message`), if the text is one. */
function parseMessage(text: string, key: 'error' | 'message'): string | undefined {
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[key];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
