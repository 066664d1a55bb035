import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTarFile } from './tar-pack.js';

describe('writeTarFile', () => {
  const work = mkdtemp(join(tmpdir(), 'concil-tar-pack-'));
  afterAll(async () => {
    await rm(await work, { recursive: true, force: true });
  });

  // The failed entry also emitted its error as an event no one heard: an uncaught exception.
  it('fails with the error of a member whose stream breaks, and nothing else is thrown', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('the layer broke off'));
      },
    });
    const entries = [{ name: 'layer.tar', size: 10, open: async () => broken }];
    await expect(writeTarFile(join(await work, 'out.tar'), entries)).rejects.toThrow('the layer broke off');
  });
});
