/** The one error class of @concil/pipeline. */
export type PipelineErrorCode =
  /** A `-f` filter whose name is not one of the filters. */
  | 'FILTER_UNKNOWN'
  /** A filter whose argument cannot be read (a timestamp that is no time, a bad pattern). */
  | 'FILTER_INVALID'
  /** A location that cannot be used as asked (no place concil knows, not empty, not a directory…). */
  | 'TARGET_INVALID'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  /** No daemon answers on the socket (absent, refused, not a socket). */
  | 'DAEMON_UNREACHABLE'
  /** The daemon answered with an error, or with something that is not what the Engine API says. */
  | 'DAEMON_FAILED'
  /** A layer entry that would land outside the destination or write through a link: hostile or broken. */
  | 'LAYER_UNSAFE'
  /** A layer whose content is not what the image says (its tar's digest is not the config's diff_id). */
  | 'DIFF_ID_MISMATCH'
  /** An image config that a runtime bundle cannot be made from (no command, an unknown user). */
  | 'CONFIG_INVALID'
  /** mount(8) or umount(8) refused. */
  | 'MOUNT_FAILED';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    /** What the error concerns: a filter as written, a location, a daemon's socket, a layer entry. */
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
