import { RegistryError } from './errors.js';
import { header, type RegistrySession, readBodyBytes } from './session.js';

/** The `rel="next"` target of a `Link` header, if any. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /\brel\s*=\s*"?next"?/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

/**
 * GETs a paginated list endpoint (`tags/list`, `_catalog`), following `Link: <…>; rel="next"`,
 * and yields the string array found under `field` on each page.
 */
export async function* paginate(
  session: RegistrySession,
  options: {
    path: string;
    field: 'tags' | 'repositories';
    pageSize?: number;
    scopes: string[];
    repository?: string;
    reference: string;
    signal?: AbortSignal;
  },
): AsyncGenerator<string[]> {
  let path: string | undefined = options.pageSize ? `${options.path}?n=${options.pageSize}` : options.path;
  const seen = new Set<string>();
  while (path && !seen.has(path)) {
    seen.add(path);
    const response = await session.send({
      method: 'GET',
      path,
      scopes: options.scopes,
      ...(options.repository !== undefined && { repository: options.repository }),
      context: {
        reference: options.reference,
        registry: session.registry,
        ...(options.repository !== undefined && { subject: 'repository' as const }),
      },
      ...(options.signal && { signal: options.signal }),
    });
    const bytes = await readBodyBytes(response, 16 * 1024 * 1024, options.reference, 'the list');
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError(
        'PROTOCOL',
        `${options.reference}: the registry answered a list that is not JSON`,
        {
          reference: options.reference,
          status: response.status,
        },
      );
    }
    const list =
      typeof json === 'object' && json !== null ? (json as Record<string, unknown>)[options.field] : [];
    if (
      list !== null &&
      list !== undefined &&
      !(Array.isArray(list) && list.every((x) => typeof x === 'string'))
    ) {
      throw new RegistryError(
        'PROTOCOL',
        `${options.reference}: "${options.field}" is not a list of strings`,
        {
          reference: options.reference,
          status: response.status,
        },
      );
    }
    yield (list as string[] | null | undefined) ?? [];
    const next = nextLink(header(response, 'link'));
    path = next ? new URL(next, response.url).toString() : undefined;
  }
}
