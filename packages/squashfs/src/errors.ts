/** Machine-readable reasons a squashfs operation failed. */
export type SquashfsErrorCode =
  | 'TAR_TRUNCATED'
  | 'TAR_CORRUPT'
  | 'UNKNOWN_COMPRESSOR'
  | 'COMPRESSOR_UNAVAILABLE'
  | 'BAD_OPTION'
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'CORRUPT_IMAGE'
  | 'NOT_FOUND'
  | 'LIMIT_EXCEEDED'
  | 'WRITE_FAILED'
  /** The file system refused: no permission, read-only, a file where a directory must be. */
  | 'PERMISSION_DENIED'
  | 'READ_ONLY'
  | 'NOT_A_DIRECTORY'
  /** The system refused to read a file for another reason (an I/O error, too many open files). */
  | 'READ_FAILED';

/** The one error class of this package: `code` for programs, `path` for people. */
export class SquashfsError extends Error {
  readonly code: SquashfsErrorCode;
  /** The file (image, tar or entry path) the error concerns, when known. */
  readonly path: string | undefined;

  constructor(code: SquashfsErrorCode, message: string, path?: string, options?: { cause?: unknown }) {
    super(path === undefined ? message : `${message} (${path})`, options);
    this.name = 'SquashfsError';
    this.code = code;
    this.path = path;
  }
}

/** The codes of what the file system refuses, by errno; a full disk is `WRITE_FAILED`. */
const FILE_SYSTEM_CODES: Record<string, SquashfsErrorCode> = {
  ENOENT: 'NOT_FOUND',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'READ_ONLY',
  ENOTDIR: 'NOT_A_DIRECTORY',
  ENOSPC: 'WRITE_FAILED',
  EDQUOT: 'WRITE_FAILED',
  EFBIG: 'WRITE_FAILED',
};

/**
 * A failure of the file system (an error with an errno and a syscall) while `doing` something to
 * `path`, with the code of its errno (`fallback` for others); undefined for any other error.
 */
export function fileSystemFailure(
  err: unknown,
  doing: string,
  path: string,
  fallback: SquashfsErrorCode,
): SquashfsError | undefined {
  const failure = err as NodeJS.ErrnoException;
  if (typeof failure?.syscall !== 'string') return undefined;
  const code = (failure.code && FILE_SYSTEM_CODES[failure.code]) || fallback;
  return new SquashfsError(code, `${doing}: ${failure.message}`, path, { cause: err });
}

export function corrupt(message: string, path?: string): SquashfsError {
  return new SquashfsError('CORRUPT_IMAGE', `corrupt squashfs image: ${message}`, path);
}

/**
 * A decompression of one block (`what`: "a gzip block"), at most `maxSize` bytes, whose failure
 * means a corrupt image.
 */
export function decompressBlock(
  what: string,
  decompress: (data: Uint8Array, options: { maxOutputLength: number }) => Buffer,
): (data: Uint8Array, maxSize: number) => Buffer {
  return (data, maxSize) => {
    try {
      return decompress(data, { maxOutputLength: Math.max(maxSize, 1) });
    } catch (cause) {
      throw new SquashfsError(
        'CORRUPT_IMAGE',
        `corrupt squashfs image: ${what} does not decompress (${(cause as Error).message})`,
        undefined,
        { cause },
      );
    }
  };
}

/** Tar names travel as binary strings (one char per byte); show them to people as UTF-8. */
export function readablePath(binary: string): string {
  return Buffer.from(binary, 'latin1').toString('utf8');
}
