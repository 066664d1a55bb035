/** The one error class of the store: a code, the thing it concerns, and what to do. */
export type StoreErrorCode =
  | 'CONFIG_INVALID'
  | 'NOT_CACHED'
  | 'BLOB_UNKNOWN'
  | 'MANIFEST_UNKNOWN'
  | 'DIFF_ID_MISMATCH'
  | 'TRUST_REQUIRED'
  | 'TRUST_FAILED'
  | 'CONVERSION_FAILED'
  | 'DECRYPTION_FAILED'
  | 'UNAVAILABLE';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
