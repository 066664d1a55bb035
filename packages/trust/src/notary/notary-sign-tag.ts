import {
  type NotaryConfig,
  notaryCredentials,
  notaryTrustDir,
  requireNotaryServer,
} from './notary-config.js';
import {
  type PublishNotaryTargetOptions,
  type PublishNotaryTargetResult,
  publishNotaryTarget,
} from './notary-publish.js';

/** The keys of a Notary signature: the passphrase of those under `notary_path`, a given root key. */
export interface NotaryKeyOptions {
  /** Encrypts the keys concil writes under the trust directory (and opens those there). */
  passphrase?: string;
  /** The root key to initialise a new GUN with (`--root-certificate`/`--root-key`). */
  rootKey?: PublishNotaryTargetOptions['rootKey'];
}

/** An image tag as Notary names it: `registry/repository` is the GUN. */
export interface NotaryTag {
  registry: string;
  repository: string;
  tag: string;
}

export interface NotarySignedTag extends PublishNotaryTargetResult {
  /** The Notary server it was signed in. */
  serverUrl: string;
}

/**
 * Signs an image's tag → (digest, size) in the Notary server the configuration names for its
 * registry (`remote_servers[host].notary`, `cafile`, the registry's credentials, keys and trusted
 * metadata under `notary_path`), as `notary add` + `notary publish` do; see `publishNotaryTarget`.
 * What `concil notary-publish` and `concil publish --notary` do.
 */
export async function signNotaryTag(
  config: NotaryConfig,
  image: NotaryTag,
  manifest: { digest: string; size: number },
  keys: NotaryKeyOptions = {},
): Promise<NotarySignedTag> {
  const serverUrl = requireNotaryServer(config, image.registry);
  const result = await publishNotaryTarget({
    serverUrl,
    ...(config.cafile && { caFile: config.cafile }),
    credentials: notaryCredentials(config, image.registry),
    trustDir: notaryTrustDir(config),
    pinning: config.notary_trust_pinning,
    gun: `${image.registry}/${image.repository}`,
    tag: image.tag,
    digest: manifest.digest,
    size: manifest.size,
    ...(keys.passphrase !== undefined && { passphrase: keys.passphrase }),
    ...(keys.rootKey && { rootKey: keys.rootKey }),
  });
  return { ...result, serverUrl };
}
