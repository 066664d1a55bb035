import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { descriptorSchema, jsonNumber, jsonObject, platformSchema } from '@concil/oci-spec';
import * as v from 'valibot';
import { writeFileAtomic } from './atomic-file.js';
import type { StoreLayout } from './layout.js';

/** What the store knows about a reference: the root it resolved to, when, and its last use. */
export const refRecordSchema = jsonObject({
  reference: v.string(),
  root: descriptorSchema,
  /** The platform's manifest when the root is an index. */
  manifest: v.optional(descriptorSchema),
  platform: v.optional(platformSchema),
  /** Milliseconds since the epoch. */
  resolvedAt: jsonNumber,
  lastUsed: jsonNumber,
});

export type RefRecord = v.InferOutput<typeof refRecordSchema>;

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
    const parsed = v.safeParse(refRecordSchema, JSON.parse(text));
    return parsed.success ? parsed.output : undefined;
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
