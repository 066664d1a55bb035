import { type EntryFilter, entryPath } from './entry-filter.js';
import { globMatcher } from './path-pattern.js';

/**
 * `exclude:GLOB[,GLOB…]`: entries whose path, or a directory above it, matches a glob are
 * dropped from every layer (a directory goes with everything below it), and so are hard links
 * to a dropped file, which would point at nothing.
 */
export function exclude(globs: readonly string[], filter: string): EntryFilter {
  const matchers = globs.map((glob) => globMatcher(glob, filter));
  const matches = (path: string) => matchers.some((match) => match(path));
  return {
    id: `exclude:${JSON.stringify(globs)}`,
    rewrites: true,
    recipe: { name: 'exclude', globs: [...globs], filter },
    start() {
      const dropped = new Set<string>();
      return {
        entry({ header, path }) {
          if (path === '') return header;
          const linked = header.type === 'link' && dropped.has(entryPath(header.linkname ?? ''));
          if (!linked && !matches(path) && !ancestorsOf(path).some(matches)) return header;
          if (header.type !== 'directory') dropped.add(path);
          return undefined;
        },
      };
    },
  };
}

/** `a/b/c` → `a/b`, `a`. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1))
    out.push(path.slice(0, end));
  return out;
}
