import { copy, editImage, OciLayout, parseCommand } from '@concil/image';

// Add a directory as a top layer titled "app", merge the image's own layers into one, and set
// the user, an environment variable and the command, in one copy between two OCI layouts.
export async function example(src: string, dst: string, directory: string) {
  const edit = await editImage({
    addLayers: [{ title: 'app', path: directory }], // a directory, tar, tar.gz, tar.zst or squashfs file
    mergeLayers: ['%1..%2'], // layer names: a digest prefix, a title, %N, and ranges A..B, A.., ..B
    config: { user: '1000:1000', env: ['MODE=prod'], cmd: parseCommand('run --fast') },
  });
  return copy(new OciLayout(src, 'latest'), new OciLayout(dst, 'latest'), { edit });
}
