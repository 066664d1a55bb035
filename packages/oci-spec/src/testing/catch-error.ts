import { expect } from 'vitest';
import { OciSpecError } from '../errors.js';

/** The OciSpecError a call throws; fails the test when it throws nothing or something else. */
export function catchOciSpecError(fn: () => unknown): OciSpecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OciSpecError);
    return e as OciSpecError;
  }
  throw new Error('expected an error');
}
