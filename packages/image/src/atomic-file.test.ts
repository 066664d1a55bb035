import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'concil-atomic-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes every chunk of a stream, in order, under the final name', async () => {
    const dir = await mkdtemp(join(work, 'chunks-'));
    const chunks = [Buffer.alloc(70_000, 1), Buffer.from('middle'), new Uint8Array([7, 8, 9]), 'end'];
    await writeFileAtomic(join(dir, 'blob'), Readable.from(chunks));
    expect(await readFile(join(dir, 'blob'))).toEqual(
      Buffer.concat([
        Buffer.alloc(70_000, 1),
        Buffer.from('middle'),
        Buffer.from([7, 8, 9]),
        Buffer.from('end'),
      ]),
    );
    expect(await readdir(dir)).toEqual(['blob']);
  });

  it('writes bytes given at once', async () => {
    const dir = await mkdtemp(join(work, 'bytes-'));
    await writeFileAtomic(join(dir, 'version'), new TextEncoder().encode('v1\n'));
    expect(await readFile(join(dir, 'version'), 'utf8')).toBe('v1\n');
  });

  it('leaves nothing behind and keeps an existing file when the stream fails half-way', async () => {
    const dir = await mkdtemp(join(work, 'failed-'));
    await writeFile(join(dir, 'blob'), 'old');
    async function* failing() {
      yield Buffer.alloc(100_000, 2);
      throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    }
    await expect(writeFileAtomic(join(dir, 'blob'), Readable.from(failing()))).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(await readdir(dir)).toEqual(['blob']);
    expect(await readFile(join(dir, 'blob'), 'utf8')).toBe('old');
  });
});
