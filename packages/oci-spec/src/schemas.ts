import * as z from 'zod';
import { isDigest } from './digest.js';

/** Schemas for untrusted JSON. Unknown fields are allowed (the specs require it) and kept. */

const annotations = z.record(z.string(), z.string());

export const platformSchema = z.looseObject({
  architecture: z.string().min(1),
  os: z.string().min(1),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
  variant: z.string().optional(),
  features: z.array(z.string()).optional(),
});

export const descriptorSchema = z.looseObject({
  mediaType: z.string().min(1),
  digest: z.string().refine(isDigest, { message: 'not a valid sha256/sha512 digest' }),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: annotations.optional(),
  data: z.string().optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
});

export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: annotations.optional(),
});

const stringList = z.array(z.string()).nullish();
const emptyObjectMap = z.record(z.string(), z.unknown()).nullish();

export const containerConfigSchema = z.looseObject({
  User: z.string().optional(),
  ExposedPorts: emptyObjectMap,
  Env: stringList,
  Entrypoint: stringList,
  Cmd: stringList,
  Volumes: emptyObjectMap,
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
});

export const historySchema = z.looseObject({
  created: z.string().optional(),
  created_by: z.string().optional(),
  author: z.string().optional(),
  comment: z.string().optional(),
  empty_layer: z.boolean().optional(),
});

export const imageConfigSchema = z.looseObject({
  created: z.string().optional(),
  author: z.string().optional(),
  architecture: z.string(),
  os: z.string(),
  'os.version': z.string().optional(),
  variant: z.string().optional(),
  config: containerConfigSchema.nullish(),
  rootfs: z.looseObject({ type: z.string(), diff_ids: z.array(z.string()) }),
  history: z.array(historySchema).optional(),
});
