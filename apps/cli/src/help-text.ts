import { readFileSync } from 'node:fs';

/** The width help is wrapped at, at most (narrower terminals get narrower help). */
export const HELP_WIDTH = 80;

/** The file beside the built command that holds `concil --help`'s text, written by bundle.mjs. */
export const HELP_FILE = 'help.txt';

/**
 * `concil --help`'s text as the build wrote it, when the command line asks for nothing else and
 * the text fits the output; otherwise undefined, and commander prints the help. Printing the top
 * help does not need the parser and the twenty commands' options that commander would build first.
 */
export function builtHelpText(args: readonly string[]): string | undefined {
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h')) return undefined;
  if (process.stdout.isTTY && process.stdout.columns < HELP_WIDTH) return undefined;
  try {
    return readFileSync(new URL(HELP_FILE, import.meta.url), 'utf8');
  } catch {
    return undefined; // not built (run from the sources): commander prints it
  }
}
