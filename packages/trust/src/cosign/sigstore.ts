// The parts of sigstore-js concil uses, named statically: the bundles load this module lazily
// (`import('./sigstore.js')`), and a static import is what gives a bundler (the CLI's esbuild) the
// named exports of these CommonJS packages, which a dynamic import of them would not.
export { bundleFromJSON, bundleToJSON, isBundleWithDsseEnvelope } from '@sigstore/bundle';
export { DSSEBundleBuilder } from '@sigstore/sign';
export { type SignedEntity, toSignedEntity, Verifier } from '@sigstore/verify';
