/** A command's result as JSON on stdout, for `--json` and scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A command's result: as JSON with `--json`, else as the lines a person reads. */
export function printResult<T>(json: boolean | undefined, value: T, lines: (value: T) => string[]): void {
  if (json) printJson(value);
  else process.stdout.write(`${lines(value).join('\n')}\n`);
}
