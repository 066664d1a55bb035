/** The one error class of @concil/pipeline. */
export type PipelineErrorCode =
  /** A `-f` filter whose name is not one of the filters. */
  | 'FILTER_UNKNOWN'
  /** A filter whose argument cannot be read (a timestamp that is no time, a bad pattern). */
  | 'FILTER_INVALID'
  /** A location that names no place concil can read or write. */
  | 'TARGET_INVALID'
  | 'NOT_FOUND'
  | 'UNSUPPORTED'
  /** No daemon answers on the socket (absent, refused, not a socket). */
  | 'DAEMON_UNREACHABLE'
  /** The daemon answered with an error, or with something that is not what the Engine API says. */
  | 'DAEMON_FAILED';

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: PipelineErrorCode,
    message: string,
    /** What the error concerns: a filter as written, a location, a daemon's socket. */
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
