import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const found = new Map<string, string | undefined>();

/**
 * The built script `fileName` of the package whose module is at `moduleUrl`: beside that module when
 * it runs from dist/, or in dist/ when it runs from src/ (the tests). undefined when the package is
 * not built: its caller then does the work on its own thread. The store shares this for its workers.
 */
export function builtWorkerScript(moduleUrl: string, fileName: string): string | undefined {
  const here = dirname(fileURLToPath(moduleUrl));
  const beside = join(here, fileName);
  if (!found.has(beside))
    found.set(
      beside,
      [beside, join(here, '..', 'dist', fileName)].find((p) => existsSync(p)),
    );
  return found.get(beside);
}
