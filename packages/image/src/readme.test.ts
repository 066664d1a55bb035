import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it.each([
  'readme.example.ts',
  'readme-transform.example.ts',
  'readme-edit.example.ts',
  'readme-encryption.example.ts',
  'readme-image.example.ts',
])('the README shows %s word for word', async (file) => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const example = await readFile(join(import.meta.dirname, file), 'utf8');
  expect(readme).toContain(example.trim());
});
