import { copy, ImageDirectory, OciLayout, readImage } from '@concil/image';

// Copy the image tagged "v1" in an OCI layout into an image directory (skopeo's dir: layout),
// every byte verified on the way, then read back what it holds.
export async function example(layoutPath: string, directoryPath: string) {
  const result = await copy(new OciLayout(layoutPath, 'v1'), new ImageDirectory(directoryPath));
  console.log(`copied ${result.descriptor.digest}: ${result.blobsCopied} blobs`);
  const { config, manifest } = await readImage(new ImageDirectory(directoryPath));
  console.log(config.os, config.architecture, manifest.layers.length, 'layers');
  return { result, config, manifest };
}
