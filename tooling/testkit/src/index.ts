export { certificateAuthority, selfSignedCertificate, type TestCertificateAuthority } from './certificate.js';
export {
  type Fault,
  type FaultProxy,
  type ProxiedRequest,
  type RedirectTarget,
  type RequestMatch,
  startFaultProxy,
  type UpstreamResponse,
} from './fault-proxy.js';
export * from './fixtures/index.js';
export { findFreePort } from './free-port.js';
export { type HttpProxy, startHttpProxy } from './http-proxy.js';
export { type NotaryCliResult, startNotary, type TestNotary } from './notary.js';
export { startPodman, type TestPodman } from './podman.js';
export { mountReadOnly, type ReadOnlyMount } from './read-only-mount.js';
export {
  type RegistryAuth,
  type StartRegistryOptions,
  startRegistry,
  type TestRegistry,
  type TestRegistryTls,
} from './registry.js';
export { tagListPagination } from './tag-pagination.js';
export {
  type AccessEntry,
  type GrantPolicy,
  startTokenIssuer,
  type TokenIssuer,
  type TokenIssuerOptions,
} from './token-issuer.js';
export { ensureTools, findTool, toolPackages } from './tools.js';
