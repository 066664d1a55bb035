import type * as z from 'zod';
import type { descriptorSchema, platformSchema } from './schemas.js';

export type Platform = z.infer<typeof platformSchema>;
export type Descriptor = z.infer<typeof descriptorSchema>;
