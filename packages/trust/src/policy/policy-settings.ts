import { parseReference } from '@concil/oci-spec';

/** Trust settings of one scope of `remote_servers` (a registry, or a repository prefix). */
export interface RemoteTrustSettings {
  /** Turns trust off (true) or on (false) for this scope. */
  disable_content_trust?: boolean;
  /** The trust system for this scope. */
  content_trust?: string;
  /** cosign: only these keys (IDs of the key directory, or public key files) are trusted here. */
  cosign_keys?: string[];
  /** The repository signatures must name (`host/repo`), when images were copied from there. */
  signed_identity?: string;
}

/** The part of concil's configuration the policy reads. */
export interface TrustPolicyConfig {
  disable_content_trust: boolean;
  /** `cosign` or `notary`. */
  content_trust: string;
  /** Keyed by `host[:port]`, the host alone, or `host[:port]/repository/prefix`. */
  remote_servers?: Record<string, RemoteTrustSettings & Record<string, unknown>>;
}

/** What the policy says about one repository. */
export interface TrustSettings {
  required: boolean;
  method: string;
  cosignKeys?: string[];
  identity: string;
  /** The `remote_servers` keys that applied, most general first (for messages). */
  scopes: string[];
}

/**
 * The settings for an image: the configuration's top level, then every `remote_servers` entry
 * whose key names its registry (`host:port` or `host`) or a repository prefix of it
 * (`host:port/team` covers `host:port/team/app`, not `host:port/teamwork`), the more specific
 * entry winning.
 */
export function settingsFor(config: TrustPolicyConfig, reference: string): TrustSettings {
  const ref = parseReference(reference);
  const repository = `${ref.registry}/${ref.repository}`;
  const host = ref.registry.replace(/:\d+$/, '');
  const candidates = [ref.registry, ...(host !== ref.registry ? [host] : [])];
  const scopes = Object.keys(config.remote_servers ?? {})
    .filter((key) => candidates.includes(key) || coversRepository(key, repository))
    .sort((a, b) => specificity(a, ref.registry) - specificity(b, ref.registry));
  let required = !config.disable_content_trust;
  let method = config.content_trust;
  let cosignKeys: string[] | undefined;
  let identity = repository;
  for (const scope of scopes) {
    const entry = config.remote_servers?.[scope] ?? {};
    if (entry.disable_content_trust !== undefined) required = !entry.disable_content_trust;
    if (entry.content_trust !== undefined) {
      method = entry.content_trust;
      if (entry.disable_content_trust === undefined) required = true;
    }
    if (entry.cosign_keys !== undefined) cosignKeys = entry.cosign_keys;
    if (entry.signed_identity !== undefined) identity = entry.signed_identity;
  }
  return { required, method, ...(cosignKeys && { cosignKeys }), identity, scopes };
}

function coversRepository(key: string, repository: string): boolean {
  return key.includes('/') && (repository === key || repository.startsWith(`${key}/`));
}

/** A host alone < host:port < host:port/a < host:port/a/b. */
function specificity(key: string, registry: string): number {
  const slashes = key.split('/').length - 1;
  return slashes * 2 + (key.startsWith(registry) ? 1 : 0);
}
