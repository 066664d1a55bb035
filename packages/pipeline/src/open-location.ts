import { type OpenTargetOptions, openTarget, parseTargetSpec, type TargetSpec } from '@concil/image';
import { parseReference, type ReadOnlyTarget, type Target } from '@concil/oci-spec';
import { DockerDaemon } from './docker-daemon.js';
import { PipelineError } from './errors.js';
import { canonicalLocation, type PipelineTransport, pipelineTransportOf } from './location-spec.js';
import { openUnpackingLocation, type UnpackingLocationOptions } from './unpacking-locations.js';

/** A location: one of the pipeline's transports (with what follows its prefix), or one `@concil/image` opens. */
export type Location =
  | { kind: 'image'; spec: string; target: TargetSpec }
  | { kind: PipelineTransport; spec: string; rest: string };

export interface OpenLocationOptions extends OpenTargetOptions, UnpackingLocationOptions {
  /** The Docker or Podman daemon's Unix socket, for `docker-daemon:` (default `/var/run/docker.sock`). */
  socket?: string;
}

/**
 * Parses a location: occystrap's forms are taken for concil's, the pipeline's transports
 * (`docker-daemon:`, `extracted:`, `bundle:`, `mounts:`) first, everything else as
 * `@concil/image`'s `parseTargetSpec` does (which refuses what it does not know).
 */
export function parseLocation(text: string): Location {
  const spec = canonicalLocation(text);
  const kind = pipelineTransportOf(spec);
  if (kind) return { kind, spec, rest: spec.slice(kind.length + 1) };
  return { kind: 'image', spec, target: parseTargetSpec(spec) };
}

/** Opens a location as a target the one copy reads from or writes to. */
export function openLocation(text: string, options: OpenLocationOptions = {}): Target {
  const location = parseLocation(text);
  switch (location.kind) {
    case 'image':
      return openTarget(location.spec, options);
    case 'docker-daemon':
      return new DockerDaemon(daemonImage(location), { ...(options.socket && { socket: options.socket }) });
    case 'extracted':
    case 'bundle':
    case 'mounts':
      return openUnpackingLocation(location.kind, location.rest, options);
  }
}

/** Frees what a location opened for reading holds (a daemon's spooled answer); others hold nothing. */
export async function closeLocation(target: ReadOnlyTarget): Promise<void> {
  if (target instanceof DockerDaemon) await target.close();
}

/** The image of `docker-daemon:IMAGE`, checked: an ID (`sha256:HEX`), or a reference as docker takes it. */
function daemonImage({ spec, rest: image }: { spec: string; rest: string }): string {
  if (/^sha256:[0-9a-f]{64}$/.test(image)) return image;
  try {
    parseReference(image);
  } catch (cause) {
    throw new PipelineError(
      'TARGET_INVALID',
      `"${spec}": ${(cause as Error).message}; write docker-daemon:NAME[:TAG], docker-daemon:NAME@sha256:… or docker-daemon:sha256:ID`,
      spec,
      { cause },
    );
  }
  return image;
}
