import type { ImageEdits } from '@concil/image';
import { type Command, Option } from 'commander';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The edit flags of `concil copy`: layers added, removed, merged; config and manifest edits. */
export function addEditOptions(command: Command): Command {
  return command
    .option(
      '--add-layer <TITLE=PATH>',
      'add a directory, tarball (tar, tar.gz, tar.zst) or squashfs file as a new top layer titled TITLE (repeatable)',
      collect,
    )
    .option('--remove-layer <NAME>', 'remove a layer or a range of layers (repeatable)', collect)
    .option(
      '--merge-layers <RANGE>',
      'merge a range of layers into one, whiteouts applied (repeatable)',
      collect,
    )
    .option('--user <uid:gid>', 'the user the container runs as')
    .option('--env <KEY=VALUE>', 'set an environment variable; KEY alone removes it (repeatable)', collect)
    .option('--volume <PATH>', 'add a volume (repeatable)', collect)
    .option(
      '--entrypoint <CMD>',
      'the entrypoint: a JSON array (exec form) or a shell string, run by /bin/sh -c',
    )
    .option('--cmd <CMD>', 'the command: a JSON array (exec form) or a shell string, run by /bin/sh -c')
    .option('--working-dir <DIR>', 'the working directory')
    .option('--label <K=V>', 'set a config label (repeatable)', collect)
    .option('--annotation <K=V>', 'set a manifest annotation (repeatable)', collect)
    .addOption(new Option('--format <format>', 'the manifest format written').choices(['oci', 'v2s2']));
}

export const EDIT_EXAMPLES = `
Layers are named by a unique digest prefix (with or without sha256:), a title, or a position %N
(1-based); a range is A..B, A.. or ..B of those names.

Examples:
  add a directory as a layer and set the entrypoint:
    concil copy --add-layer app=./build --entrypoint '["/app/run"]' oci:base:1 oci:app:1
  convert to squashfs:
    concil copy --squashfs docker://registry.example.com/app:1 oci:app-squashfs:1
  and back to tar+gzip:
    concil copy --tar-gzip oci:app-squashfs:1 docker://registry.example.com/app:1-tar
  a docker save archive to a registry, its layers gzipped:
    concil copy --tar-gzip docker-archive:app.tar:app:1 docker://registry.example.com/app:1
  merge layers 2..4:
    concil copy --merge-layers %2..%4 docker://registry.example.com/app:1 dir:app-merged
  remove the layer titled "debug" and an environment variable, set a label:
    concil copy --remove-layer debug --env DEBUG --label org.example.stage=prod oci:app:1 oci:app:prod`;

/** The edits the flags ask for, or undefined when there are none. */
export async function editsFromOptions(
  options: Record<string, unknown>,
  convert: ImageEdits['convert'],
): Promise<ImageEdits | undefined> {
  const { hasEdits, parseCommand, parsePairs } = await import('@concil/image');
  const list = (name: string) => (options[name] as string[] | undefined) ?? [];
  const text = (name: string) => options[name] as string | undefined;
  const edits: ImageEdits = {
    addLayers: list('addLayer').map((pair) => {
      const [title, path] = Object.entries(parsePairs([pair], '--add-layer', 'TITLE=PATH'))[0]!;
      return { title, path };
    }),
    removeLayers: list('removeLayer'),
    mergeLayers: list('mergeLayers'),
    config: {
      user: text('user'),
      env: list('env'),
      volumes: list('volume'),
      entrypoint:
        text('entrypoint') === undefined ? undefined : parseCommand(text('entrypoint')!, '--entrypoint'),
      cmd: text('cmd') === undefined ? undefined : parseCommand(text('cmd')!, '--cmd'),
      workingDir: text('workingDir'),
      labels: parsePairs(list('label'), '--label'),
    },
    annotations: parsePairs(list('annotation'), '--annotation'),
    ...(convert && { convert }),
    ...(options.format !== undefined && { format: options.format === 'v2s2' ? 'docker' : 'oci' }),
  };
  return hasEdits(edits) ? edits : undefined;
}
