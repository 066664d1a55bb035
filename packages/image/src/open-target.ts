import type { Target } from '@concil/oci-spec';
import { type OpenRegistryTargetOptions, openRegistryTarget } from '@concil/registry-client';
import { ImageDirectory } from './image-directory.js';
import { OciLayout } from './oci-layout.js';
import { parseTargetSpec } from './target-spec.js';

export interface OpenTargetOptions {
  /** How to reach registries: credentials, TLS, prompt, retries. */
  registry?: OpenRegistryTargetOptions;
}

/** Opens the place a spec names (`docker://…`, `dir:PATH`, `oci:PATH[:tag]`, a bare path) as a target. */
export function openTarget(spec: string, options: OpenTargetOptions = {}): Target {
  const parsed = parseTargetSpec(spec);
  switch (parsed.kind) {
    case 'dir':
      return new ImageDirectory(parsed.path);
    case 'oci':
      return new OciLayout(parsed.path, parsed.reference);
    case 'registry':
      return openRegistryTarget(parsed.reference, options.registry);
  }
}
