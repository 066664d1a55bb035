import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createSquashfs, openSquashfs, squashfsToTar } from '@concil/squashfs';

export async function example(layerTar: string, image: string, backTar: string): Promise<string[]> {
  const stats = await createSquashfs(createReadStream(layerTar), image, { compressor: 'zstd', level: 10 });
  console.log(`${image}: ${stats.inodes} inodes, ${stats.bytes} bytes`);
  const reader = await openSquashfs(image);
  const listing = reader.list().map((e) => `${e.type} /${e.path} ${e.size}`);
  await pipeline(squashfsToTar(reader), createWriteStream(backTar));
  reader.close();
  return listing;
}
