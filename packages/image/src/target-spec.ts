import { type ImageReference, parseReference } from '@concil/oci-spec';
import { ImageError } from './errors.js';

/** Where an image is, as a person writes it on the command line. */
export type TargetSpec =
  | { kind: 'registry'; reference: ImageReference }
  | { kind: 'dir'; path: string }
  | { kind: 'oci'; path: string; reference?: string };

/**
 * Parses `docker://…`, `dir:PATH`, `oci:PATH[:tag]` and a bare path (an image directory, as
 * in the Python concil).
 */
export function parseTargetSpec(spec: string): TargetSpec {
  if (spec.startsWith('docker://')) return { kind: 'registry', reference: parseReference(spec) };
  if (spec.startsWith('dir:')) return { kind: 'dir', path: nonEmpty(spec.slice(4), spec) };
  if (spec.startsWith('oci:')) {
    const rest = nonEmpty(spec.slice(4), spec);
    const colon = rest.lastIndexOf(':');
    // A tag never contains '/', a path usually does: `oci:/a/b:latest` vs `oci:./c`.
    if (colon > 0 && !rest.slice(colon + 1).includes('/')) {
      return { kind: 'oci', path: rest.slice(0, colon), reference: nonEmpty(rest.slice(colon + 1), spec) };
    }
    return { kind: 'oci', path: rest };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(spec) || /^(oci-archive|docker-archive|docker-daemon):/.test(spec)) {
    throw new ImageError(
      'TARGET_INVALID',
      `"${spec}": this kind of location is not supported yet; use docker://, dir: or oci:`,
      spec,
    );
  }
  return { kind: 'dir', path: nonEmpty(spec, spec) };
}

function nonEmpty(value: string, spec: string): string {
  if (!value) throw new ImageError('TARGET_INVALID', `"${spec}" names no path or tag`, spec);
  return value;
}
