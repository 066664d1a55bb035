import type * as v from 'valibot';
import type { descriptorSchema, platformSchema } from './schemas.js';

export type Platform = v.InferOutput<typeof platformSchema>;
export type Descriptor = v.InferOutput<typeof descriptorSchema>;
