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

/** Codes with which targets say "no such manifest, tag or repository" (registry-client, image, store). */
const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'NOT_FOUND']);

/** Whether an error of any package's targets means that what was asked for is not there. */
export function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_FOUND_CODES.has(code);
}
