/** The one error class of @concil/image. */
export type ImageErrorCode =
  | 'TARGET_INVALID'
  | 'NOT_FOUND'
  | 'LAYOUT_INVALID'
  | 'DIGEST_INVALID'
  | 'SIZE_INVALID'
  | 'UNSUPPORTED';

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
