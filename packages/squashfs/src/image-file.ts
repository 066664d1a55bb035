import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { corrupt, fileSystemFailure } from './errors.js';

/** Bounds-checked random access to the image file: every read past the end is a clear error. */
export class ImageFile {
  readonly path: string;
  readonly size: number;
  private fd: number;

  constructor(path: string) {
    this.path = path;
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw fileSystemFailure(err, 'cannot open squashfs image', path, 'READ_FAILED') ?? err;
    }
    this.size = fstatSync(this.fd).size;
  }

  read(position: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(position) || position < 0 || length < 0 || position + length > this.size) {
      throw corrupt(
        `${what} at byte ${position} (+${length}) lies outside the ${this.size}-byte image (truncated?)`,
        this.path,
      );
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, position + done);
      if (n === 0) throw corrupt(`unexpected end of image while reading ${what}`, this.path);
      done += n;
    }
    return buf;
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
