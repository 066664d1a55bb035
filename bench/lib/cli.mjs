// How the benches start the concil CLI: its built entry point, with the Node flags of its shebang
// (as the installed bin and ./concil run it), so a bench measures what users run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'apps', 'cli', 'dist', 'concil.js');
/** `./concil`, the launcher at the root of the repository that people run. */
export const concilLauncher = join(repoRoot, 'concil');

/** `#!/usr/bin/env -S node --flag …` → ['--flag', …]; empty when the CLI is not built yet. */
export function cliNodeFlags() {
  let shebang;
  try {
    shebang = readFileSync(cliPath, 'utf8').split('\n', 1)[0];
  } catch {
    return [];
  }
  const words = shebang.split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}

export const CLI_NODE_FLAGS = cliNodeFlags();
