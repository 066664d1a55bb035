export type { CompressorName } from './compressor.js';
export { SquashfsError, type SquashfsErrorCode } from './errors.js';
export { formatEntry, modeString } from './listing.js';
export { openSquashfs, type SquashfsEntry, type SquashfsEntryType, SquashfsReader } from './reader.js';
export { decompressedTar } from './tar-decompress.js';
export { type ReadTarOptions, readTar, type TarEntry, type TarEntryType } from './tar-input.js';
export { squashfsToTar } from './to-tar.js';
export { type CreateSquashfsOptions, createSquashfs, type SquashfsStats } from './writer.js';
