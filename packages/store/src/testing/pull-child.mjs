// A separate process pulling into a store: `node pull-child.mjs CACHE_DIR REFERENCE [squashfs]`.
// Runs the built package (dist), as a user's process would.
import { join } from 'node:path';
import { openStore, parseConfig } from '../../dist/index.js';

const [cacheDir, reference, squashfs] = process.argv.slice(2);
const store = await openStore({
  config: parseConfig(JSON.stringify({ cache_dir: cacheDir }), join(cacheDir, 'config.json')),
  lockStaleMs: 3000,
});
const image = await store.pull(reference, { squashfs: squashfs === 'squashfs' });
process.stdout.write(
  JSON.stringify({
    manifest: image.manifestDescriptor.digest,
    layers: image.layers.map((layer) => ({ digest: layer.descriptor.digest, squashfs: layer.squashfsPath })),
    blobsCopied: image.blobsCopied,
  }),
);
