export type { CompressorName } from './compressor.js';
export { SquashfsError, type SquashfsErrorCode } from './errors.js';
export { type CreateSquashfsOptions, createSquashfs, type SquashfsStats } from './writer.js';
