import { readFileSync } from 'node:fs';

/** The version of this package, from its package.json (a small file; no module is loaded for it). */
export function cliVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
