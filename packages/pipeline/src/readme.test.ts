import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// The example runs in docker-daemon.test.ts, against the podman service started there.
it('the README shows readme.example.ts word for word', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const example = await readFile(join(import.meta.dirname, 'readme.example.ts'), 'utf8');
  expect(readme).toContain(example.trim());
});
