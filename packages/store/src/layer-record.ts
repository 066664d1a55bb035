import { jsonNumber, jsonObject } from '@concil/oci-spec';
import * as v from 'valibot';

/** What the store records about a layer blob: the diff_id of its tar and its squashfs image. */
const layerRecordSchema = jsonObject({
  digest: v.string(),
  diffId: v.string(),
  squashfs: v.optional(jsonObject({ size: jsonNumber })),
});
export type LayerRecord = v.InferOutput<typeof layerRecordSchema>;

/** The record in a file's JSON, or undefined when it is no record (never written whole). */
export function asLayerRecord(json: unknown): LayerRecord | undefined {
  const parsed = v.safeParse(layerRecordSchema, json);
  return parsed.success ? parsed.output : undefined;
}
