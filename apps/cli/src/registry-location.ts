import type { RegistryClient, RegistryTarget } from '@concil/registry-client';
import { type RegistryFlags, targetOptions } from './registry-options.js';

/**
 * A repository of a registry, for the commands that only work on registries (`tags`, `tag`,
 * `delete`): `docker://host/repo[:tag|@digest]`. Anything else is refused by name, so that
 * `oci:x` or a path is never taken for a Docker Hub repository.
 */
export async function openRepository(
  spec: string,
  flags: RegistryFlags,
  creds?: string,
): Promise<RegistryTarget> {
  const [{ openRegistryTarget }, { OciSpecError }] = await Promise.all([
    import('@concil/registry-client'),
    import('@concil/oci-spec'),
  ]);
  if (!spec.startsWith('docker://')) {
    throw new OciSpecError(
      'REFERENCE_INVALID',
      `"${spec}" is not a registry repository; this command works on registries only: write docker://HOST/REPOSITORY`,
      spec,
    );
  }
  return openRegistryTarget(spec, targetOptions(flags, creds).registry);
}

/** A registry host, `docker://HOST[:PORT]` or `HOST[:PORT]` (for `catalog`). */
export async function openRegistry(
  spec: string,
  flags: RegistryFlags,
  creds?: string,
): Promise<RegistryClient> {
  const [{ RegistryClient }, { OciSpecError }] = await Promise.all([
    import('@concil/registry-client'),
    import('@concil/oci-spec'),
  ]);
  const host = spec.replace(/^docker:\/\//, '').replace(/\/+$/, '');
  if (!/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\])(?::\d+)?$/.test(host)) {
    throw new OciSpecError(
      'REFERENCE_INVALID',
      `"${spec}" is not a registry host; write docker://HOST[:PORT] (a whole registry, no repository)`,
      spec,
    );
  }
  return new RegistryClient(
    host === 'index.docker.io' ? 'docker.io' : host,
    targetOptions(flags, creds).registry,
  );
}
