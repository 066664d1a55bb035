import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';

/** Which requests a fault applies to; by default every request (status faults) or blob GETs (body faults). */
export interface RequestMatch {
  method?: string;
  path?: RegExp;
}

interface FaultBase {
  /** How many matching requests it hits before it passes them through (default 1). */
  times?: number;
  match?: RequestMatch;
}

/**
 * - `status`: answer with a status (e.g. 500, or 429 with `Retry-After`) and a plain-text body.
 * - `drop`: forward, then cut the connection after `afterBytes` bytes of the body.
 * - `corrupt`: forward with every chunk's first byte flipped (same length, wrong digest).
 * - `truncate`: forward `afterBytes` bytes without a Content-Length and end the response cleanly.
 * - `stall`: forward `afterBytes` bytes, then send nothing more, the connection left open: a
 *   transfer caught in the middle for as long as the test needs (until the client gives up).
 * - `body`: replace the upstream body (and drop its Docker-Content-Digest), e.g. a malformed manifest.
 * - `rewrite`: hand the whole upstream response to a function that returns another one, for
 *   features a real docker-registry 2.8 lacks (e.g. paginated tag lists).
 * - `redirect`: answer 307 to the second server on another loopback host, which serves the content
 *   through a one-time signature (as a presigned storage URL would) and records the headers it saw.
 * - `respond`: answer with a handler of the test's own, for what no proxied response can be made
 *   into (a body that never ends, headers that promise bytes which never come).
 */
export type Fault =
  | (FaultBase & { kind: 'status'; status: number; headers?: Record<string, string>; body?: string })
  | (FaultBase & { kind: 'drop'; afterBytes: number })
  | (FaultBase & { kind: 'corrupt' })
  | (FaultBase & { kind: 'truncate'; afterBytes: number })
  | (FaultBase & { kind: 'stall'; afterBytes: number })
  | (FaultBase & { kind: 'body'; body: string | Uint8Array; contentType?: string })
  | (FaultBase & { kind: 'rewrite'; rewrite: (response: UpstreamResponse) => UpstreamResponse })
  | (FaultBase & { kind: 'redirect' })
  | (FaultBase & { kind: 'respond'; respond: (request: IncomingMessage, response: ServerResponse) => void });

/** A whole response as the `rewrite` fault sees and returns it. */
export interface UpstreamResponse {
  /** The request's path and query. */
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  /** When it arrived (Date.now()), to check how long a client waited between requests. */
  receivedAt: number;
  /** The kind of fault injected, if any. */
  fault?: Fault['kind'];
  /** The status a `status` fault answered. */
  status?: number;
  authorization: boolean;
  range?: string;
}

export interface RedirectTarget {
  /** `127.0.0.2:PORT`: another host than the proxy's. */
  host: string;
  url: string;
  requests: ProxiedRequest[];
  /** Whether any request that reached it carried an Authorization header. */
  sawAuthorization(): boolean;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to use as the registry host. */
  host: string;
  url: string;
  requests: ProxiedRequest[];
  redirectTarget: RedirectTarget;
  inject(...faults: Fault[]): void;
  /** Faults still armed. */
  pending(): number;
  clear(): void;
  stop(): Promise<void>;
}

const blobGet: RequestMatch = { method: 'GET', path: /\/blobs\/sha256:/ };

