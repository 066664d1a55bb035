/** The one error class of @concil/trust: a code, the thing it concerns, and what to do. */
export type TrustErrorCode =
  /** A key file that is no key concil can read (bad PEM, unknown type, not EC P-256). */
  | 'KEY_INVALID'
  /** An encrypted private key that the password does not open. */
  | 'KEY_PASSWORD_WRONG'
  /** An encrypted private key and no password from COSIGN_PASSWORD, a file or a prompt. */
  | 'KEY_PASSWORD_MISSING'
  /** No key of that name in the key directory, or no key file at that path. */
  | 'KEY_NOT_FOUND'
  /** A key of that name is already in the key directory. */
  | 'KEY_EXISTS'
  /** A target that is no registry repository, and no identity (docker-reference) was named. */
  | 'IDENTITY_MISSING'
  /** A target that cannot hold what is asked of it (signatures need tags). */
  | 'UNSUPPORTED'
  /** A signature manifest or payload that is not what cosign writes. */
  | 'SIGNATURE_INVALID'
  /** The configuration asks for a trust system concil has no verifier for. */
  | 'METHOD_UNAVAILABLE'
  /** The image does not verify: unsigned, bad signature, unknown key, or signed for something else. */
  | 'VERIFICATION_FAILED'
  /** A Notary server that cannot be reached or answers with an error. */
  | 'NOTARY_UNAVAILABLE'
  /** No Notary server is configured for a registry (`remote_servers[host].notary`). */
  | 'NOTARY_NOT_CONFIGURED'
  /** TUF metadata that is not what Notary writes (bad JSON, missing fields, wrong type). */
  | 'METADATA_INVALID'
  /** TUF metadata without the threshold of valid signatures of its role's keys. */
  | 'METADATA_SIGNATURE_INVALID'
  /** TUF metadata past its `expires`. */
  | 'METADATA_EXPIRED'
  /** TUF metadata older than what is trusted already (a rollback or freeze). */
  | 'METADATA_ROLLBACK'
  /** TUF metadata whose bytes do not match the hash or length its parent role names. */
  | 'METADATA_HASH_MISMATCH'
  /** A root whose keys neither the pinned certificates/CA nor the trusted root vouch for. */
  | 'ROOT_UNTRUSTED'
  /** The tag is not among the GUN's signed targets. */
  | 'TARGET_NOT_FOUND'
  /** A manifest whose digest or size is not the signed target's. */
  | 'TARGET_MISMATCH';

export class TrustError extends Error {
  override readonly name = 'TrustError';
  constructor(
    readonly code: TrustErrorCode,
    message: string,
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isTrustError(error: unknown, code?: TrustErrorCode): error is TrustError {
  return error instanceof TrustError && (code === undefined || error.code === code);
}
