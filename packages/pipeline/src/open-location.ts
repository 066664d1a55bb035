import { type OpenTargetOptions, openTarget, parseTargetSpec, type TargetSpec } from '@concil/image';
import { parseReference, type Target } from '@concil/oci-spec';
import { DockerDaemon } from './docker-daemon.js';
import { PipelineError } from './errors.js';

/** Where an image is: the pipeline's own locations, or one `@concil/image` opens. */
export type LocationSpec = { kind: 'docker-daemon'; image: string } | TargetSpec;

export interface OpenLocationOptions extends OpenTargetOptions {
  /** The Docker or Podman daemon's Unix socket, for `docker-daemon:` (default `/var/run/docker.sock`). */
  socket?: string;
}

const DAEMON = 'docker-daemon:';

/**
 * Parses a location: the pipeline's prefixes first (`docker-daemon:NAME[:TAG]`,
 * `docker-daemon:NAME@DIGEST`, `docker-daemon:sha256:ID`), everything else as
 * `@concil/image`'s `parseTargetSpec` does.
 */
export function parseLocation(spec: string): LocationSpec {
  if (spec.startsWith(DAEMON)) return { kind: 'docker-daemon', image: daemonImage(spec) };
  return parseTargetSpec(spec);
}

/** Opens a location as a target; the pipeline's own kinds here, the rest through `openTarget`. */
export function openLocation(spec: string, options: OpenLocationOptions = {}): Target {
  const parsed = parseLocation(spec);
  switch (parsed.kind) {
    case 'docker-daemon':
      return new DockerDaemon(parsed.image, { ...(options.socket && { socket: options.socket }) });
    default:
      return openTarget(spec, options);
  }
}

/** Frees what a location opened for reading holds (a daemon's spooled answer); others hold nothing. */
export async function closeLocation(target: Target): Promise<void> {
  if (target instanceof DockerDaemon) await target.close();
}

/** The image of `docker-daemon:IMAGE`, checked: an ID (`sha256:HEX`), or a reference as docker takes it. */
function daemonImage(spec: string): string {
  const image = spec.slice(DAEMON.length);
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
