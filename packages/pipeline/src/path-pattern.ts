import picomatch from 'picomatch';
import { PipelineError } from './errors.js';

/** Whether a path (as `entryPath` gives it) matches. */
export type PathMatcher = (path: string) => boolean;

/**
 * A glob as `exclude` and `search` match it: `*`, `?`, `[…]`, `{a,b}` and `**` (any depth);
 * dot files match too. A glob without `/` matches the last part of a path (`*.pyc` anywhere),
 * one with `/` the whole path from the root (a leading `/` or `./` is dropped).
 */
export function globMatcher(glob: string, filter: string): PathMatcher {
  const pattern = glob.replace(/^(?:\.?\/)+/, '').replace(/\/+$/, '');
  if (pattern === '') {
    throw new PipelineError(
      'FILTER_INVALID',
      `${filter}: the pattern ${JSON.stringify(glob)} is empty`,
      filter,
    );
  }
  return picomatch(pattern, { dot: true, basename: !pattern.includes('/') });
}

/** A regular expression (JavaScript syntax) searched for in the whole path. */
export function regexMatcher(source: string, filter: string): PathMatcher {
  try {
    const regex = new RegExp(source, 'u');
    return (path) => regex.test(path);
  } catch (error) {
    throw new PipelineError(
      'FILTER_INVALID',
      `${filter}: ${JSON.stringify(source)} is not a regular expression: ${(error as Error).message}`,
      filter,
      { cause: error },
    );
  }
}
