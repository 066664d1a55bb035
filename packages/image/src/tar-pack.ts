import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';

/** One member of an archive being written: a directory, small bytes, or a stream of known size. */
export type PackEntry =
  | { name: string; type: 'directory' }
  | { name: string; content: Uint8Array }
  | { name: string; size: number; open: () => Promise<Readable> };

/** Members carry a fixed time, so the same image gives the same archive. */
const MTIME = new Date(0);

/**
 * Writes a tar file of `entries` at `path`, streaming each member in turn. A member whose stream
 * fails, or gives other than its size, fails the whole write; the caller removes the file.
 */
export async function writeTarFile(path: string, entries: AsyncIterable<PackEntry> | Iterable<PackEntry>) {
  const pack = tarStream.pack();
  const writing = pipeline(pack, createWriteStream(path, { highWaterMark: 1 << 20 }));
  try {
    for await (const entry of entries) await addTarEntry(pack, entry);
    pack.finalize();
  } catch (error) {
    pack.destroy(error as Error);
    await writing.catch(() => {});
    throw error;
  }
  await writing;
}

/** Adds one member to a tar being packed, its content streamed with back-pressure; resolves when it is in. */
export async function addTarEntry(pack: tarStream.Pack, entry: PackEntry): Promise<void> {
  const common = { name: entry.name, mtime: MTIME, uid: 0, gid: 0 };
  if ('type' in entry) {
    pack.entry({ ...common, type: 'directory', mode: 0o755 });
    return;
  }
  if ('content' in entry) {
    pack.entry({ ...common, type: 'file', mode: 0o644 }, Buffer.from(entry.content));
    return;
  }
  const content = await entry.open();
  let failure: Error | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...common, type: 'file', mode: 0o644, size: entry.size }, (error) =>
      error ? reject(error) : resolve(),
    );
    // Its failure is the callback's (above); destroyed, the entry also emits it, to no one else.
    sink.on('error', () => {});
    // tar-stream's entries are streamx streams: fed by hand, with back-pressure, not by pipeline.
    void (async () => {
      try {
        for await (const chunk of content) {
          if (!sink.write(chunk)) await once(sink, 'drain');
        }
        sink.end(() => {});
      } catch (error) {
        failure = error as Error;
        sink.destroy(failure);
      }
    })();
  });
  await done.catch((error: Error) => {
    throw failure ?? error;
  });
}
