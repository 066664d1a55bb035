import type * as z from 'zod/mini';
import english from 'zod/v4/locales/en.js';
import { OciSpecError, type OciSpecErrorCode } from './errors.js';

export function parseJson(bytes: Uint8Array | string, code: OciSpecErrorCode, subject: string): unknown {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new OciSpecError(code, `${subject} is not valid JSON: ${(cause as Error).message}`, subject, {
      cause,
    });
  }
}

/**
 * zod's parse options: no parser compiled with `new Function` on a schema's first use, which costs
 * more than the few documents a program validates at a time (a tenth of `concil list`'s start);
 * messages in English (zod's mini API loads no locale, and setting one globally would change the
 * messages of every other zod user in the program).
 */
export const schemaParseOptions = { jitless: true, error: english().localeError } as const;

/** Validates untrusted JSON into a typed value; the error names the first offending field. */
export function validate<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  code: OciSpecErrorCode,
  subject: string,
): z.infer<S> {
  const result = schema.safeParse(value, schemaParseOptions);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(top level)';
  throw new OciSpecError(code, `${subject} is malformed: ${where}: ${issue?.message ?? 'invalid'}`, subject, {
    cause: result.error,
  });
}
