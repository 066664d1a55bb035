// The parts of undici the client uses, loaded alone. undici's index loads all of undici (fetch,
// WebSocket, caches, mocks, a SQLite cache store) and, through its cookie helpers, Node's own
// bundled copy of undici too: ~4 MiB more heap and ~40% more load time for nothing we call.
import type { Dispatcher as DispatcherType, EnvHttpProxyAgent as EnvHttpProxyAgentClass } from 'undici';
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import envHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';

// What undici's index does first: dispatchers get request, stream, pipeline, upgrade and connect
// (its proxy agent connects through them).
Object.assign(Dispatcher.prototype, api);

export const EnvHttpProxyAgent: typeof EnvHttpProxyAgentClass = envHttpProxyAgent;

export type RequestOptions = Omit<DispatcherType.RequestOptions, 'origin' | 'path' | 'method'> & {
  method: DispatcherType.HttpMethod;
  dispatcher: DispatcherType;
};

/** undici's `request(url, options)` (as its index defines it) for a request with a dispatcher. */
export function request(
  url: URL,
  { dispatcher, ...options }: RequestOptions,
): Promise<DispatcherType.ResponseData> {
  return dispatcher.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
