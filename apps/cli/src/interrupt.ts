const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof EXIT_CODES;

/** A command stopped by SIGINT or SIGTERM, after it cleaned up; the CLI exits 130 or 143. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  readonly code = 'INTERRUPTED';
  readonly exitCode: number;

  constructor(
    readonly signal: StopSignal,
    what: string,
  ) {
    super(`${signal}: ${what}`);
    this.exitCode = EXIT_CODES[signal];
  }
}

/**
 * Runs work that stops through its AbortSignal: SIGINT and SIGTERM abort it, it cleans up (a
 * copy's destination takes back what it wrote), and then it fails with `Interrupted`, whose
 * message is `interrupted` (what the stop left). A second signal exits at once.
 */
export async function interruptible<T>(
  interrupted: string,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const stop = (signal: StopSignal) => {
    if (controller.signal.aborted) process.exit(EXIT_CODES[signal]);
    controller.abort(new Interrupted(signal, interrupted));
  };
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const listener = () => stop(signal);
    process.on(signal, listener);
    return () => process.off(signal, listener);
  });
  try {
    return await work(controller.signal);
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    for (const remove of listeners) remove();
  }
}
