import type tarStream from 'tar-stream';

/** A header as tar-stream's packer takes it: a name and whatever else is known. */
export type TarHeader = Parameters<tarStream.Pack['entry']>[0];

const EMPTY = new Uint8Array(0);

/** Adds an entry without content (directory, link, device, whiteout) to a tar being packed. */
export function addTarEntry(pack: tarStream.Pack, header: TarHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    // With content given (none), a file entry ends at once instead of waiting to be written to.
    pack.entry(header, EMPTY, (error) => (error ? reject(error) : resolve()));
  });
}

/** The name a tar entry is written under: directories end with `/`, the root is `./`. */
export function tarEntryName(path: string, type: TarHeader['type']): string {
  if (path === '') return './';
  return type === 'directory' ? `${path}/` : path;
}
