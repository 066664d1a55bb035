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
  | 'WRITE_FAILED';

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
