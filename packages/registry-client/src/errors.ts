/** The error codes of the OCI distribution spec, and ours for what happens below HTTP. */
export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  /** The connection failed or broke (refused, reset, timed out, DNS). */
  | 'NETWORK'
  /** The TLS handshake failed (unknown CA, wrong host name, expired certificate). */
  | 'TLS'
  /** The registry answered 5xx until retries ran out. */
  | 'SERVER_ERROR'
  /** The registry answered something this client cannot make sense of. */
  | 'PROTOCOL'
  /** A credentials file (concil, docker, containers) cannot be read, or a registry address is no URL. */
  | 'CONFIG_INVALID';

export interface RegistryErrorDetails {
  /** What the error concerns, e.g. `docker://127.0.0.1:5000/app:1.0` or a digest. */
  reference?: string;
  /** The HTTP status, when there was a response. */
  status?: number;
  cause?: unknown;
}

/** The one error class of registry-client: a code, the reference, the HTTP status, what to do. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  readonly reference: string | undefined;
  readonly status: number | undefined;

  constructor(code: RegistryErrorCode, message: string, details: RegistryErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.reference = details.reference;
    this.status = details.status;
  }
}

export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
