import * as z from 'zod/mini';
import { type Digest, isDigest } from './digest.js';

/**
 * Schemas for untrusted JSON. Unknown fields are allowed (the specs require it) and kept.
 * zod's mini API: its schemas are plain objects, built in a fraction of what the classic API's
 * take (those carry every method on each instance: building these cost ~40 M instructions, a
 * an eighth of `concil list DIR`).
 */

const annotations = z.record(z.string(), z.string());
const nonEmpty = () => z.string().check(z.minLength(1));

export const platformSchema = z.looseObject({
  architecture: nonEmpty(),
  os: nonEmpty(),
  'os.version': z.optional(z.string()),
  'os.features': z.optional(z.array(z.string())),
  variant: z.optional(z.string()),
  features: z.optional(z.array(z.string())),
});

export const descriptorSchema = z.looseObject({
  mediaType: nonEmpty(),
  // A string first (its own message), then one typed as a Digest.
  digest: z.pipe(
    z.string(),
    z.custom<Digest>((value) => isDigest(value as string), { message: 'not a valid sha256/sha512 digest' }),
  ),
  size: z.int().check(z.nonnegative()),
  urls: z.optional(z.array(z.string())),
  annotations: z.optional(annotations),
  data: z.optional(z.string()),
  platform: z.optional(platformSchema),
  artifactType: z.optional(z.string()),
});

export const imageManifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: z.optional(descriptorSchema),
  annotations: z.optional(annotations),
});

export const imageIndexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  manifests: z.array(descriptorSchema),
  subject: z.optional(descriptorSchema),
  annotations: z.optional(annotations),
});

const stringList = z.nullish(z.array(z.string()));
const emptyObjectMap = z.nullish(z.record(z.string(), z.unknown()));

export const containerConfigSchema = z.looseObject({
  User: z.optional(z.string()),
  ExposedPorts: emptyObjectMap,
  Env: stringList,
  Entrypoint: stringList,
  Cmd: stringList,
  Volumes: emptyObjectMap,
  WorkingDir: z.optional(z.string()),
  Labels: z.nullish(z.record(z.string(), z.string())),
  StopSignal: z.optional(z.string()),
});

export const historySchema = z.looseObject({
  created: z.optional(z.string()),
  created_by: z.optional(z.string()),
  author: z.optional(z.string()),
  comment: z.optional(z.string()),
  empty_layer: z.optional(z.boolean()),
});

export const imageConfigSchema = z.looseObject({
  created: z.optional(z.string()),
  author: z.optional(z.string()),
  architecture: z.string(),
  os: z.string(),
  'os.version': z.optional(z.string()),
  variant: z.optional(z.string()),
  config: z.nullish(containerConfigSchema),
  rootfs: z.looseObject({ type: z.string(), diff_ids: z.array(z.string()) }),
  history: z.optional(z.array(historySchema)),
});
