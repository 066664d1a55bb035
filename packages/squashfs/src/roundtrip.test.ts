import { createReadStream, createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createSquashfs, openSquashfs, squashfsToTar } from './index.js';
import { normaliseListing } from './testing/compare.js';
import { extensionsTar, featuresTar } from './testing/corpus.js';
import { listing, run, sqfsdiff, tar2sqfs, tempDir } from './testing/peers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('squashfsToTar round trip', () => {
  const zstd10 = { compressor: 'zstd', level: 10 } as const;
  const cases = [
    ['features', featuresTar, zstd10],
    ['extensions', async () => extensionsTar(), zstd10],
    // 1 MiB blocks: LZMA2 cuts them into several chunks, some stored as is, which the reader walks.
    ['features-xz', featuresTar, { compressor: 'xz', blockSize: 1 << 20 }],
  ] as const;
  for (const [name, make, options] of cases) {
    it(`${name}: tar → our squashfs → our tar → tar2sqfs equals tar2sqfs of the original`, async () => {
      const original = join(tmp.dir, `${name}.tar`);
      writeFileSync(original, await make());
      const ours = join(tmp.dir, `${name}.sqfs`);
      await createSquashfs(createReadStream(original), ours, options);
      const back = join(tmp.dir, `${name}.back.tar`);
      await pipeline(squashfsToTar(ours), createWriteStream(back));

      const refOriginal = join(tmp.dir, `${name}.ref.sqfs`);
      const refBack = join(tmp.dir, `${name}.back.sqfs`);
      await tar2sqfs(original, refOriginal);
      await tar2sqfs(back, refBack);
      const diff = await sqfsdiff(refOriginal, refBack, ['-T']);
      expect(diff.out).toBe('');
      expect(diff.code).toBe(0);
      expect(normaliseListing(await listing(refBack))).toEqual(normaliseListing(await listing(refOriginal)));
      // Xattrs survive as PAX records, hard links as tar hard links.
      const xa = await run('rdsquashfs', ['-x', '/bin/ping', refBack]);
      const xb = await run('rdsquashfs', ['-x', '/bin/ping', refOriginal]);
      expect(xa.stdout).toBe(xb.stdout);
      const tv = await run('tar', ['-tvf', back]);
      expect(tv.code).toBe(0);
      if (name.startsWith('features')) expect(tv.stdout).toMatch(/bin\/hardlink link to bin\/busybox/);
    });
  }

  it('streams the tar from an open reader too', async () => {
    const ours = join(tmp.dir, 'reader.sqfs');
    await createSquashfs([await featuresTar()], ours);
    const r = await openSquashfs(ours);
    const back = join(tmp.dir, 'reader.tar');
    await pipeline(squashfsToTar(r), createWriteStream(back));
    r.close();
    const t = await run('tar', ['-tf', back]);
    expect(t.stdout.split('\n')).toContain('data/big');
  });
});
