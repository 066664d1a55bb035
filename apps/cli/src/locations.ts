import type { ReadOnlyTarget, Target } from '@concil/oci-spec';
import type { OpenLocationOptions } from '@concil/pipeline';
import { canonicalLocation, pipelineTransportOf } from '@concil/pipeline/location-spec';

/** How a command opens the locations it was given, and frees what a source held. */
export interface Locations {
  open(spec: string, options?: OpenLocationOptions): Target;
  close(target: ReadOnlyTarget): Promise<void>;
}

/**
 * The package that opens these locations, loaded when the command runs: the pipeline for its own
 * transports (`docker-daemon:`, `extracted:`, `bundle:`, `mounts:`), else `@concil/image` alone.
 * The pipeline's chunks (its sinks, its filters, picomatch) cost a listing ~3 ms to load.
 */
export async function openerOf(...specs: string[]): Promise<Locations> {
  if (specs.some((spec) => pipelineTransportOf(canonicalLocation(spec)))) {
    const { closeLocation, openLocation } = await import('@concil/pipeline');
    return { open: openLocation, close: closeLocation };
  }
  const { openTarget } = await import('@concil/image');
  // Only the pipeline's daemon source holds anything to free.
  return { open: (spec, options) => openTarget(canonicalLocation(spec), options), close: async () => {} };
}
