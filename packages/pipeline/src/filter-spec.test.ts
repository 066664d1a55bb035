import { describe, expect, it } from 'vitest';
import { PipelineError } from './errors.js';
import { parseFilter, parseFilters, splitGlobs } from './filter-spec.js';
import type { InspectFilter } from './inspect.js';
import type { SearchFilter } from './search.js';

function errorOf(text: string, options = {}): PipelineError {
  try {
    parseFilter(text, options);
  } catch (error) {
    return error as PipelineError;
  }
  throw new Error(`${text} parsed`);
}

describe('the -f filter grammar', () => {
  it('refuses an unknown filter, naming it and listing the filters', () => {
    const error = errorOf('normalise-timestamps:0');
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.code).toBe('FILTER_UNKNOWN');
    expect(error.message).toBe(
      'unknown filter "normalise-timestamps" in -f normalise-timestamps:0; the filters are normalize-timestamps[:TS], exclude:GLOB[,GLOB…], search:PATTERN, inspect[:FILE]',
    );
  });

  it('takes TS as seconds, an ISO 8601 time or occystrap ts=, 0 without', () => {
    expect(parseFilter('normalize-timestamps').id).toBe('normalize-timestamps:0');
    expect(parseFilter('normalize-timestamps:1609459200').id).toBe('normalize-timestamps:1609459200');
    expect(parseFilter('normalize-timestamps:ts=1609459200').id).toBe('normalize-timestamps:1609459200');
    expect(parseFilter('normalize-timestamps:2021-01-01T00:00:00Z').id).toBe(
      'normalize-timestamps:1609459200',
    );
    for (const bad of [
      'normalize-timestamps:yesterday',
      'normalize-timestamps:-1',
      'normalize-timestamps:1.5',
    ]) {
      expect(errorOf(bad)).toMatchObject({ code: 'FILTER_INVALID', subject: bad });
    }
  });

  it('splits exclude globs on commas, but not on \\, or inside {…}', () => {
    expect(splitGlobs('*.log,tmp/**', 'x')).toEqual(['*.log', 'tmp/**']);
    expect(splitGlobs('a\\,b,c', 'x')).toEqual(['a,b', 'c']);
    expect(splitGlobs('*.{pyc,pyo},x', 'x')).toEqual(['*.{pyc,pyo}', 'x']);
    expect(parseFilter('exclude:pattern=a\\,b').id).toBe('exclude:["a,b"]');
    expect(errorOf('exclude:a,,b')).toMatchObject({ code: 'FILTER_INVALID' });
    expect(errorOf('exclude')).toMatchObject({
      code: 'FILTER_INVALID',
      message: '-f exclude needs an argument: exclude:GLOB[,GLOB…]',
    });
  });

  it('takes a search pattern whole, commas and colons included; regex= or --regex for a regular expression', () => {
    const [glob, regex, flagged] = parseFilters(['search:a,b:c', 'search:regex=^a,b$', 'search:x.*'], {
      regex: true,
    }) as SearchFilter[];
    expect(glob).toMatchObject({ pattern: 'a,b:c', regex: true });
    expect(regex).toMatchObject({ pattern: '^a,b$', regex: true });
    expect(flagged).toMatchObject({ pattern: 'x.*', regex: true });
    expect(parseFilter('search:pattern=bin/*sh')).toMatchObject({ pattern: 'bin/*sh', regex: false });
    expect(errorOf('search:regex=(')).toMatchObject({ code: 'FILTER_INVALID', subject: 'search:regex=(' });
  });

  it('records inspect to a file when one is named', () => {
    expect((parseFilter('inspect') as InspectFilter).file).toBeUndefined();
    expect((parseFilter('inspect:file=layers.json') as InspectFilter).file).toBe('layers.json');
    expect((parseFilter('inspect:out/layers.json') as InspectFilter).file).toBe('out/layers.json');
  });
});
