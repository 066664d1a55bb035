import { openImage } from '@concil/image';

// Read one image from any place concil reads (docker://…, dir:, oci:, oci-archive:,
// docker-archive:) and list its layers: title, media type, size stored and as a tar.
export async function example(spec: string) {
  const image = await openImage(spec, { platform: { os: 'linux', architecture: 'amd64' } });
  console.log(image.descriptor.digest, `${image.config.os}/${image.config.architecture}`);
  const layers = [];
  for (const layer of image.layers) {
    let tarBytes = 0; // the uncompressed tar, checked against the layer's diff_id at its end
    for await (const chunk of await layer.tarStream()) tarBytes += chunk.length;
    layers.push({
      title: layer.title ?? layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      tarBytes,
    });
  }
  return layers;
}
