import { createReadStream } from 'node:fs';
import { copy, type ImageEditor, type LayerTransform, OciLayout } from '@concil/image';
import { MediaType } from '@concil/oci-spec';

// A transform of zero source layers: a new top layer holding an uncompressed tar file.
const addTar = (path: string): LayerTransform => ({
  id: `add-tar:${path}`,
  async apply(_sources, { ingest }) {
    const descriptor = await ingest(MediaType.ociLayerTar, createReadStream(path)); // hashed as written
    return { descriptor, diffId: descriptor.digest }; // an uncompressed tar is its own diff_id
  },
});

export async function example(src: string, dst: string, tar: string) {
  const edit: ImageEditor = ({ manifest }) => ({
    layers: [...manifest.layers.map((_, source) => ({ source })), { transform: addTar(tar), sources: [] }],
  });
  return copy(new OciLayout(src, 'v1'), new OciLayout(dst, 'v1'), { edit });
}
