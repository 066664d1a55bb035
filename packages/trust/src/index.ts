export { COSIGN_SIGN_PREDICATE_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE } from './cosign/bundle-attachment.js';
export { type SignBundleOptions, type SignBundleResult, signImageBundle } from './cosign/bundle-sign.js';
export { checkBundle, verifyBundles } from './cosign/bundle-verify.js';
export {
  checkSignature,
  type ExpectedClaim,
  type SignatureRejection,
  type SignatureVerdict,
  type TrustedKey,
} from './cosign/check-signature.js';
export { cosignMethodFactory, cosignTrustMethod } from './cosign/cosign-method.js';
export { LEGACY_SCRYPT, type ScryptParams } from './cosign/encrypted-envelope.js';
export { CosignKeyDirectory, type KeyEntry } from './cosign/key-directory.js';
export { loadSigningKey, loadTrustedKeys } from './cosign/key-spec.js';
export {
  COSIGN_PRIVATE_KEY_LABEL,
  type CosignKeyPair,
  encryptPrivateKey,
  generateCosignKeyPair,
  keyFingerprint,
  publicKeyPem,
  readPrivateKey,
  readPublicKey,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from './cosign/keys.js';
export { type PasswordSource, resolvePassword } from './cosign/password.js';
export {
  COSIGN_SIGNATURE_TYPE,
  encodePayload,
  parsePayload,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SimpleSigningPayload,
} from './cosign/payload.js';
export { type SignImageOptions, type SignImageResult, signImage } from './cosign/sign.js';
export { signatureTag } from './cosign/signature-image.js';
export {
  type ImageVerification,
  requireVerified,
  type VerifyImageOptions,
  verifyImage,
} from './cosign/verify-image.js';
export { isTrustError, TrustError, type TrustErrorCode } from './errors.js';
export { canonicalJson } from './notary/canonical-json.js';
export {
  type NotaryConfig,
  notaryCredentials,
  notaryServerFor,
  notaryTrustDir,
  requireNotaryServer,
} from './notary/notary-config.js';
export { NotaryHttp, type NotaryHttpOptions } from './notary/notary-http.js';
export {
  type PublishNotaryTargetOptions,
  type PublishNotaryTargetResult,
  publishNotaryTarget,
} from './notary/notary-publish.js';
export {
  NotaryRepository,
  type NotaryRepositoryOptions,
  type TrustedMetadata,
  type TrustedTarget,
} from './notary/notary-repository.js';
export {
  type NotaryKeyOptions,
  type NotarySignedTag,
  type NotaryTag,
  signNotaryTag,
} from './notary/notary-sign-tag.js';
export {
  type NotaryTrustMethod,
  type NotaryTrustRequest,
  notaryTrustMethod,
} from './notary/notary-trust-method.js';
export { NotaryVerifier, type NotaryVerifierOptions } from './notary/notary-verifier.js';
export { parseTrustPinning, type TrustPinning } from './notary/root-trust.js';
export { type TufKey, tufKeyId } from './notary/tuf-keys.js';
export { guardTarget } from './policy/guarded-target.js';
export {
  type RemoteTrustSettings,
  settingsFor,
  type TrustPolicyConfig,
  type TrustSettings,
} from './policy/policy-settings.js';
export type { TagRequest, TrustDecision, TrustMethod, TrustRequest } from './policy/trust-method.js';
export { type StoreTrustVerifier, type TrustMethodFactory, TrustPolicy } from './policy/trust-policy.js';
