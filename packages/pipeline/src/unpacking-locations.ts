import type { Target } from '@concil/oci-spec';
import { Bundle } from './bundle.js';
import { PipelineError } from './errors.js';
import { Extracted } from './extracted.js';
import { Mounts } from './mounts.js';

export type UnpackingTransport = 'extracted' | 'bundle' | 'mounts';

export interface UnpackingLocationOptions {
  /** `mounts:`: each layer as a squashfs file instead of a directory. */
  squashfs?: boolean;
}

/**
 * Opens what follows `extracted:`, `bundle:` or `mounts:`: `DIR` for all three, `DIR:NAME:TAG`
 * for `extracted:` (the directory ends at the first colon, the image's name follows with its own).
 */
export function openUnpackingLocation(
  kind: UnpackingTransport,
  rest: string,
  options: UnpackingLocationOptions = {},
): Target {
  if (rest === '') {
    throw new PipelineError('TARGET_INVALID', `"${kind}:" names no directory; write ${kind}:DIR`, `${kind}:`);
  }
  switch (kind) {
    case 'extracted': {
      const colon = rest.indexOf(':');
      if (colon < 0) return new Extracted(rest);
      const [path, reference] = [rest.slice(0, colon), rest.slice(colon + 1)];
      if (path === '' || reference === '') {
        throw new PipelineError(
          'TARGET_INVALID',
          `"extracted:${rest}" names no ${path === '' ? 'directory' : 'image'}; write extracted:DIR[:NAME:TAG]`,
          `extracted:${rest}`,
        );
      }
      return new Extracted(path, reference);
    }
    case 'bundle':
      return new Bundle(rest);
    case 'mounts':
      return new Mounts(rest, { squashfs: options.squashfs ?? false });
  }
}
