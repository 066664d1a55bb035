import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

describe('README example', () => {
  it('is shown verbatim in the README', async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const example = await readFile(new URL('examples/readme.ts', root), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
    expect(example.trim().split('\n').length).toBeLessThanOrEqual(10);
  });

  it('runs and prints what the README says', async () => {
    // The example imports the package by name, as a user would: it runs against the built dist.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--experimental-strip-types', 'examples/readme.ts'],
      {
        cwd: root,
      },
    );
    const readme = await readFile(new URL('README.md', root), 'utf8');
    const printed = readme.split('prints\n\n```\n')[1]?.split('```')[0];
    expect(stdout).toBe(printed);
  });
});
