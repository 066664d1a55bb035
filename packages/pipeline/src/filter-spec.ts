import type { EntryFilter } from './entry-filter.js';
import { PipelineError } from './errors.js';
import { exclude } from './exclude.js';
import { InspectFilter } from './inspect.js';
import { normalizeTimestamps, parseTimestamp } from './normalize-timestamps.js';
import { SearchFilter } from './search.js';

/** The filters there are, as `-f NAME[:ARG]` names them, with the form of their argument. */
export const FILTERS = {
  'normalize-timestamps': '[:TS]',
  exclude: ':GLOB[,GLOB…]',
  search: ':PATTERN',
  inspect: '[:FILE]',
} as const;

export type FilterName = keyof typeof FILTERS;

export interface ParseFilterOptions {
  /** `search` patterns are regular expressions, not globs (`--regex`). */
  regex?: boolean;
}

/**
 * Parses `-f` filters: `NAME` or `NAME:ARG`, the name ending at the first colon and the argument
 * taking everything after it, colons and commas included. occystrap's `KEY=VALUE` form is taken
 * too (`ts=`, `pattern=`, `file=`, and `regex=` for a search by regular expression). Only
 * `exclude` takes a list: its globs are separated by commas, except a comma escaped as `\,` or
 * inside `{…}` (a glob's alternatives), so `exclude:pattern=a\,b` drops the file `a,b`.
 */
export function parseFilter(text: string, options: ParseFilterOptions = {}): EntryFilter {
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? undefined : text.slice(colon + 1);
  switch (name) {
    case 'normalize-timestamps':
      return normalizeTimestamps(arg === undefined ? 0 : parseTimestamp(withoutKey(arg, ['ts']).value, text));
    case 'exclude':
      return exclude(splitGlobs(withoutKey(required(arg, text), ['pattern']).value, text), text);
    case 'search': {
      const { key, value } = withoutKey(required(arg, text), ['pattern', 'regex']);
      return new SearchFilter(
        nonEmpty(value, text),
        key === 'regex' || (key === undefined && options.regex === true),
        text,
      );
    }
    case 'inspect':
      return new InspectFilter(
        arg === undefined ? undefined : nonEmpty(withoutKey(arg, ['file']).value, text),
      );
    default:
      throw new PipelineError(
        'FILTER_UNKNOWN',
        `unknown filter ${JSON.stringify(name)} in -f ${text}; the filters are ${Object.entries(FILTERS)
          .map(([known, form]) => `${known}${form}`)
          .join(', ')}`,
        text,
      );
  }
}

export function parseFilters(texts: readonly string[], options: ParseFilterOptions = {}): EntryFilter[] {
  return texts.map((text) => parseFilter(text, options));
}

/** `KEY=VALUE` with a key of occystrap's for the filter, or the whole argument as the value. */
function withoutKey(arg: string, keys: readonly string[]): { key?: string; value: string } {
  const equals = arg.indexOf('=');
  const key = arg.slice(0, equals);
  return equals > 0 && keys.includes(key) ? { key, value: arg.slice(equals + 1) } : { value: arg };
}

function required(arg: string | undefined, text: string): string {
  if (arg === undefined) {
    throw new PipelineError(
      'FILTER_INVALID',
      `-f ${text} needs an argument: ${text}${FILTERS[text as FilterName]}`,
      text,
    );
  }
  return arg;
}

function nonEmpty(value: string, text: string): string {
  if (value === '') throw new PipelineError('FILTER_INVALID', `-f ${text}: the argument is empty`, text);
  return value;
}

/** Globs separated by commas outside `{…}`; `\,` is a comma of the glob, other text is kept as it is. */
export function splitGlobs(list: string, text: string): string[] {
  const globs: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < list.length; i++) {
    const char = list[i]!;
    if (char === '\\' && list[i + 1] === ',') {
      current += list[++i]; // outside braces a comma is plain text to the glob too
      continue;
    }
    if (char === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
    if (char === ',' && depth === 0) {
      globs.push(nonEmpty(current, text));
      current = '';
    } else current += char;
  }
  globs.push(nonEmpty(current, text));
  return globs;
}
