/** The one error class of @concil/image. */
export type ImageErrorCode =
  | 'TARGET_INVALID'
  | 'NOT_FOUND'
  | 'LAYOUT_INVALID'
  | 'DIGEST_INVALID'
  | 'SIZE_INVALID'
  | 'UNSUPPORTED'
  /** An image edit that does not fit the image (a layer index out of range, used twice). */
  | 'PLAN_INVALID'
  /** A layer whose uncompressed content is not what the image config says. */
  | 'DIFF_ID_MISMATCH'
  /** A layer whose bytes are not what its media type says (they do not decompress, or no tar). */
  | 'LAYER_INVALID'
  /** A layer name (digest prefix, title, `%N`) that matches several layers. */
  | 'LAYER_AMBIGUOUS'
  /** A layer name that matches no layer of the image. */
  | 'LAYER_UNKNOWN'
  /** An edit of the image config that cannot be applied as given (`--cmd`, `--label`…). */
  | 'CONFIG_EDIT_INVALID'
  /** The destination could not be written (a full disk, no permission); it was left as it was. */
  | 'WRITE_FAILED'
  /** A key file that cannot be read as the key it should be (or whose password does not open it). */
  | 'KEY_INVALID'
  /** An encrypted layer whose encryption annotations are missing or malformed. */
  | 'ENCRYPTION_INVALID'
  /** None of the private keys given is one an encrypted layer was encrypted for. */
  | 'NOT_A_RECIPIENT'
  /** An encrypted layer whose HMAC or plaintext digest does not match: changed or cut short. */
  | 'DECRYPTION_FAILED'
  /** An image published, but the cosign signature asked for could not be attached. */
  | 'SIGN_FAILED'
  /** The file system refused: no permission, read-only, a file where a directory must be. */
  | 'PERMISSION_DENIED'
  | 'READ_ONLY'
  | 'NOT_A_DIRECTORY';

export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What an errno means for a person, its code here, and what to do about it. */
const FILE_SYSTEM_CAUSES: Record<string, [ImageErrorCode, string, string]> = {
  ENOENT: ['NOT_FOUND', 'it does not exist', ''],
  EACCES: ['PERMISSION_DENIED', 'permission denied', '; check the permissions'],
  EPERM: ['PERMISSION_DENIED', 'permission denied', '; check the permissions'],
  EROFS: ['READ_ONLY', 'the file system is read-only', '; choose a place on a writable file system'],
  ENOTDIR: ['NOT_A_DIRECTORY', 'a file stands where a directory must be', '; name a directory or a new path'],
  EISDIR: ['TARGET_INVALID', 'a directory stands where a file must be', ''],
  ENOSPC: ['WRITE_FAILED', 'no space is left on the device', '; free some space'],
  EDQUOT: ['WRITE_FAILED', 'the disk quota is used up', '; free some space'],
  EFBIG: ['WRITE_FAILED', 'the file grew larger than the system allows', ''],
};

/**
 * A failure of the file system (an error with an errno and a syscall) as an ImageError with the
 * code of its errno and a message that names `subject` (a target's name, a file), the cause, the
 * path and what to do; `doing` says what failed, e.g. "cannot write". One that a helper already
 * named (by a file) is named again by `subject`. Any other error is returned as it is.
 */
export function fileSystemError(error: unknown, doing: string, subject: string): unknown {
  const failure = (error instanceof ImageError ? error.cause : error) as NodeJS.ErrnoException;
  const known =
    typeof failure?.syscall === 'string' && failure.code ? FILE_SYSTEM_CAUSES[failure.code] : undefined;
  if (!known) return error;
  const [code, cause, hint] = known;
  const path = failure.path ? ` (${failure.path})` : '';
  return new ImageError(code, `${doing} ${subject}: ${cause}${path}${hint}`, subject, { cause: error });
}
