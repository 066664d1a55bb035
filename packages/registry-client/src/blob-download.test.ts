import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobDownload, type DownloadPart } from './blob-download.js';
import type { ResponseBody } from './session.js';

/** A response body that has all of `chunks` buffered, then ends (or fails with `error`). */
function bufferedBody(chunks: Buffer[], error?: Error): ResponseBody {
  const body = new Readable({ read() {} });
  for (const chunk of chunks) body.push(chunk);
  if (error) setImmediate(() => body.destroy(error));
  else body.push(null);
  return body as unknown as ResponseBody;
}

async function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(stream, 'end');
  return chunks;
}

const noResume = async (error: unknown): Promise<DownloadPart | undefined> => {
  throw error;
};

describe('BlobDownload', () => {
  it('passes on the very chunks the body read, not copies joined from them', async () => {
    const chunks = [Buffer.from('first'), Buffer.from('second'), Buffer.from('third')];
    const download = new BlobDownload({ body: bufferedBody(chunks), skip: 0 }, noResume);
    const got = await collect(download);
    expect(got).toHaveLength(3);
    for (const [i, chunk] of got.entries()) expect(chunk).toBe(chunks[i]);
  });

  it('continues with the next part after a break, skipping what it already received', async () => {
    const broken = bufferedBody([Buffer.from('abc'), Buffer.from('de')], new Error('socket hang up'));
    const asked: number[] = [];
    const download = new BlobDownload({ body: broken, skip: 0 }, async (_error, received) => {
      asked.push(received);
      return { body: bufferedBody([Buffer.from('abcd'), Buffer.from('efg')]), skip: received };
    });
    expect(Buffer.concat(await collect(download)).toString()).toBe('abcdefg');
    expect(asked).toEqual([5]);
  });

  it('fails with the error the next part gives, and ends with no part when nothing is missing', async () => {
    const failing = new BlobDownload(
      { body: bufferedBody([Buffer.from('ab')], new Error('reset')), skip: 0 },
      async () => {
        throw new Error('gave up after 2 bytes');
      },
    );
    failing.resume();
    const [error] = await once(failing, 'error').catch((e: unknown) => [e]);
    expect((error as Error).message).toBe('gave up after 2 bytes');

    const complete = new BlobDownload(
      { body: bufferedBody([Buffer.from('ab')], new Error('reset')), skip: 0 },
      async () => undefined,
    );
    expect(Buffer.concat(await collect(complete)).toString()).toBe('ab');
  });

  it('destroys the body it reads when it is destroyed', async () => {
    const body = new Readable({ read() {} });
    const download = new BlobDownload({ body: body as unknown as ResponseBody, skip: 0 }, noResume);
    download.destroy();
    await once(body, 'close');
    expect(body.destroyed).toBe(true);
  });
});
