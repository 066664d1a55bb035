import { Readable } from 'node:stream';
import type { Descriptor, FetchOptions, Target } from '@concil/oci-spec';

/** Pushes small content (a payload, a config, a bundle) unless the target has it already. */
export async function pushIfMissing(
  target: Target,
  desc: Descriptor,
  bytes: Buffer,
  options: FetchOptions,
): Promise<void> {
  if (await target.exists(desc)) return;
  await target.push(desc, Readable.from([bytes]), options);
}
