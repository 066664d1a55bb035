import { Readable } from 'node:stream';
import {
  type Descriptor,
  type FetchOptions,
  manifestAcceptList,
  parseReference,
  type ReadOnlyTarget,
} from '@concil/oci-spec';

/**
 * A bare anonymous plain-HTTP reader of a loopback registry, for tests only: HEAD to resolve a
 * tag, GET for content. It stands in until `@concil/registry-client` exports `openRegistryTarget`.
 */
export function plainRegistrySource(reference: string): ReadOnlyTarget {
  const ref = parseReference(reference);
  const base = `http://${ref.registry}/v2/${ref.repository}`;
  const accept = manifestAcceptList.join(', ');
  const urlOf = (desc: Descriptor) =>
    desc.mediaType.includes('manifest') || desc.mediaType.includes('index')
      ? `${base}/manifests/${desc.digest}`
      : `${base}/blobs/${desc.digest}`;
  return {
    name: `docker://${ref.registry}/${ref.repository}`,
    async resolve(tagOrDigest?: string): Promise<Descriptor> {
      const response = await fetch(`${base}/manifests/${tagOrDigest ?? ref.tag ?? 'latest'}`, {
        method: 'HEAD',
        headers: { accept },
      });
      if (!response.ok) throw new Error(`HEAD ${tagOrDigest}: ${response.status}`);
      return {
        mediaType: response.headers.get('content-type')!,
        digest: response.headers.get('docker-content-digest') as Descriptor['digest'],
        size: Number(response.headers.get('content-length')),
      };
    },
    async fetch(desc: Descriptor, options?: FetchOptions): Promise<Readable> {
      const response = await fetch(urlOf(desc), {
        headers: { accept },
        ...(options?.signal && { signal: options.signal }),
      });
      if (!response.ok || !response.body) throw new Error(`GET ${desc.digest}: ${response.status}`);
      return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
    },
    async exists(desc: Descriptor): Promise<boolean> {
      return (await fetch(urlOf(desc), { method: 'HEAD', headers: { accept } })).ok;
    },
  };
}
