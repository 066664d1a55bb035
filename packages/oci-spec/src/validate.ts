import * as v from 'valibot';
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

/** Validates untrusted JSON into a typed value; the error names the first offending field. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  code: OciSpecErrorCode,
  subject: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const [issue] = result.issues;
  throw new OciSpecError(code, `${subject} is malformed: ${issuePath(issue)}: ${issue.message}`, subject, {
    cause: new v.ValiError(result.issues),
  });
}

/** Where an issue is, as `layers.0.digest`; `(top level)` for the document itself. */
export function issuePath(issue: v.BaseIssue<unknown>): string {
  return issue.path?.map((item) => String(item.key)).join('.') || '(top level)';
}
