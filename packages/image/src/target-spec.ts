import { type ImageReference, parseReference } from '@concil/oci-spec';
import { ImageError } from './errors.js';

/** Where an image is, as a person writes it on the command line. */
export type TargetSpec =
  | { kind: 'registry'; reference: ImageReference }
  | { kind: 'dir'; path: string }
  | { kind: 'oci'; path: string; reference?: string }
  | { kind: 'oci-archive'; path: string; reference?: string }
  | { kind: 'docker-archive'; path: string; reference?: string };

/** The locations there are, as the messages name them. */
const TRANSPORTS =
  'docker://HOST/REPO[:TAG], dir:PATH, oci:PATH[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG]';

/**
 * Parses `docker://…`, `dir:PATH`, `oci:PATH[:tag]`, `oci-archive:FILE[:tag]`,
 * `docker-archive:FILE[:name[:tag]]` and a bare path (an image directory, as in the Python concil).
 * Any other `word:` prefix is refused; a path whose first part has a colon is written `./word:…`.
 */
export function parseTargetSpec(spec: string): TargetSpec {
  if (spec.startsWith('docker://')) return { kind: 'registry', reference: parseReference(spec) };
  if (spec.startsWith('dir:')) return { kind: 'dir', path: nonEmpty(spec.slice(4), spec) };
  for (const kind of ['oci', 'oci-archive'] as const) {
    if (!spec.startsWith(`${kind}:`)) continue;
    const rest = nonEmpty(spec.slice(kind.length + 1), spec);
    const colon = rest.lastIndexOf(':');
    // A tag never contains '/', a path usually does: `oci:/a/b:latest` vs `oci:./c`.
    if (colon > 0 && !rest.slice(colon + 1).includes('/')) {
      return { kind, path: rest.slice(0, colon), reference: nonEmpty(rest.slice(colon + 1), spec) };
    }
    return { kind, path: rest };
  }
  if (spec.startsWith('docker-archive:')) {
    // As skopeo: the file ends at the first colon, the image name (with its own colons) follows.
    const rest = nonEmpty(spec.slice('docker-archive:'.length), spec);
    const colon = rest.indexOf(':');
    if (colon < 0) return { kind: 'docker-archive', path: rest };
    return {
      kind: 'docker-archive',
      path: nonEmpty(rest.slice(0, colon), spec),
      reference: nonEmpty(rest.slice(colon + 1), spec),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(spec) || /^docker-daemon:/.test(spec)) {
    throw new ImageError(
      'TARGET_INVALID',
      `"${spec}": this kind of location is not supported yet; use docker://, dir:, oci:, oci-archive: or docker-archive:`,
      spec,
    );
  }
  // `word:…` names a transport: a typo (`oic:`) must not become a directory named after it.
  const transport = /^[A-Za-z0-9][A-Za-z0-9_.+-]*:/.exec(spec)?.[0];
  if (transport) {
    throw new ImageError(
      'TARGET_INVALID',
      `"${spec}": unknown transport "${transport}"; use ${TRANSPORTS} or a path (./${spec} for a directory of that name)`,
      spec,
    );
  }
  return { kind: 'dir', path: nonEmpty(spec, spec) };
}

function nonEmpty(value: string, spec: string): string {
  if (!value) throw new ImageError('TARGET_INVALID', `"${spec}" names no path or tag`, spec);
  return value;
}
