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
  | 'DECRYPTION_FAILED';

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
