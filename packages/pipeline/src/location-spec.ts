// What a location names, without anything that opens one: the CLI reads it first, and loads the
// pipeline (its sinks, its filters) only for the pipeline's own transports.

/** The pipeline's own transports, each a target in a file of its own. */
export type PipelineTransport = 'docker-daemon' | 'extracted' | 'bundle' | 'mounts';

const PIPELINE_TRANSPORTS: readonly PipelineTransport[] = ['docker-daemon', 'extracted', 'bundle', 'mounts'];

/**
 * occystrap's URI forms and what concil calls them. occystrap's `docker://` (its daemon) is not
 * among them: `docker://` stays the registry, as in skopeo and concil; its daemon is
 * `docker-daemon:`.
 */
const OCCYSTRAP_FORMS: readonly [string, string][] = [
  ['registry://', 'docker://'],
  ['tar://', 'docker-archive:'],
  ['dir://', 'extracted:'],
  ['oci://', 'bundle:'],
  ['mounts://', 'mounts:'],
];

/** A location written in occystrap's form (`registry://…`, `tar://FILE`…) as concil writes it; others unchanged. */
export function canonicalLocation(spec: string): string {
  for (const [occystrap, concil] of OCCYSTRAP_FORMS) {
    if (spec.startsWith(occystrap)) return `${concil}${spec.slice(occystrap.length)}`;
  }
  return spec;
}

/** The pipeline's transport a location names (in concil's form), or undefined for one `@concil/image` opens. */
export function pipelineTransportOf(spec: string): PipelineTransport | undefined {
  return PIPELINE_TRANSPORTS.find((kind) => spec.startsWith(`${kind}:`));
}
