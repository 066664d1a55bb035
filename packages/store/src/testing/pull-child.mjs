// A separate process pulling into a store: `node pull-child.ts CACHE_DIR REFERENCE [squashfs]`.
// Runs the built package (dist) with Node's type stripping, as a user's process would.
import { join } from 'node:path';
import { openStore, parseConfig } from '../../dist/index.js';
import { plainRegistrySource } from './plain-registry-source.ts';

const [cacheDir, reference, squashfs] = process.argv.slice(2);
const store = await openStore({
  config: parseConfig(JSON.stringify({ cache_dir: cacheDir }), join(cacheDir, 'config.json')),
  openSource: async (ref) => plainRegistrySource(ref),
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
