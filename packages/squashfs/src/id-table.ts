import { SquashfsError } from './errors.js';

/** Collects the distinct uids/gids; inodes store a 16-bit index into this table. */
export class IdTable {
  private readonly index = new Map<number, number>();
  readonly ids: number[] = [];

  indexOf(id: number): number {
    let i = this.index.get(id);
    if (i === undefined) {
      if (this.ids.length >= 0x10000) {
        throw new SquashfsError(
          'LIMIT_EXCEEDED',
          'more than 65536 distinct uids/gids: squashfs cannot store them',
        );
      }
      if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
        throw new SquashfsError('TAR_CORRUPT', `uid/gid ${id} does not fit in 32 bits`);
      }
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  entries(): Buffer {
    const b = Buffer.alloc(this.ids.length * 4);
    this.ids.forEach((id, i) => {
      b.writeUInt32LE(id, i * 4);
    });
    return b;
  }
}
