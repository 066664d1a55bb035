import { expect } from 'vitest';

/** The one line an error prints (the test fails if there are more). */
export function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}
