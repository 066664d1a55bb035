export { type AuthEntry, credentialsFromAuths } from './auth/auth-file.js';
export { type MatchAuthKeyOptions, matchAuthKey, normalizeAuthKey } from './auth/auth-keys.js';
export { type ChallengeOutcome, parseTokenResponse } from './auth/authorizer.js';
export {
  type Challenge,
  catalogScope,
  mergeScopes,
  parseChallenges,
  repositoryScope,
} from './auth/challenge.js';
export { concilConfigPath, dockerConfigPath } from './auth/config-paths.js';
export {
  type CredentialSourceOptions,
  concilConfigCredentials,
  containersAuthCredentials,
  type DefaultCredentialOptions,
  defaultCredentialProvider,
  dockerConfigCredentials,
} from './auth/config-sources.js';
export { getFromCredentialHelper } from './auth/credential-helper.js';
export {
  type CredentialFile,
  credentialFile,
  removeCredentials,
  saveCredentials,
} from './auth/credential-store.js';
export {
  type CredentialPrompt,
  type CredentialProvider,
  type CredentialRequest,
  type Credentials,
  chainCredentialProviders,
  staticCredentials,
} from './auth/credentials.js';
export type { BlobRequestOptions, FetchBlobOptions } from './blobs.js';
export { DEFAULT_USER_AGENT, RegistryClient, type RegistryClientOptions } from './client.js';
export { isRegistryError, RegistryError, type RegistryErrorCode } from './errors.js';
export { type FetchedManifest, MAX_MANIFEST_BYTES } from './manifests.js';
export { nextLink } from './pagination.js';
export { type ReferrersOptions, referrersTag } from './referrers.js';
export {
  type OpenRegistryTargetOptions,
  openRegistryTarget,
  RegistryTarget,
} from './registry-target.js';
export { defaultRetryOptions, parseRetryAfter, type RetryOptions } from './retry.js';
export type { ListOptions } from './tags.js';
export { loadTlsMaterial, type TlsMaterial, type TransportOptions } from './transport.js';
export { DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKED_THRESHOLD, type UploadOptions } from './upload.js';
