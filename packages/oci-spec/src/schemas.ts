import * as v from 'valibot';
import { isDigest } from './digest.js';
import { jsonCount, jsonLooseObject, jsonMap, jsonStringMap, nonEmptyString } from './json-schemas.js';

/**
 * Schemas for untrusted JSON, built once at load (valibot's schemas are plain objects: cheap to
 * build, and a parse runs no code generated at first use). Unknown fields are allowed (the specs
 * require it) and kept.
 */

const annotations = jsonStringMap;

export const platformSchema = jsonLooseObject({
  architecture: nonEmptyString,
  os: nonEmptyString,
  'os.version': v.optional(v.string()),
  'os.features': v.optional(v.array(v.string())),
  variant: v.optional(v.string()),
  features: v.optional(v.array(v.string())),
});

export const descriptorSchema = jsonLooseObject({
  mediaType: nonEmptyString,
  // A string first (its own message), then one typed as a Digest.
  digest: v.pipe(v.string(), v.guard(isDigest, 'not a valid sha256/sha512 digest')),
  size: jsonCount,
  urls: v.optional(v.array(v.string())),
  annotations: v.optional(annotations),
  data: v.optional(v.string()),
  platform: v.optional(platformSchema),
  artifactType: v.optional(v.string()),
});

export const imageManifestSchema = jsonLooseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  config: descriptorSchema,
  layers: v.array(descriptorSchema),
  subject: v.optional(descriptorSchema),
  annotations: v.optional(annotations),
});

export const imageIndexSchema = jsonLooseObject({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  artifactType: v.optional(v.string()),
  manifests: v.array(descriptorSchema),
  subject: v.optional(descriptorSchema),
  annotations: v.optional(annotations),
});

const stringList = v.nullish(v.array(v.string()));
const emptyObjectMap = v.nullish(jsonMap);

export const containerConfigSchema = jsonLooseObject({
  User: v.optional(v.string()),
  ExposedPorts: emptyObjectMap,
  Env: stringList,
  Entrypoint: stringList,
  Cmd: stringList,
  Volumes: emptyObjectMap,
  WorkingDir: v.optional(v.string()),
  Labels: v.nullish(jsonStringMap),
  StopSignal: v.optional(v.string()),
});

export const historySchema = jsonLooseObject({
  created: v.optional(v.string()),
  created_by: v.optional(v.string()),
  author: v.optional(v.string()),
  comment: v.optional(v.string()),
  empty_layer: v.optional(v.boolean()),
});

export const imageConfigSchema = jsonLooseObject({
  created: v.optional(v.string()),
  author: v.optional(v.string()),
  architecture: v.string(),
  os: v.string(),
  'os.version': v.optional(v.string()),
  variant: v.optional(v.string()),
  config: v.nullish(containerConfigSchema),
  rootfs: jsonLooseObject({ type: v.string(), diff_ids: v.array(v.string()) }),
  history: v.optional(v.array(historySchema)),
});
