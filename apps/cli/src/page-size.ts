import { InvalidArgumentError } from 'commander';

/** `--page-size`: entries asked for per request (`n`), a positive integer. */
export function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}
