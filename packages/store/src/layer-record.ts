import * as z from 'zod/mini';

/** What the store records about a layer blob: the diff_id of its tar and its squashfs image. */
export const layerRecordSchema = z.object({
  digest: z.string(),
  diffId: z.string(),
  squashfs: z.optional(z.object({ size: z.number() })),
});
export type LayerRecord = z.infer<typeof layerRecordSchema>;
