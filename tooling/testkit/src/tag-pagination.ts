import type { Fault } from './fault-proxy.js';

/**
 * A `rewrite` fault that pages `tags/list` answers as newer registries do (docker-registry 2.8
 * returns every tag at once and ignores `n`): `n` tags a page (`pageSize` when the client sends
 * no `n`), sorted, with `Link: <…?last=…&n=…>; rel="next"` while more remain.
 */
export function tagListPagination(pageSize: number, times = 1000): Fault {
  return {
    kind: 'rewrite',
    times,
    match: { method: 'GET', path: /\/tags\/list/ },
    rewrite: (response) => {
      if (response.status !== 200) return response;
      const url = new URL(response.url, 'http://registry');
      const n = Number(url.searchParams.get('n') ?? pageSize);
      const last = url.searchParams.get('last');
      const { name, tags } = JSON.parse(response.body.toString()) as { name: string; tags: string[] };
      const all = [...tags].sort();
      const rest = last ? all.filter((tag) => tag > last) : all;
      const page = rest.slice(0, n);
      const headers = { ...response.headers };
      if (rest.length > n) {
        headers.link = `<${url.pathname}?last=${encodeURIComponent(page.at(-1) ?? '')}&n=${n}>; rel="next"`;
      }
      return { ...response, headers, body: Buffer.from(JSON.stringify({ name, tags: page })) };
    },
  };
}
