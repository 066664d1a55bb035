import type { Target } from '@concil/oci-spec';
import { type OpenRegistryTargetOptions, openRegistryTarget } from '@concil/registry-client';
import { DockerArchive } from './docker-archive.js';
import { ImageDirectory } from './image-directory.js';
import { OciArchive } from './oci-archive.js';
import { OciLayout } from './oci-layout.js';
import { parseTargetSpec } from './target-spec.js';

export interface OpenTargetOptions {
  /** How to reach registries: credentials, TLS, prompt, retries. */
  registry?: OpenRegistryTargetOptions;
}

/**
 * Opens the place a spec names (`docker://…`, `dir:PATH`, `oci:PATH[:tag]`,
 * `oci-archive:FILE[:tag]`, `docker-archive:FILE[:name:tag]`, a bare path) as a target.
 */
export function openTarget(spec: string, options: OpenTargetOptions = {}): Target {
  const parsed = parseTargetSpec(spec);
  switch (parsed.kind) {
    case 'dir':
      return new ImageDirectory(parsed.path);
    case 'oci':
      return new OciLayout(parsed.path, parsed.reference);
    case 'oci-archive':
      return new OciArchive(parsed.path, parsed.reference);
    case 'docker-archive':
      return new DockerArchive(parsed.path, parsed.reference);
    case 'registry':
      return openRegistryTarget(parsed.reference, options.registry);
  }
}
