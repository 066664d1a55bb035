/** The one error class of @concil/pipeline. */
export type PipelineErrorCode =
  /** A layer entry that would land outside the destination or write through a link: hostile or broken. */
  | 'LAYER_UNSAFE'
  /** A layer whose content is not what the image says (its tar's digest is not the config's diff_id). */
  | 'DIFF_ID_MISMATCH'
  /** A location that cannot be used as asked (it exists and is not empty, it is not a directory…). */
  | 'TARGET_INVALID'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  /** An image config that a runtime bundle cannot be made from (no command, an unknown user). */
  | 'CONFIG_INVALID'
  /** mount(8) or umount(8) refused. */
  | 'MOUNT_FAILED';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
