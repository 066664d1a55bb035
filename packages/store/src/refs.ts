import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { descriptorSchema, platformSchema, schemaParseOptions } from '@concil/oci-spec';
import * as z from 'zod/mini';
import { writeFileAtomic } from './atomic-file.js';
import type { StoreLayout } from './layout.js';

/** What the store knows about a reference: the root it resolved to, when, and its last use. */
export const refRecordSchema = z.object({
  reference: z.string(),
  root: descriptorSchema,
  /** The platform's manifest when the root is an index. */
  manifest: z.optional(descriptorSchema),
  platform: z.optional(platformSchema),
  /** Milliseconds since the epoch. */
  resolvedAt: z.number(),
  lastUsed: z.number(),
});

export type RefRecord = z.infer<typeof refRecordSchema>;

function refRecordPath(layout: StoreLayout, reference: string): string {
  return join(layout.refsDir, `${createHash('sha256').update(reference).digest('hex')}.json`);
}

export async function readRefRecord(layout: StoreLayout, reference: string): Promise<RefRecord | undefined> {
  return readRecordFile(refRecordPath(layout, reference));
}

async function readRecordFile(path: string): Promise<RefRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = refRecordSchema.safeParse(JSON.parse(text), schemaParseOptions);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRefRecord(layout: StoreLayout, record: RefRecord): Promise<void> {
  await writeFileAtomic(layout.tmpDir, refRecordPath(layout, record.reference), JSON.stringify(record));
}

export async function removeRefRecord(layout: StoreLayout, reference: string): Promise<void> {
  await rm(refRecordPath(layout, reference), { force: true });
}

/** Every reference record; unreadable records (never written whole) are skipped. */
export async function listRefRecords(layout: StoreLayout): Promise<RefRecord[]> {
  let names: string[];
  try {
    names = await readdir(layout.refsDir);
  } catch {
    return [];
  }
  const records: RefRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const record = await readRecordFile(join(layout.refsDir, name));
    if (record) records.push(record);
  }
  return records.sort((a, b) => a.reference.localeCompare(b.reference));
}
