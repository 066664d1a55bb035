import { registryBaseUrl } from '@concil/oci-spec';
import { RegistryError } from './errors.js';

/**
 * The base URL of a registry's API, under which `/v2/…` goes: `baseUrl` when given (a mirror, or
 * concil's `remote_servers`: http or https, any path, a `/v2` at its end dropped), else the
 * registry host's own (plain HTTP for loopback hosts or with `plainHttp`).
 */
export function apiBaseUrl(registry: string, options: { baseUrl?: string; plainHttp?: boolean }): URL {
  if (options.baseUrl === undefined) {
    return new URL(
      registryBaseUrl(registry, options.plainHttp === undefined ? {} : { plainHttp: options.plainHttp }),
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(options.baseUrl);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username) {
    throw new RegistryError(
      'CONFIG_INVALID',
      `the address given for ${registry} is not a registry's base URL: ${redactUrl(options.baseUrl)}; write http(s)://host[:port][/path]`,
      { reference: registry },
    );
  }
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
  return url;
}

function redactUrl(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}
