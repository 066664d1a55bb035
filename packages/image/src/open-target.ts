import type { Target } from '@concil/oci-spec';
import { ImageError } from './errors.js';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { parseTargetSpec } from './target-spec.js';

export interface OpenTargetOptions {
  /** For registries: skip TLS verification. */
  insecure?: boolean;
}

/** Opens the place a spec names (`docker://…`, `dir:PATH`, `oci:PATH[:tag]`, a bare path) as a target. */
export function openTarget(spec: string, _options: OpenTargetOptions = {}): Target {
  const parsed = parseTargetSpec(spec);
  switch (parsed.kind) {
    case 'dir':
      return new ImageDirectory(parsed.path);
    case 'oci':
      return new OciLayout(parsed.path, parsed.reference);
    case 'registry':
      throw new ImageError('UNSUPPORTED', `${spec}: registries are not wired in yet`, spec);
  }
}
