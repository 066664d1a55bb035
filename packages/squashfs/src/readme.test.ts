import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example } from './examples/readme.js';
import { featuresTar } from './testing/corpus.js';
import { run, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('README example', () => {
  it('is the code in examples/readme.ts, verbatim', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const code = readFileSync(new URL('./examples/readme.ts', import.meta.url), 'utf8');
    expect(readme).toContain(code.trim());
  });

  it('runs: converts a layer, lists it and streams it back as tar', async () => {
    const tar = join(tmp.dir, 'layer.tar');
    writeFileSync(tar, await featuresTar());
    const listing = await example(tar, join(tmp.dir, 'layer.sqfs'), join(tmp.dir, 'back.tar'));
    expect(listing).toContain('file /etc/hostname 7');
    expect(listing).toContain('directory / 0');
    const t = await run('tar', ['-tf', join(tmp.dir, 'back.tar')]);
    expect(t.stdout).toContain('etc/hostname');
  });
});
