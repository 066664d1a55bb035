/** Prints one line a person can act on (the cause chain with --debug) and returns the exit code. */
export function reportError(error: unknown, debug: boolean): number {
  process.stderr.write(`concil: ${messageOf(error)}\n`);
  if (debug) {
    let cause: unknown = error;
    while (cause) {
      process.stderr.write(`  ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return 1;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${error.message} [${code}]`
      : error.message;
  }
  return String(error);
}
