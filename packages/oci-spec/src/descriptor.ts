import type * as z from 'zod/mini';
import type { descriptorSchema, platformSchema } from './schemas.js';

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;
