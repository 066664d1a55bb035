import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('the README shows the example file word for word', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const example = await readFile(join(import.meta.dirname, 'readme.example.ts'), 'utf8');
  expect(readme).toContain(example.trim());
});
