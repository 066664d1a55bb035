import { openStore } from '@concil/store';

// Pull an image into a cache, its layers converted to squashfs on the way in; pull it again.
export async function example(cacheDir: string, reference: string) {
  const store = await openStore({ cacheDir });
  const image = await store.pull(reference, { squashfs: true });
  for (const layer of image.layers) console.log(layer.descriptor.digest, '→', layer.squashfsPath);
  const again = await store.pull(reference); // one HEAD: the tag still names the cached manifest
  console.log(again.fromCache ? 'from the cache' : 'fetched', (await store.list()).length, 'image(s)');
  return { image, again, verified: await store.verify() };
}
