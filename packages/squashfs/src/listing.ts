import type { SquashfsEntry } from './reader.js';

const TYPE_CHAR: Record<SquashfsEntry['type'], string> = {
  directory: 'd',
  file: '-',
  symlink: 'l',
  char: 'c',
  block: 'b',
  fifo: 'p',
  socket: 's',
};

/** `drwxr-xr-x`-style mode, setuid/setgid/sticky included. */
export function modeString(type: SquashfsEntry['type'], mode: number): string {
  const triple = (bits: number, special: boolean, ch: string): string =>
    (bits & 4 ? 'r' : '-') +
    (bits & 2 ? 'w' : '-') +
    (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return (
    TYPE_CHAR[type] +
    triple((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    triple((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    triple(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** One line per entry, like `unsquashfs -lln` (numeric owners, UTC times, devices as major, minor). */
export function formatEntry(e: SquashfsEntry): string {
  const size = e.type === 'char' || e.type === 'block' ? `${e.devMajor},${e.devMinor}` : String(e.size);
  const time = new Date(e.mtime * 1000).toISOString().slice(0, 16).replace('T', ' ');
  const target = e.type === 'symlink' ? ` -> ${e.linkTarget}` : '';
  return `${modeString(e.type, e.mode)} ${`${e.uid}/${e.gid}`.padEnd(13)} ${size.padStart(12)} ${time} /${e.path}${target}`;
}
