import { Interrupted } from './interrupt.js';
import { printJson } from './output.js';

/** What a failed command prints with `--json`, on stdout: `{ "error": ErrorObject }`. */
export interface ErrorObject {
  code: string;
  message: string;
  /** What the error concerns, when it names one: an image reference, a digest or a path. */
  reference?: string;
  digest?: string;
  path?: string;
}

/**
 * Prints one line a person can act on, or with `--json` the error as a JSON object on stdout
 * (the cause chain on stderr with --debug), and returns the exit code.
 */
export function reportError(error: unknown, { debug, json }: { debug: boolean; json: boolean }): number {
  if (json) printJson({ error: errorObject(error) });
  else process.stderr.write(`concil: ${messageOf(error)}\n`);
  if (debug) {
    let cause: unknown = error;
    while (cause) {
      process.stderr.write(`  ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return error instanceof Interrupted ? error.exitCode : 1;
}

/** A usage error as commander words it (`error: unknown option '--x'`), as a JSON error object. */
export function usageErrorObject(text: string): ErrorObject {
  return { code: 'USAGE', message: text.trim().replace(/^error: /, '') };
}

/** Whether the command line asks for JSON output (`--json` before any `--`). */
export function jsonRequested(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = codeOf(error);
  return code && !error.message.includes(code) ? `${error.message} [${code}]` : error.message;
}

function errorObject(error: unknown): ErrorObject {
  const object: ErrorObject = {
    code: codeOf(error) ?? 'ERROR',
    message: error instanceof Error ? error.message : String(error),
  };
  const fields = (error ?? {}) as { reference?: unknown; path?: unknown; subject?: unknown };
  // The packages' errors name what they concern as `reference` (registry), `path` (squashfs, Node's
  // file errors) or `subject` (image, store, oci-spec), which is one of the three.
  for (const value of [fields.reference, fields.path, fields.subject]) {
    if (typeof value === 'string' && value) {
      object[kindOfSubject(value)] ??= value;
    }
  }
  return object;
}

function kindOfSubject(subject: string): 'reference' | 'digest' | 'path' {
  if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(subject)) return 'digest';
  if (/^(?:\/|\.\.?(?:\/|$)|~)/.test(subject)) return 'path';
  return 'reference';
}
