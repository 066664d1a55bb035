import { copy } from '@concil/image';
import { closeLocation, openLocation } from '@concil/pipeline';

// Copy an image out of a Docker or Podman daemon, through its API socket, into an OCI layout.
export async function example(socket: string, layoutPath: string) {
  const src = openLocation('docker-daemon:fixture/app:v1', { socket });
  try {
    const result = await copy(src, openLocation(`oci:${layoutPath}:v1`));
    console.log(`copied ${result.descriptor.digest}: ${result.blobsCopied} blobs`);
    return result;
  } finally {
    await closeLocation(src); // frees the daemon's spooled answer
  }
}
