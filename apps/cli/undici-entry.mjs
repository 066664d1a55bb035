// What the concil bundle takes of undici, in place of its index.js (see bundle.mjs): the registry
// client sends request()s through an EnvHttpProxyAgent, and uses none of fetch, WebSocket,
// EventSource, caches, cookies or mocks, whose loading (and that of Node's own fetch, which undici's
// cookies touch) cost every registry command 0.15 G instructions, a quarter of a `list docker://`.
// Built as undici 7's index.js builds them (MIT, Matteo Collina and undici contributors);
// bundle.mjs refuses another major version.
// Imported from undici's own directory: the paths are those of its package.

import api from './lib/api/index.js';
import errors from './lib/core/errors.js';
import util from './lib/core/util.js';
import Dispatcher from './lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgent from './lib/dispatcher/env-http-proxy-agent.js';
import { getGlobalDispatcher } from './lib/global.js';

// As the index does: every dispatcher (an agent's clients too) gets request(), stream(), connect()…
Object.assign(Dispatcher.prototype, api);

/** undici's makeDispatcher: the top-level `request(url, opts)` over a dispatcher's method. */
function makeDispatcher(fn) {
  return (url, opts, handler) => {
    if (typeof opts === 'function') {
      handler = opts;
      opts = null;
    }
    if (!url || (typeof url !== 'string' && typeof url !== 'object' && !(url instanceof URL))) {
      throw new errors.InvalidArgumentError('invalid url');
    }
    if (opts != null && typeof opts !== 'object') {
      throw new errors.InvalidArgumentError('invalid opts');
    }
    if (opts && opts.path != null) {
      if (typeof opts.path !== 'string') {
        throw new errors.InvalidArgumentError('invalid opts.path');
      }
      let path = opts.path;
      if (!opts.path.startsWith('/')) {
        path = `/${path}`;
      }
      url = new URL(util.parseOrigin(url).origin + path);
    } else {
      if (!opts) {
        opts = typeof url === 'object' ? url : {};
      }
      url = util.parseURL(url);
    }
    const { agent, dispatcher = getGlobalDispatcher() } = opts;
    if (agent) {
      throw new errors.InvalidArgumentError('unsupported opts.agent. Did you mean opts.client?');
    }
    return fn.call(
      dispatcher,
      {
        ...opts,
        origin: url.origin,
        path: url.search ? `${url.pathname}${url.search}` : url.pathname,
        method: opts.method || (opts.body ? 'PUT' : 'GET'),
      },
      handler,
    );
  };
}

export const request = makeDispatcher(api.request);
export { EnvHttpProxyAgent, errors };
