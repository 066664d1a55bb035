import { Readable } from 'node:stream';
import { computeDigest, type Descriptor, MediaType, type Target } from '@concil/oci-spec';

async function pushBytes(target: Target, mediaType: string, bytes: Buffer): Promise<Descriptor> {
  const desc = { mediaType, digest: computeDigest(bytes), size: bytes.length };
  await target.push(desc, Readable.from([bytes]));
  return desc;
}

/** Pushes a one-layer image whose content is `text`, tagged `tag`; returns its manifest descriptor. */
export async function pushTinyImage(target: Target, text: string, tag: string): Promise<Descriptor> {
  const layer = await pushBytes(target, MediaType.ociLayerTar, Buffer.from(text));
  const config = await pushBytes(
    target,
    MediaType.ociConfig,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = await pushBytes(
    target,
    MediaType.ociManifest,
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
    ),
  );
  await target.tag(manifest, tag);
  return manifest;
}
