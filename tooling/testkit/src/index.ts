export {
  type Fault,
  type FaultProxy,
  type ProxiedRequest,
  type RedirectTarget,
  type RequestMatch,
  startFaultProxy,
  type UpstreamResponse,
} from './fault-proxy.js';
export { findFreePort } from './free-port.js';
export {
  type RegistryAuth,
  type StartRegistryOptions,
  startRegistry,
  type TestRegistry,
} from './registry.js';
export { startTokenIssuer, type TokenIssuer, type TokenIssuerOptions } from './token-issuer.js';
export { ensureTools, findTool, toolPackages } from './tools.js';
