import type * as v from 'valibot';
import type { historySchema, imageConfigSchema } from './schemas.js';
import { imageConfigSchema as schema } from './schemas.js';
import { parseJson, validate } from './validate.js';

export type ImageConfig = v.InferOutput<typeof imageConfigSchema>;
export type HistoryEntry = v.InferOutput<typeof historySchema>;

export function parseImageConfig(bytes: Uint8Array | string, subject = 'image config'): ImageConfig {
  return validate(schema, parseJson(bytes, 'CONFIG_INVALID', subject), 'CONFIG_INVALID', subject);
}
