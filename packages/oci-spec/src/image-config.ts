import type * as z from 'zod/mini';
import type { historySchema, imageConfigSchema } from './schemas.js';
import { imageConfigSchema as schema } from './schemas.js';
import { parseJson, validate } from './validate.js';

export type ImageConfig = z.infer<typeof imageConfigSchema>;
export type HistoryEntry = z.infer<typeof historySchema>;

export function parseImageConfig(bytes: Uint8Array | string, subject = 'image config'): ImageConfig {
  return validate(schema, parseJson(bytes, 'CONFIG_INVALID', subject), 'CONFIG_INVALID', subject);
}
