/** The one error class of oci-spec: a code, the thing it concerns, and what to do. */
export type OciSpecErrorCode =
  | 'DIGEST_INVALID'
  | 'SIZE_INVALID'
  | 'MANIFEST_INVALID'
  | 'CONFIG_INVALID'
  | 'REFERENCE_INVALID'
  | 'PLATFORM_INVALID'
  | 'PLATFORM_NOT_FOUND'
  | 'UNSUPPORTED';

export class OciSpecError extends Error {
  override readonly name = 'OciSpecError';
  constructor(
    readonly code: OciSpecErrorCode,
    message: string,
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
