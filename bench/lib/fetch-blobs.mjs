#!/usr/bin/env node
// The Node floor of a copy: `node fetch-blobs.mjs DEST DIGEST=URL…` downloads every blob at once
// with fetch, hashes it on the way and writes it to DEST/<hex>, failing on a wrong digest.
// What a Node program cannot beat; the distance to `concil copy` is concil's own overhead.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const [dest, ...blobs] = process.argv.slice(2);
await mkdir(dest, { recursive: true });
await Promise.all(
  blobs.map(async (spec) => {
    const [digest, url] = [spec.slice(0, spec.indexOf('=')), spec.slice(spec.indexOf('=') + 1)];
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const hex = digest.slice('sha256:'.length);
    await pipeline(Readable.fromWeb(response.body), hashing, createWriteStream(join(dest, hex)));
    const actual = hash.digest('hex');
    if (actual !== hex) throw new Error(`${digest} hashed to sha256:${actual}`);
  }),
);
