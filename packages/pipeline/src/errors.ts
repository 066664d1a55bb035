/** The one error class of @concil/pipeline. */
export type PipelineErrorCode =
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
    readonly subject?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
