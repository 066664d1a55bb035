import { readFileSync } from 'node:fs';

/** The file beside the built command that holds `concil --help`'s text, written by bundle.mjs. */
export const HELP_FILE = 'help.txt';

/**
 * `concil --help`'s text as the build wrote it, when the command line asks for nothing else and
 * the text fits the output; otherwise undefined, and commander prints the help. Printing the top
 * help does not need the parser and the twenty commands' options that commander would build first.
 */
export function builtHelpText(args: readonly string[]): string | undefined {
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h')) return undefined;
  let text: string;
  try {
    text = readFileSync(new URL(HELP_FILE, import.meta.url), 'utf8');
  } catch {
    return undefined; // not built (run from the sources): commander prints it
  }
  const fits =
    !process.stdout.isTTY || text.split('\n').every((line) => line.length <= process.stdout.columns);
  return fits ? text : undefined;
}