/** A loopback HTTP server that proxies to a real registry and misbehaves on demand. */
export async function startFaultProxy(upstreamUrl: string, faults: Fault[] = []): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const armed: Array<Fault & { left: number }> = [];
  const signatures = new Map<string, string | undefined>();
  const requests: ProxiedRequest[] = [];
  const redirectRequests: ProxiedRequest[] = [];

  const inject = (...more: Fault[]): void => {
    for (const fault of more) armed.push({ ...fault, left: fault.times ?? 1 });
  };
  inject(...faults);

  const take = (request: IncomingMessage): Fault | undefined => {
    for (const fault of armed) {
      const anyRequest = fault.kind === 'status' || fault.kind === 'rewrite' || fault.kind === 'respond';
      const match = fault.match ?? (anyRequest ? {} : blobGet);
      if (match.method && match.method !== request.method) continue;
      if (match.path && !match.path.test(request.url ?? '')) continue;
      fault.left -= 1;
      if (fault.left <= 0) armed.splice(armed.indexOf(fault), 1);
      return fault;
    }
    return undefined;
  };

  let redirectHost = '';
  const proxy = createServer((request, response) => {
    const fault = take(request);
    requests.push(describe(request, fault));
    if (fault?.kind === 'status') {
      const body = fault.body ?? `injected ${fault.status}`;
      response.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
      response.end(body);
      request.resume();
      return;
    }
    if (fault?.kind === 'respond') {
      fault.respond(request, response);
      return;
    }
    if (fault?.kind === 'redirect') {
      const id = randomUUID();
      signatures.set(id, request.headers.authorization);
      const target = new URL(request.url ?? '/', `http://${redirectHost}`);
      target.searchParams.set('signature', id);
      response.writeHead(307, { location: target.toString(), 'content-length': '0' });
      response.end();
      request.resume();
      return;
    }
    forward(request, response, request.headers, fault);
  });

  const redirectServer = createServer((request, response) => {
    redirectRequests.push(describe(request, undefined));
    const url = new URL(request.url ?? '/', 'http://redirect');
    const id = url.searchParams.get('signature') ?? '';
    if (!signatures.has(id)) {
      response.writeHead(403, { 'content-type': 'text/plain' }).end('bad signature');
      return;
    }
    const authorization = signatures.get(id);
    url.searchParams.delete('signature');
    request.url = url.pathname + url.search;
    const headers: IncomingHttpHeaders = { ...request.headers, host: upstream.host };
    delete headers.authorization;
    if (authorization) headers.authorization = authorization;
    forward(request, response, headers, undefined);
  });

  function forward(
    request: IncomingMessage,
    response: ServerResponse,
    headers: IncomingHttpHeaders,
    fault: Fault | undefined,
  ): void {
    const outgoing = httpRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers,
      },
      (upstreamResponse) => respond(upstreamResponse, response, fault, request.url ?? '/'),
    );
    outgoing.on('error', () => response.destroy());
    request.pipe(outgoing);
  }

  function respond(from: IncomingMessage, to: ServerResponse, fault: Fault | undefined, url: string): void {
    const headers: OutgoingHttpHeaders = { ...from.headers };
    const status = from.statusCode ?? 502;
    if (!fault || status >= 300) {
      to.writeHead(status, headers);
      from.pipe(to);
      return;
    }
    if (fault.kind === 'body') {
      delete headers['content-length'];
      delete headers['docker-content-digest'];
      if (fault.contentType) headers['content-type'] = fault.contentType;
      from.resume();
      to.writeHead(status, headers);
      to.end(fault.body);
      return;
    }
    if (fault.kind === 'rewrite') {
      const chunks: Buffer[] = [];
      from.on('data', (chunk: Buffer) => chunks.push(chunk));
      from.on('end', () => {
        const rewritten = fault.rewrite({
          url,
          status,
          headers: { ...from.headers },
          body: Buffer.concat(chunks),
        });
        const out: OutgoingHttpHeaders = {
          ...rewritten.headers,
          'content-length': String(rewritten.body.length),
        };
        delete out['transfer-encoding'];
        to.writeHead(rewritten.status, out);
        to.end(rewritten.body);
      });
      return;
    }
    if (fault.kind === 'truncate') delete headers['content-length'];
    to.writeHead(status, headers);
    let sent = 0;
    from.on('data', (chunk: Buffer) => {
      if (fault.kind === 'corrupt') {
        const copy = Buffer.from(chunk);
        copy[0] = (copy[0] ?? 0) ^ 0xff;
        to.write(copy);
        return;
      }
      if (fault.kind !== 'drop' && fault.kind !== 'truncate' && fault.kind !== 'stall') {
        to.write(chunk);
        return;
      }
      if (sent >= fault.afterBytes) return;
      const slice = chunk.subarray(0, fault.afterBytes - sent);
      sent += slice.length;
      if (sent < fault.afterBytes) {
        to.write(slice);
        return;
      }
      from.destroy();
      if (fault.kind === 'truncate') {
        to.end(slice);
      } else if (fault.kind === 'stall') {
        to.write(slice);
      } else {
        to.write(slice, () => to.socket?.destroy());
      }
    });
    from.on('end', () => {
      if (!to.writableEnded) to.end();
    });
  }

  const listen = (server: Server, host: string): Promise<number> =>
    new Promise((resolve) =>
      server.listen(0, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );
  const proxyPort = await listen(proxy, '127.0.0.1');
  const redirectPort = await listen(redirectServer, '127.0.0.2');
  redirectHost = `127.0.0.2:${redirectPort}`;

  const close = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    host: `127.0.0.1:${proxyPort}`,
    url: `http://127.0.0.1:${proxyPort}`,
    requests,
    redirectTarget: {
      host: redirectHost,
      url: `http://${redirectHost}`,
      requests: redirectRequests,
      sawAuthorization: () => redirectRequests.some((each) => each.authorization),
    },
    inject,
    pending: () => armed.length,
    clear: () => {
      armed.length = 0;
    },
    stop: async () => {
      await Promise.all([close(proxy), close(redirectServer)]);
    },
  };
}

function describe(request: IncomingMessage, fault: Fault | undefined): ProxiedRequest {
  return {
    method: request.method ?? 'GET',
    url: request.url ?? '/',
    receivedAt: Date.now(),
    authorization: request.headers.authorization !== undefined,
    ...(fault && { fault: fault.kind }),
    ...(fault?.kind === 'status' && { status: fault.status }),
    ...(request.headers.range && { range: request.headers.range }),
  };
}
