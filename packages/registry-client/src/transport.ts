import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { RegistryError } from './errors.js';
import { loadUndici } from './undici.js';

export interface TransportOptions {
  /** Skip TLS certificate verification. Only for registries you control; never the default. */
  insecure?: boolean;
  /** A PEM file of extra certificate authorities to trust (added to the system's). */
  caFile?: string;
  /**
   * A directory of `*.crt` CAs and `*.cert`/`*.key` client certificate pairs for this registry,
   * instead of `/etc/containers/certs.d/<host>/` and `/etc/docker/certs.d/<host>/`.
   */
  certDir?: string;
  /**
   * Requests waiting for their response at once (default 8). A download's slot is freed when its
   * headers arrive, so open streams never block other requests; uploads are bounded by the caller.
   */
  maxConcurrency?: number;
  /** Proxies; by default HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case) from the environment. */
  proxy?: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
}

export const defaultCertRoots = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

export interface TlsMaterial {
  ca?: string[];
  cert?: string;
  key?: string;
}

/** Reads the CAs and client certificate that apply to a registry from its cert directories. */
export async function loadTlsMaterial(
  registry: string,
  options: TransportOptions = {},
): Promise<TlsMaterial> {
  const dirs = options.certDir ? [options.certDir] : defaultCertRoots.map((root) => join(root, registry));
  const extraCas: string[] = [];
  if (options.caFile) extraCas.push(await readFile(options.caFile, 'utf8'));
  let cert: string | undefined;
  let key: string | undefined;
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.endsWith('.crt')) extraCas.push(await readFile(join(dir, name), 'utf8'));
      if (name.endsWith('.cert') && cert === undefined) {
        const keyName = `${name.slice(0, -'.cert'.length)}.key`;
        if (!names.includes(keyName)) {
          throw new Error(`client certificate ${join(dir, name)} has no matching key ${keyName}`);
        }
        cert = await readFile(join(dir, name), 'utf8');
        key = await readFile(join(dir, keyName), 'utf8');
      }
    }
  }
  // node:tls only when needed: loading it is a tenth of a plain-HTTP or local command's start-up.
  const ca = extraCas.length > 0 ? [...(await import('node:tls')).rootCertificates, ...extraCas] : undefined;
  return {
    ...(ca && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
  };
}

/**
 * One dispatcher per client, so connections are reused (keep-alive pools per origin): it honours
 * HTTP(S)_PROXY and NO_PROXY and verifies TLS unless told not to.
 */
export async function createDispatcher(
  registry: string,
  options: TransportOptions = {},
): Promise<Dispatcher> {
  let material: TlsMaterial;
  try {
    material = await loadTlsMaterial(registry, options);
  } catch (error) {
    throw new RegistryError(
      'TLS',
      `cannot load the TLS settings for ${registry}: ${(error as Error).message}; check --ca-file and --cert-dir`,
      { reference: registry, cause: error },
    );
  }
  const tls = { ...material, rejectUnauthorized: !options.insecure };
  const { EnvHttpProxyAgent } = await loadUndici();
  return new EnvHttpProxyAgent({
    connect: tls,
    requestTls: tls,
    ...options.proxy,
  });
}

const tlsErrorCodes = /^(?:ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_)/;

/** Whether a request failure is a TLS verification or handshake problem. */
export function isTlsError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && tlsErrorCodes.test(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
